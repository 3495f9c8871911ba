#if canImport(Glibc)
import Glibc
#endif

/// One Databento Live gateway session: connect, answer the challenge, subscribe, start; then
/// the DBN stream, decoded as TCP delivers it.
///
/// The stream lands in a window sized at start-up. `metadata()` parses the header once it is
/// whole; then `cursor()` and `refill` feed `DBNRecordCursor.walk`: a record cut at the end
/// of what has arrived is kept, the window is compacted, and one `recv` adds more, so a
/// record split across reads at any byte decodes the same. The receive path allocates
/// nothing. Each `recv` waits at most `slice`, so a caller can look at its stop flag and
/// clocks while the gateway is quiet (`receive`); `refill` waits out quiet slices itself.
/// No data (heartbeats included) for the heartbeat interval plus grace ends the walk with
/// `failure` `.heartbeatTimeout`; a close, with `.closed`. A session does not resume:
/// `DatabentoFeed` reconnects with a new one.
public final class DatabentoSession {
    public let options: DatabentoOptions
    public let sessionID: String
    let stream: TCPStream
    let window: UnsafeMutableRawPointer
    let capacity: Int
    /// The window's bytes: valid in [0, filled); taken up to `start` before the records.
    var filled = 0
    var start = 0
    /// Bytes asked of each `recv` (tests ask 1, or `readSizes` at random).
    public var readSize: Int
    /// Tests: the size of each read, drawn in turn (nil: `readSize`).
    public var readSizes: (() -> Int)?
    /// Why the stream ended, once it has.
    public private(set) var failure: DatabentoError?
    public var gateway: String { "\(options.host):\(options.port)" }
    /// The longest one `recv` waits: a quiet gateway costs a system call per slice.
    public static let sliceMicroseconds = 100_000
    /// No bytes at all for this long (heartbeat interval plus grace) is a dead session.
    public var watchdogNs: UInt64 { UInt64(options.heartbeatSeconds + options.graceSeconds) * 1_000_000_000 }

    /// What one `receive` brought.
    public enum Received { case data, quiet, ended }

    public init(
        options: DatabentoOptions, key: String, windowBytes: Int = 1 << 20, readSize: Int = 16 << 10,
        client: String = "hotpath"
    ) throws(DatabentoError) {
        self.options = options
        self.readSize = max(1, readSize)
        capacity = max(windowBytes, 64 << 10)
        self.window = .allocate(byteCount: capacity, alignment: 64)
        let gateway = "\(options.host):\(options.port)"
        do { stream = try TCPStream.connect(host: options.host, port: options.port) } catch {
            self.window.deallocate()
            throw .system(error)
        }
        stream.setReceiveTimeout(microseconds: Self.sliceMicroseconds)
        let deadline = Clock.monotonicNs() + UInt64(options.heartbeatSeconds + options.graceSeconds) * 1_000_000_000
        var id = ""
        var filled = 0, start = 0
        let reader = (stream: stream, window: window, capacity: capacity, gateway: gateway, deadline: deadline)
        do {
            let greeting = try Self.line(reader, &filled, &start)
            guard greeting.hasPrefix("lsg_version=") else {
                throw DatabentoError.protocolError(
                    gateway: gateway, reason: "expected lsg_version=…, got \"\(greeting.prefix(80))\"")
            }
            let cram = try Self.line(reader, &filled, &start)
            guard cram.hasPrefix("cram="), cram.count > 5 else {
                throw DatabentoError.protocolError(
                    gateway: gateway, reason: "expected cram=…, got \"\(cram.prefix(80))\"")
            }
            let answer = DatabentoAuth.response(challenge: String(cram.dropFirst(5)), key: key)
            var auth = "auth=\(answer)|dataset=\(options.dataset)|encoding=dbn|ts_out=\(options.tsOut ? 1 : 0)"
            auth += "|heartbeat_interval_s=\(options.heartbeatSeconds)|client=\(client)\n"
            try Self.send(stream, auth)
            let reply = Dictionary(
                DatabentoAuth.fields(try Self.line(reader, &filled, &start)),
                uniquingKeysWith: { a, _ in a })
            guard reply["success"] == "1" else {
                let message = DatabentoAuth.redact(reply["error"] ?? "no reason given", key: key)
                throw DatabentoError.rejected(gateway: gateway, message: message)
            }
            id = reply["session_id"] ?? ""
            for line in DatabentoAuth.subscriptions(options, id: 1) { try Self.send(stream, line + "\n") }
            try Self.send(stream, "start_session=0\n")
        } catch let error as DatabentoError {
            stream.close()
            self.window.deallocate()
            throw error
        } catch {
            stream.close()
            self.window.deallocate()
            throw .protocolError(gateway: gateway, reason: "\(error)")
        }
        sessionID = id
        self.filled = filled
        self.start = start
    }

    deinit {
        stream.close()
        window.deallocate()
    }

