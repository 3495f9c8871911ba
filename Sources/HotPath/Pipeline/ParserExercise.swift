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
public final class ParserExercise: @unchecked Sendable {
    public static let targets = ["feed", "lightgbm", "xgboost", "onnx", "config", "budgets"]

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
        default: break
        }
    }
}
