#if canImport(Glibc)
import Glibc
#endif

/// One input through a parser by the entry point the product uses, as the fuzzer
/// (Sources/HotPathFuzz) and the fuzz regression tests drive it. A thrown error is the right
/// answer to a bad input; only a crash, a trap or a memory error is a finding. One thread at
/// a time (its book is reused).
///
/// | target | entry point | input |
/// |---|---|---|
/// | `feed` | `FeedFile.open` + `forEachEvent` + `L3Book.apply` | DBN (plain, zstd), ITCH (binary, MoldUDP64 stream, pcap) |
/// | `lightgbm`, `xgboost`, `onnx` | `ModelFile.load`, then `predict` on a NaN row and a zero row | the model file |
/// | `config` | `EngineConfig.load` | the engine TOML |
/// | `budgets` | `GateBudgets.load` | the budgets TOML |
/// | `mold` | `MoldSession.receive` and `poll` (the live receiver: holes, re-requests, give-ups) | MoldUDP64 packets back to back, as a `.mold` file holds them, 1 ms apart |
/// | `coinbase`, `kalshi`, `polygon` | `VenueAdapter.take` (the JSON scanner and the venue's adapter) | one WebSocket message a line |
public final class ParserExercise: @unchecked Sendable {
    public static let targets = [
        "feed", "lightgbm", "xgboost", "onnx", "config", "budgets", "mold", "coinbase", "kalshi", "polygon",
    ]
    /// The markets each venue target subscribes to (those of the venue sessions in scripts/test.sh).
    static let markets = [
        "coinbase": "BTC-USD,ETH-USD", "kalshi": "KXFED-26DEC-T4.00,KXBTC-26DEC31-B99500", "polygon": "AAPL,MSFT,SNDL",
    ]

    public let target: String
    let arena: Arena
    let book: L3Book

    /// nil for an unknown target.
    public init?(target: String) {
        guard Self.targets.contains(target) else { return nil }
        self.target = target
        var c = L3Book.Config()
        (c.maxInstruments, c.maxOrders, c.levelsPerSide, c.ladderSlots) = (16, 4096, 256, 256)
        guard let arena = try? Arena(bytes: 64 << 20, lock: false), let book = try? L3Book(config: c, arena: arena)
        else { return nil }
        (self.arena, self.book) = (arena, book)
    }

    /// The file name ending the target's entry point reads its form by.
    public var suffix: String {
        ["lightgbm": ".txt", "xgboost": ".json", "onnx": ".onnx", "config": ".toml", "budgets": ".toml"][target]
            ?? ".bin"
    }

    /// Runs the input in the file at `path` (named with `suffix`).
    public func run(path: String) {
        switch target {
        case "feed":
            guard let file = try? FeedFile.open(path) else { return }
            book.clearAll()
            try? file.forEachEvent { e in _ = book.apply(e) }
        case "lightgbm", "xgboost", "onnx":
            guard let model = try? ModelFile.load(path: path) else { return }
            let row = UnsafeMutablePointer<Double>.allocate(capacity: model.features + 1)
            let out = UnsafeMutablePointer<Double>.allocate(capacity: model.outputs + 1)
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: model.features + model.outputs + 1)
            defer {
                row.deallocate()
                out.deallocate()
                scratch.deallocate()
            }
            for fill in [Double.nan, 0] {
                row.initialize(repeating: fill, count: model.features + 1)
                model.predict(row, into: out, scratch: scratch)
            }
        case "config": _ = try? EngineConfig.load(path: path)
        case "budgets": _ = try? GateBudgets.load(path: path)
        case "mold":
            guard let input = try? InputFile(path: path) else { return }
            var session = MoldSession(options: MoldSession.Options())
            defer { session.deallocate() }
            let reader = try? ITCHReader(bytes: input.bytes, format: .mold)
            var at = 0, now: UInt64 = 1_000_000_000
            while let size = reader?.moldPacketSize(at, limit: input.bytes.count) {
                session.receive(input.bytes.baseAddress! + at, length: size, rxNs: now) { _ in }
                _ = session.poll(nowNs: now) { _ in }
                (at, now) = (at + size, now + 1_000_000)
            }
        case "coinbase", "kalshi", "polygon":
            let url = "wss://127.0.0.1/ws?venue=\(target)&markets=\(Self.markets[target]!)"
            guard let input = try? InputFile(path: path), case let .webSocket(options)? = try? SourceURL.parse(url)
            else { return }
            var adapter = VenueAdapter(options)
            var start = 0
            let bytes = input.bytes
            for i in 0...bytes.count where i == bytes.count || bytes[i] == UInt8(ascii: "\n") {
                adapter.take(UnsafeRawBufferPointer(rebasing: bytes[start..<i])) { _ in }
                start = i + 1
            }
        default: break
        }
    }
}