    private static func send(_ stream: TCPStream, _ text: String) throws(DatabentoError) {
        do { try stream.send(text) } catch { throw .system(error) }
    }

    /// One control line (without its newline), reading as needed until `deadline`.
    /// Start-up only.
    private static func line(
        _ r: (stream: TCPStream, window: UnsafeMutableRawPointer, capacity: Int, gateway: String, deadline: UInt64),
        _ filled: inout Int, _ start: inout Int
    ) throws(DatabentoError) -> String {
        let (stream, window, capacity, gateway) = (r.stream, r.window, r.capacity, r.gateway)
        while true {
            var i = start
            while i < filled {
                if window.load(fromByteOffset: i, as: UInt8.self) == 0x0A {
                    let text = String(
                        decoding: UnsafeRawBufferPointer(start: window + start, count: i - start), as: UTF8.self)
                    start = i + 1
                    return text
                }
                i += 1
            }
            guard filled - start < 4096, filled < capacity else {
                throw .protocolError(gateway: gateway, reason: "a control line runs past 4096 bytes")
            }
            let n = stream.receive(into: window + filled, count: capacity - filled)
            if n == 0 { throw .closed(gateway: gateway) }
            if n == -Int(EAGAIN) || n == -Int(EWOULDBLOCK) {
                if Clock.monotonicNs() < r.deadline { continue }
                throw .protocolError(gateway: gateway, reason: "no answer to the handshake")
            }
            if n < 0 { throw .system(SystemError(gateway, call: "recv", errno: Int32(-n))) }
            filled += n
        }
    }

    /// The stream's DBN metadata, once all of it has arrived.
    public func metadata() throws(DatabentoError) -> DBNMetadata {
        var lastData = Clock.monotonicNs()
        while true {
            let have = filled - start
            let need = have < 8 ? 8 : 8 + Int(UnsafeRawPointer(window + start).le(4, as: UInt32.self))
            if have >= need { break }
            guard need <= capacity else {
                throw .protocolError(
                    gateway: gateway, reason: "metadata of \(need) bytes exceeds the \(capacity)-byte window")
            }
            compact(keepingFrom: start)
            switch receive() {
            case .data: lastData = Clock.monotonicNs()
            case .quiet:
                if Clock.monotonicNs() &- lastData >= watchdogNs { throw timedOut() }
            case .ended: throw failure ?? .closed(gateway: gateway)
            }
        }
        do {
            let m = try DBNMetadata(
                bytes: UnsafeRawBufferPointer(start: window + start, count: filled - start), file: gateway)
            start += m.recordsOffset
            return m
        } catch {
            throw .protocolError(gateway: gateway, reason: "metadata: \(error.reason)")
        }
    }

    /// A cursor at the first record after the metadata.
    public func cursor() -> DBNRecordCursor {
        DBNRecordCursor(bytes: UnsafeRawBufferPointer(start: window, count: filled), from: start)
    }

    /// One receive for the walk: keeps the record cut short, then waits at most one slice.
    @inline(__always)
    public func receive(_ cursor: inout DBNRecordCursor) -> Received {
        let keep = cursor.nextOffset
        compact(keepingFrom: keep)
        let got = receive()
        cursor.rebase(UnsafeRawBufferPointer(start: window, count: filled), shift: keep)
        return got
    }

    /// The walk's `refill` for a caller without its own stop or idle rules (tests, tools):
    /// waits through quiet slices until data, the end, or the heartbeat watchdog.
    public func refill(_ cursor: inout DBNRecordCursor) -> Bool {
        let lastData = Clock.monotonicNs()
        while true {
            switch receive(&cursor) {
            case .data: return true
            case .ended: return false
            case .quiet:
                let now = Clock.monotonicNs()
                if now &- lastData >= watchdogNs {
                    failure = timedOut()
                    return false
                }
            }
        }
    }

    /// The watchdog fired: records `failure` (`DatabentoFeed` calls this too).
    func timedOut() -> DatabentoError {
        let error = DatabentoError.heartbeatTimeout(
            gateway: gateway, seconds: options.heartbeatSeconds + options.graceSeconds)
        failure = error
        return error
    }

    private func compact(keepingFrom keep: Int) {
        let kept = filled - keep
        if keep > 0 && kept > 0 { memmove(window, window + keep, kept) }
        filled = kept
        start -= min(start, keep)
    }

    /// One `recv` into the window's free space (`.ended` sets `failure`).
    private func receive() -> Received {
        let room = capacity - filled
        guard room > 0 else {
            failure = .protocolError(gateway: gateway, reason: "a record larger than the window")
            return .ended
        }
        let n = stream.receive(into: window + filled, count: min(room, readSizes?() ?? readSize))
        if n > 0 {
            filled += n
            return .data
        }
        if n == -Int(EAGAIN) || n == -Int(EWOULDBLOCK) { return .quiet }
        failure = n == 0 ? .closed(gateway: gateway) : .system(SystemError(gateway, call: "recv", errno: Int32(-n)))
        return .ended
    }
}
