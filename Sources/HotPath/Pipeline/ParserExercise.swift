import CSupport
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One input through a parser by the entry point the product uses, as the fuzzer
/// (Sources/HotPathFuzz) and the fuzz regression tests drive it. A thrown error is the right
/// answer to a bad input; only a crash, a trap or a memory error is a finding. One thread at
/// a time (its books are reused).
///
/// | target | entry point | input |
/// |---|---|---|
/// | `feed` | `FeedFile.open` + `forEachEvent` + `EventPath` (books, features) | DBN (plain, zstd), ITCH (binary, MoldUDP64 stream, pcap) |
/// | `lightgbm`, `xgboost`, `onnx` | `ModelFile.load`, then `predict` on a NaN row and a zero row | the model file |
/// | `config` | `EngineConfig.load` | the engine TOML |
/// | `budgets` | `GateBudgets.load` | the budgets TOML |
/// | `mold` | `MoldSession.receive` and `poll` (the live receiver: holes, re-requests, give-ups) | MoldUDP64 packets back to back, as a `.mold` file holds them, 1 ms apart |
/// | `coinbase`, `kalshi`, `polygon` | `VenueAdapter.take` (the JSON scanner and the venue's adapter) | one WebSocket message a line |
/// | `websocket` | `WebSocketClient` over loopback: the upgrade, then `next` to the end | the bytes a server sends after its 101 answer |
/// | `databento` | `DatabentoSession` over loopback: greeting, challenge and auth reply, then `metadata`, the record walk, `DBNEvents` and `EventPath` | all the bytes a gateway sends |
public final class ParserExercise: @unchecked Sendable {
    public static let targets = [
        "feed", "lightgbm", "xgboost", "onnx", "config", "budgets", "mold", "coinbase", "kalshi", "polygon",
        "websocket", "databento",
    ]
    /// The markets each venue target subscribes to (those of the venue sessions in scripts/test.sh).
    static let markets = [
        "coinbase": "BTC-USD,ETH-USD", "kalshi": "KXFED-26DEC-T4.00,KXBTC-26DEC31-B99500", "polygon": "AAPL,MSFT,SNDL",
    ]

    public let target: String
    let arena: Arena
    /// The engine's steps (books, then features) that the feed targets' events go through.
    let steps: EventPath

    /// nil for an unknown target.
    public init?(target: String) {
        guard Self.targets.contains(target) else { return nil }
        self.target = target
        var c = L3Book.Config()
        (c.maxInstruments, c.maxOrders, c.levelsPerSide, c.ladderSlots) = (16, 4096, 256, 256)
        let features = MicrostructureFeatures.Config()
        guard let arena = try? Arena(bytes: EventPath.arenaBytes(book: c, features: features), lock: false),
            let path = try? EventPath(book: c, features: features, arena: arena)
        else { return nil }
        (self.arena, steps) = (arena, path)
    }

    /// The file name ending the target's entry point reads its form by.
    public var suffix: String {
        ["lightgbm": ".txt", "xgboost": ".json", "onnx": ".onnx", "config": ".toml", "budgets": ".toml"][target]
            ?? ".bin"
    }

