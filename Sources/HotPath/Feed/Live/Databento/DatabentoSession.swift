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
/// nothing. No data (heartbeats included) for the heartbeat interval plus grace ends the
/// walk with `failure` `.heartbeatTimeout`; a close, with `.closed`. A session does not
/// resume: the caller reconnects with a new one (`DatabentoReconnect`).
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

    public init(
        options: DatabentoOptions, key: String, windowBytes: Int = 1 << 20, readSize: Int = 1 << 16,
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
        stream.setReceiveTimeout(seconds: options.heartbeatSeconds + options.graceSeconds)
        var id = ""
        var filled = 0, start = 0
        do {
            let greeting = try Self.line(stream, window, capacity, &filled, &start, gateway)
            guard greeting.hasPrefix("lsg_version=") else {
                throw DatabentoError.protocolError(
                    gateway: gateway, reason: "expected lsg_version=…, got \"\(greeting.prefix(80))\"")
            }
            let cram = try Self.line(stream, window, capacity, &filled, &start, gateway)
            guard cram.hasPrefix("cram="), cram.count > 5 else {
                throw DatabentoError.protocolError(
                    gateway: gateway, reason: "expected cram=…, got \"\(cram.prefix(80))\"")
            }
            let answer = DatabentoAuth.response(challenge: String(cram.dropFirst(5)), key: key)
            var auth = "auth=\(answer)|dataset=\(options.dataset)|encoding=dbn|ts_out=\(options.tsOut ? 1 : 0)"
            auth += "|heartbeat_interval_s=\(options.heartbeatSeconds)|client=\(client)\n"
            try Self.send(stream, auth)
            let reply = Dictionary(
                DatabentoAuth.fields(try Self.line(stream, window, capacity, &filled, &start, gateway)),
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

    /// One control line (without its newline), reading as needed. Start-up only.
    private static func line(
        _ stream: TCPStream, _ window: UnsafeMutableRawPointer, _ capacity: Int,
        _ filled: inout Int, _ start: inout Int, _ gateway: String
    ) throws(DatabentoError) -> String {
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
            if n < 0 {
                throw n == -Int(EAGAIN)
                    ? .heartbeatTimeout(gateway: gateway, seconds: 0)
                    : .system(SystemError(gateway, call: "recv", errno: Int32(-n)))
            }
            filled += n
        }
    }

    /// The stream's DBN metadata, once all of it has arrived.
    public func metadata() throws(DatabentoError) -> DBNMetadata {
        while filled - start < 8 || filled - start < 8 + Int(UnsafeRawPointer(window + start).le(4, as: UInt32.self)) {
            if filled - start >= 8 {
                let need = 8 + Int(UnsafeRawPointer(window + start).le(4, as: UInt32.self))
                guard need <= capacity else {
                    throw .protocolError(
                        gateway: gateway, reason: "metadata of \(need) bytes exceeds the \(capacity)-byte window")
                }
            }
            compact(keepingFrom: start)
            guard receive() else { throw failure ?? .closed(gateway: gateway) }
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

    /// The walk's `refill`: keeps the record cut short, then one receive.
    @inline(__always)
    public func refill(_ cursor: inout DBNRecordCursor) -> Bool {
        let keep = cursor.nextOffset
        compact(keepingFrom: keep)
        let added = receive()
        cursor.rebase(UnsafeRawBufferPointer(start: window, count: filled), shift: keep)
        return added
    }

    private func compact(keepingFrom keep: Int) {
        let kept = filled - keep
        if keep > 0 && kept > 0 { memmove(window, window + keep, kept) }
        filled = kept
        start -= min(start, keep)
    }

    /// One `recv` into the window's free space; false (with `failure` set) when nothing came.
    private func receive() -> Bool {
        let room = capacity - filled
        guard room > 0 else {
            failure = .protocolError(gateway: gateway, reason: "a record larger than the window")
            return false
        }
        let n = stream.receive(into: window + filled, count: min(room, readSizes?() ?? readSize))
        if n > 0 {
            filled += n
            return true
        }
        if n == 0 {
            failure = .closed(gateway: gateway)
        } else if n == -Int(EAGAIN) || n == -Int(EWOULDBLOCK) {
            failure = .heartbeatTimeout(gateway: gateway, seconds: options.heartbeatSeconds + options.graceSeconds)
        } else {
            failure = .system(SystemError(gateway, call: "recv", errno: Int32(-n)))
        }
        return false
    }
}
