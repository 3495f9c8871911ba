import CSupport

#if canImport(Glibc)
import Glibc
#endif

/// `hotpath serve databento`: a gateway emulator for tests and demos that speaks the Live
/// protocol (`DatabentoAuth`) over TCP, serving DBN files.
///
/// Each connection gets a greeting and a fresh challenge; a wrong answer gets
/// `success=0|error=Authentication failed.` and is closed. After `start_session` it sends
/// the metadata of the first file whose schema is the subscription's, then that file's
/// records (all of them for `ALL_SYMBOLS`, else those of instruments whose raw symbols were
/// asked for, by the metadata's mappings), then heartbeats (SystemMsg) every interval until
/// the client leaves. Records go out in batches of up to `batchBytes` (one `send` each), as
/// a gateway writes them. `loops` sends the records that many times over (benchmarks: a
/// long stream from a short file); `recordedSpeed` paces them as recorded instead (each loop
/// starting from its first record's time). `disconnectAfter` closes the first session after that
/// many records (later sessions run to the end), so a client's reconnect can be tested.
///
/// Each session gets the file from its start. For a file that opens with a snapshot (an
/// MBO file from Databento starts with a clear and the resting orders, flagged F_SNAPSHOT),
/// that is what `snapshot=1` gives a live client; for others, a reconnecting client sees
/// the stream again and must treat what it built before as stale.
/// Connections are served one at a time; `sessions` bounds how many (0: no bound).
///
/// `fault` makes the first session misbehave where `disconnectAfter` would cut it (at once
/// without it), for tests of what a client survives: `stall` sends half a record and then
/// nothing, holding the connection open; `garbage` sends bytes that are no DBN record;
/// `hugeLength` sends, in place of the metadata, a header whose length claims 4 GiB.
public final class DatabentoServer: @unchecked Sendable {
    public struct Options: Sendable {
        public var port: UInt16 = 0
        public var key = ""
        /// The dataset a client must ask for (nil: any).
        public var dataset: String?
        /// Overrides the client's heartbeat interval (seconds; fractions for tests).
        public var heartbeatSeconds: Double?
        public var disconnectAfter: Int?
        public var fault: Fault?
        public var sessions = 0
        public var loops = 1
        public var batchBytes = 256 << 10
        /// nil: as fast as the socket takes them; a factor: at the records' recorded pace
        /// (their ts_recv, or ts_event where they have none), sped up by it.
        public var recordedSpeed: Double?
        public init() {}
    }

    /// How `fault` breaks the first session.
    public enum Fault: String, Sendable, CaseIterable {
        case stall, garbage
        case hugeLength = "huge-length"
    }

    public let options: Options
    let files: [DBNFile]
    let listener: Int32
    /// The port bound (the one asked for, or the kernel's choice for 0).
    public let port: UInt16
    public private(set) var served = 0
    public private(set) var refused = 0
    /// Each session's subscription lines, in order (tests).
    public private(set) var subscriptions: [[String]] = []