    /// Runs the input in the file at `path` (named with `suffix`). For the live targets
    /// (`websocket`, `databento`): how many messages or records came through, else 0.
    @discardableResult
    public func run(path: String) -> Int {
        var reached = 0
        switch target {
        case "feed":
            guard let file = try? FeedFile.open(path) else { return 0 }
            steps.clearAll()
            try? file.forEachEvent { e in step(e) }
        case "lightgbm", "xgboost", "onnx":
            guard let model = try? ModelFile.load(path: path) else { return 0 }
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
            if case let .trees(t) = model { t.deallocate() }
        case "config": _ = try? EngineConfig.load(path: path)
        case "budgets": _ = try? GateBudgets.load(path: path)
        case "mold":
            guard let input = try? InputFile(path: path) else { return 0 }
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
            else { return 0 }
            var adapter = VenueAdapter(options)
            var start = 0
            let bytes = input.bytes
            for i in 0...bytes.count where i == bytes.count || bytes[i] == UInt8(ascii: "\n") {
                adapter.take(UnsafeRawBufferPointer(rebasing: bytes[start..<i])) { _ in }
                start = i + 1
            }
        case "databento":
            guard let input = try? InputFile(path: path), let peer = LoopbackPeer.gateway else { return 0 }
            peer.next(Array(input.bytes))
            let url = "databento://127.0.0.1:\(peer.port)?dataset=GLBX.MDP3&schema=mbo&symbols=ALL_SYMBOLS"
            guard case let .databento(o)? = try? SourceURL.parse(url),
                let session = try? DatabentoSession(options: o, key: "db-fuzzkey0000000000000000000000")
            else { return 0 }
            guard let metadata = try? session.metadata() else { return 0 }
            var cursor = session.cursor()
            var events = DBNEvents(metadata: metadata, instruments: 16)
            defer { events.deallocate() }
            _ = cursor.walk(refill: { session.refill(&$0) }) { c in
                for i in 0..<events.decode(c.record, length: c.length) { step(events.slots[i]) }
                reached += 1
                return true
            }
        case "websocket":
            guard let input = try? InputFile(path: path), let peer = LoopbackPeer.webSocket else { return 0 }
            peer.next(Array(input.bytes))
            var o = WebSocketClient.Options()
            (o.port, o.tls, o.maxMessage) = (peer.port, false, 64 << 10)
            guard let ws = try? WebSocketClient(o) else { return 0 }
            for _ in 0..<10_000 {
                if case .ended = ws.next() { break }
                reached += 1
            }
        default: break
        }
        return reached
    }
}

extension ParserExercise {
    /// One event through the engine's steps.
    func step(_ e: Event) {
        if e.action == Event.Action.trade {
            _ = steps.trade(e)
            return
        }
        let b = steps.move(e)
        if b >= 0 { steps.updateFeatures(book: b, event: e) }
    }
}

/// The server of the `websocket` and `databento` targets: on loopback, one connection at a
/// time, it sends the next input's bytes — after answering the WebSocket upgrade (101 with the
/// right Sec-WebSocket-Accept) for `webSocket` — then half-closes and reads until the client
/// goes (closing with unread bytes would reset the connection and lose the input). A thread
/// of its own, for as long as the process runs.
final class LoopbackPeer: @unchecked Sendable {
    static let webSocket = LoopbackPeer(upgrade: true)
    static let gateway = LoopbackPeer(upgrade: false)
    let listener: Int32
    let port: UInt16
    let upgrade: Bool
    private let payload = Mutex<[UInt8]>([])

    private init?(upgrade: Bool) {
        self.upgrade = upgrade
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var sa = sockaddr_in()
        guard fd >= 0, hp_ipv4("127.0.0.1", &sa, 0) == 0 else { return nil }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 4) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard ok else { return nil }
        (listener, port) = (fd, UInt16(bigEndian: sa.sin_port))
        guard (try? PinnedThread.start(name: "hp-fuzzpeer", cpu: nil) { [self] in serve() }) != nil else { return nil }
    }

    /// What the next connection gets.
    func next(_ bytes: [UInt8]) { payload.withLock { $0 = bytes } }

    /// All of `bytes`, or as much as the client takes before it goes (no SIGPIPE).
    private func send(_ fd: Int32, _ bytes: [UInt8]) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress! + done, $0.count - done, Int32(MSG_NOSIGNAL))
            }
            if n <= 0 { return }
            done += n
        }
    }

    private func serve() {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 { continue }
            if upgrade { send(client, answer(readingFrom: client, &chunk)) }
            payload.withLock { send(client, $0) }
            shutdown(client, Int32(SHUT_WR))
            while (chunk.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }) > 0 {}
            close(client)
        }
    }

    /// Reads the upgrade request; the 101 answer to its key.
    private func answer(readingFrom client: Int32, _ chunk: inout [UInt8]) -> [UInt8] {
        var head: [UInt8] = []
        while !head.suffix(4).elementsEqual("\r\n\r\n".utf8) && head.count < 16 << 10 {
            let n = chunk.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            head += chunk[0..<n]
        }
        let key =
            String(decoding: head, as: UTF8.self).split(separator: "\r\n")
            .first { $0.lowercased().hasPrefix("sec-websocket-key:") }
            .map { String($0.dropFirst("sec-websocket-key:".count)).trimmingSpaces() } ?? ""
        var digest = [UInt8](repeating: 0, count: 20)
        Array((key + WebSocketClient.guid).utf8).withUnsafeBytes { hp_sha1($0.baseAddress, $0.count, &digest) }
        return Array(
            ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Accept: \(Base64.encode(digest))\r\n\r\n").utf8)
    }
}