    public init(files: [DBNFile], options: Options) throws(SystemError) {
        self.files = files
        self.options = options
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("tcp listener", call: "socket", errno: errno) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        _ = hp_ipv4("127.0.0.1", &address, options.port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 8) == 0 else {
            let e = errno
            close(fd)
            throw SystemError("127.0.0.1:\(options.port)", call: "bind", errno: e)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        port = UInt16(bigEndian: address.sin_port)
    }

    deinit { close(listener) }

    /// Accepts and serves connections until `sessions` have been served or `stop` is true.
    public func run(stop: @escaping () -> Bool = { false }) {
        while options.sessions == 0 || served + refused < options.sessions {
            var pfd = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            if poll(&pfd, 1, 100) <= 0 {
                if stop() { return }
                continue
            }
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { continue }
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            let client = TCPStream(fd: fd, peer: "client")
            if serve(client, stop: stop) { served += 1 } else { refused += 1 }
            client.close()
        }
    }

    /// One session; false when the client was refused or broke the protocol.
    func serve(_ client: TCPStream, stop: () -> Bool) -> Bool {
        var reader = LineReader(stream: client)
        var challenge = ""
        for _ in 0..<32 { challenge.append("abcdefghijklmnopqrstuvwxyz0123456789".randomElement()!) }
        guard (try? client.send("lsg_version=0.7.0-hotpath\ncram=\(challenge)\n")) != nil,
            let authLine = reader.line()
        else { return false }
        let auth = Dictionary(DatabentoAuth.fields(authLine), uniquingKeysWith: { a, _ in a })
        let expected = DatabentoAuth.response(challenge: challenge, key: options.key)
        guard auth["auth"] == expected else {
            try? client.send("success=0|error=Authentication failed.\n")
            return false
        }
        if let dataset = options.dataset, auth["dataset"] != dataset {
            try? client.send("success=0|error=Unknown dataset \(auth["dataset"] ?? "").\n")
            return false
        }
        guard (try? client.send("success=1|session_id=\(served + 1)\n")) != nil else { return false }
        var schema = "", symbols: [String] = []
        subscriptions.append([])
        while let line = reader.line() {
            if line.hasPrefix("start_session") { break }
            subscriptions[subscriptions.count - 1].append(line)
            for (k, v) in DatabentoAuth.fields(line) {
                if k == "schema" { schema = v }
                if k == "symbols" { symbols += v.split(separator: ",").map(String.init) }
            }
        }
        guard let id = DatabentoAuth.schemas[schema], let file = files.first(where: { $0.metadata.schema == id }) else {
            return false
        }
        let heartbeat = options.heartbeatSeconds ?? Double(auth["heartbeat_interval_s"].flatMap { Int($0) } ?? 30)
        return stream(file, symbols: Set(symbols), to: client, heartbeat: heartbeat, stop: stop)
    }

    /// The metadata, the matching records, then heartbeats until the client goes.
    func stream(
        _ file: DBNFile, symbols: Set<String>, to client: TCPStream, heartbeat: Double, stop: () -> Bool
    ) -> Bool {
        let bytes = file.input.bytes
        let all = symbols.contains("ALL_SYMBOLS")
        var wanted = Set<UInt32>()
        for (raw, intervals) in file.metadata.mappings where symbols.contains(raw) {
            for i in intervals { if let id = UInt32(i.symbol) { wanted.insert(id) } }
        }
        let fault = served == 0 ? options.fault : nil
        if fault == .hugeLength {
            let header: [UInt8] = Array("DBN".utf8) + [file.metadata.version, 0xF0, 0xFF, 0xFF, 0xFF]
            _ = header.withUnsafeBytes { try? client.send($0) }
            holdOpen(client, stop: stop)
            return true
        }
        guard (try? client.send(UnsafeRawBufferPointer(rebasing: bytes[0..<file.metadata.recordsOffset]))) != nil else {
            return true
        }
        var sent = 0
        var gone = false
        let cut = served == 0 ? options.disconnectAfter ?? (fault != nil ? 0 : nil) : nil
        // Records go out as runs of adjacent records in the file, up to `batchBytes` a send.
        var run: UnsafeRawPointer? = nil
        var runBytes = 0
        func flush() -> Bool {
            defer { runBytes = 0 }
            guard let run, runBytes > 0 else { return true }
            return (try? client.send(UnsafeRawBufferPointer(start: run, count: runBytes))) != nil
        }
        var pacer = RecordedPace(version: file.metadata.version, speed: options.recordedSpeed)
        loops: for _ in 0..<max(options.loops, 1) {
            var cursor = file.cursor()
            pacer.restart()
            _ = cursor.walk { c in
                if !all && !wanted.contains(c.record.le(4, as: UInt32.self)) { return true }
                if let due = pacer.due(c.record) {
                    guard flush() else {
                        gone = true
                        return false
                    }
                    pacer.wait(until: due)
                }
                if runBytes > 0 && (run! + runBytes != c.record || runBytes + c.length > options.batchBytes) {
                    guard flush() else {
                        gone = true
                        return false
                    }
                }
                if runBytes == 0 { run = c.record }
                runBytes += c.length
                sent += 1
                return cut.map { sent < $0 } ?? true
            }
            if gone || cut.map({ sent >= $0 }) ?? false { break loops }
        }
        if !gone && !flush() { gone = true }
        if gone { return true }
        if let fault, fault != .hugeLength {
            // Half a heartbeat record, or one whose length byte says 0 (no record is that short).
            var bytes = Self.heartbeat(version: file.metadata.version)
            if fault == .stall { bytes.removeLast(bytes.count / 2) } else { bytes[0] = 0 }
            _ = bytes.withUnsafeBytes { try? client.send($0) }
            holdOpen(client, stop: stop)
            return true
        }
        if let cut, sent >= cut { return true }
        // Heartbeats until the client closes (a send fails) or the server is stopped.
        let beat = Self.heartbeat(version: file.metadata.version)
        while !stop() {
            var ts = timespec(tv_sec: Int(heartbeat), tv_nsec: Int((heartbeat - Double(Int(heartbeat))) * 1e9))
            nanosleep(&ts, nil)
            guard (beat.withUnsafeBytes { try? client.send($0) }) != nil else { break }
        }
        return true
    }

    /// A SystemMsg "Heartbeat" record (rtype 0x17): the 16-byte header, then 303 bytes of
    /// text (DBN v2 and later: then a code byte, 0 = heartbeat), padded to 320 bytes.
    /// After a fault: reads and drops what the client sends until it closes or `stop`.
    func holdOpen(_ client: TCPStream, stop: () -> Bool) {
        client.setReceiveTimeout(microseconds: 20_000)
        var scratch = [UInt8](repeating: 0, count: 4096)
        while !stop() {
            let n = scratch.withUnsafeMutableBytes { client.receive(into: $0.baseAddress!, count: $0.count) }
            if n == 0 || (n < 0 && n != -Int(EAGAIN) && n != -Int(EWOULDBLOCK)) { return }
        }
    }

    static func heartbeat(version: UInt8) -> [UInt8] {
        var r = [UInt8](repeating: 0, count: 320)
        r[0] = UInt8(r.count / 4)
        r[1] = 0x17
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        withUnsafeBytes(of: (UInt64(ts.tv_sec) &* 1_000_000_000).littleEndian) { for i in 0..<8 { r[8 + i] = $0[i] } }
        for (i, b) in "Heartbeat".utf8.enumerated() { r[16 + i] = b }
        return r
    }
}

/// The emulator's `--pace recorded`: when each record is due by its index timestamp
/// (ts_recv where its schema has one, else ts_event), relative to the loop's first record.
struct RecordedPace {
    let version: UInt8
    let speed: Double?
    var firstTs: UInt64 = 0
    var startNs: UInt64 = 0
    /// The ts_recv offset by rtype (0: none, use ts_event), learnt as records come.
    var offsets: [UInt8: Int] = [:]

    init(version: UInt8, speed: Double?) {
        self.version = version
        self.speed = speed.map { max($0, 1e-9) }
    }

    mutating func restart() { startNs = 0 }

    /// When `record` is due (monotonic ns) if that is still ahead; nil when it is due now or
    /// the pace is max.
    mutating func due(_ record: UnsafeRawPointer) -> UInt64? {
        guard let speed else { return nil }
        let rtype = record.load(fromByteOffset: 1, as: UInt8.self)
        let offset =
            offsets[rtype]
            ?? {
                let o =
                    DBNLayout.forRecord(rtype: rtype, version: version)?.fields.first { $0.name == "ts_recv" }?
                    .offset ?? 8
                offsets[rtype] = o
                return o
            }()
        let ts = record.le(offset, as: UInt64.self)
        let now = Clock.monotonicNs()
        if startNs == 0 {
            startNs = now
            firstTs = ts
            return nil
        }
        let due = startNs &+ UInt64(Double(ts > firstTs ? ts - firstTs : 0) / speed)
        return due > now ? due : nil
    }

    func wait(until due: UInt64) {
        while true {
            let now = Clock.monotonicNs()
            guard now < due else { return }
            var ts = timespec(tv_sec: Int((due - now) / 1_000_000_000), tv_nsec: Int((due - now) % 1_000_000_000))
            nanosleep(&ts, nil)
        }
    }
}

/// Text lines from a TCP stream (the emulator's side of the control protocol).
struct LineReader {
    let stream: TCPStream
    var buffer: [UInt8] = []

    mutating func line() -> String? {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            if let nl = buffer.firstIndex(of: 0x0A) {
                let text = String(decoding: buffer[..<nl], as: UTF8.self)
                buffer.removeSubrange(...nl)
                return text
            }
            guard buffer.count < 1 << 20 else { return nil }
            let n = chunk.withUnsafeMutableBytes { stream.receive(into: $0.baseAddress!, count: $0.count) }
            guard n > 0 else { return nil }
            buffer += chunk[..<n]
        }
    }
}
