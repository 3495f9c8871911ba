import CSupport

#if canImport(Glibc)
import Glibc
#endif

/// Why a WebSocket could not open or went on no longer.
public enum WebSocketError: Error, Equatable, CustomStringConvertible {
    case connect(SystemError)
    /// The TLS handshake failed: an unknown CA, a wrong host name, … (OpenSSL's words).
    case tls(peer: String, reason: String)
    /// The HTTP upgrade was refused or malformed.
    case handshake(peer: String, reason: String)
    /// The connection closed: by the peer's close frame (its code and reason), by ours
    /// after a protocol fault (1002, 1007, 1009), or without a close frame (1006).
    case closed(peer: String, code: UInt16, reason: String)
    /// No bytes for the watchdog's time.
    case silent(peer: String, seconds: Double)
    /// The venue refused the session after the upgrade (a wrong API key).
    case refused(peer: String, reason: String)

    public var description: String {
        switch self {
        case let .connect(error): "\(error)"
        case let .tls(peer, reason): "\(peer): \(reason)"
        case let .handshake(peer, reason): "\(peer): WebSocket upgrade refused: \(reason)"
        case let .closed(peer, code, reason):
            "\(peer): WebSocket closed, code \(code)\(reason.isEmpty ? "" : ": \(reason)")"
        case let .silent(peer, seconds): "\(peer): nothing received for \(seconds) s"
        case let .refused(peer, reason): "\(peer): the venue refused the session: \(reason)"
        }
    }

    /// Worth a reconnect: a refused upgrade or a TLS failure is not.
    public var isTransient: Bool {
        switch self {
        case .tls, .handshake, .refused: false
        default: true
        }
    }
}

/// A WebSocket client (RFC 6455) over `SecureStream`: the HTTP/1.1 upgrade with the venue's
/// headers and `Sec-WebSocket-Accept` checked; masked client frames; 7-, 16- and 64-bit
/// lengths; fragmented messages; pings answered by pongs; the close handshake.
///
/// Frames land in a window sized at connect (`maxMessage` plus headers): an unfragmented
/// message is handed over in place, a fragmented one is put together in a second buffer of
/// `maxMessage` bytes. Nothing is allocated per message here (nor by OpenSSL on TLS 1.2:
/// see `SecureStream`). A message over `maxMessage` is
/// refused with close 1009; a bad opcode, a masked server frame, reserved bits, a broken
/// control frame or a stray continuation with 1002; a text message that is not UTF-8 with
/// 1007. Each is counted (`counts`), and the connection ends with `failure` naming it.
public final class WebSocketClient {
    public struct Options: Sendable {
        public var host = "127.0.0.1"
        public var port: UInt16 = 443
        public var path = "/"
        public var tls = true
        public var caFile: String?
        public var insecure = false
        /// Cap TLS at 1.2: OpenSSL 3.0 allocates per TLS 1.3 record, not per 1.2 record.
        public var tls12Only = false
        /// Extra request headers (a venue's authentication).
        public var headers: [(String, String)] = []
        public var maxMessage = 1 << 20
        public init() {}
    }

    public struct Counts: Sendable {
        public var messages = 0, frames = 0, fragmented = 0, pings = 0, pongs = 0
        public var oversized = 0, protocolErrors = 0, invalidUTF8 = 0
        public var named: [(String, Int)] {
            [
                ("messages", messages), ("frames", frames), ("fragmented", fragmented), ("pings", pings),
                ("pongs", pongs), ("oversized", oversized), ("protocol_errors", protocolErrors),
                ("invalid_utf8", invalidUTF8),
            ]
        }
    }

    /// What `next` brought.
    public enum Next {
        /// A data message: its bytes stay valid until the next call.
        case message(UnsafeRawBufferPointer, text: Bool)
        /// The receive time-out passed with no whole message.
        case quiet
        /// The connection is over (`failure` says why).
        case ended
    }

    public let options: Options
    let stream: SecureStream
    let window: UnsafeMutableRawPointer
    let capacity: Int
    var filled = 0, start = 0
    let assembled: UnsafeMutableRawPointer
    var assembledCount = 0
    var assembling = false
    var assembledText = false
    let control: UnsafeMutableRawPointer  // outgoing control frames: header + 125 + mask
    var mask: UInt64
    public private(set) var counts = Counts()
    public private(set) var failure: WebSocketError?
    /// Benchmarks only: when set, each read that brought bytes is stamped (`lastRead`, in
    /// its ticks), so a message's receive-to-Event time can be taken.
    public var readClock: Clock?
    public private(set) var lastRead: UInt64 = 0
    public var peer: String { stream.peer }
    public var tlsVersion: String? { stream.tlsVersion }

    static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    public init(_ options: Options) throws(WebSocketError) {
        self.options = options
        stream = try SecureStream(
            host: options.host, port: options.port, tls: options.tls, caFile: options.caFile,
            insecure: options.insecure, tls12Only: options.tls12Only)
        capacity = max(options.maxMessage + 14, 16 << 10) * 2
        window = .allocate(byteCount: capacity, alignment: 64)
        assembled = .allocate(byteCount: max(options.maxMessage, 1), alignment: 64)
        control = .allocate(byteCount: 256, alignment: 8)
        mask = UInt64.random(in: 1...UInt64.max)
        stream.setReceiveTimeout(microseconds: 5_000_000)
        try upgrade()
        stream.setReceiveTimeout(microseconds: 100_000)
    }

    deinit {
        window.deallocate()
        assembled.deallocate()
        control.deallocate()
    }

    /// The HTTP/1.1 upgrade. Start-up only.
    func upgrade() throws(WebSocketError) {
        let nonce = (0..<16).map { _ in UInt8.random(in: 0...255) }
        let key = Base64.encode(nonce)
        let hostHeader = options.port == (options.tls ? 443 : 80) ? options.host : "\(options.host):\(options.port)"
        var request = "GET \(options.path) HTTP/1.1\r\nHost: \(hostHeader)\r\nUpgrade: websocket\r\n"
        request += "Connection: Upgrade\r\nSec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n"
        for (name, value) in options.headers { request += "\(name): \(value)\r\n" }
        request += "\r\n"
        let sent = Array(request.utf8).withUnsafeBytes { stream.send($0) }
        guard sent else { throw .closed(peer: peer, code: 1006, reason: "the upgrade request could not be sent") }
        // Read up to the end of the response's headers.
        var end = -1
        let deadline = Clock.monotonicNs() + 10_000_000_000
        while end < 0 {
            guard filled < 16 << 10 else { throw .handshake(peer: peer, reason: "response headers over 16 KiB") }
            let n = stream.receive(into: window + filled, count: (16 << 10) - filled)
            if n == -Int(EAGAIN) {
                if Clock.monotonicNs() > deadline { throw .handshake(peer: peer, reason: "no response") }
                continue
            }
            guard n > 0 else { throw .handshake(peer: peer, reason: "the connection closed during the upgrade") }
            let from = max(filled - 3, 0)
            filled += n
            var i = from
            while i + 3 < filled {
                if window.loadUnaligned(fromByteOffset: i, as: UInt32.self) == 0x0A0D_0A0D {
                    end = i + 4
                    break
                }
                i += 1
            }
        }
        let head = String(decoding: UnsafeRawBufferPointer(start: window, count: end), as: UTF8.self)
        let lines = head.split(separator: "\r\n")
        guard let status = lines.first, status.hasPrefix("HTTP/1.1 101") else {
            throw .handshake(peer: peer, reason: "\"\(lines.first.map(String.init) ?? "")\"")
        }
        var accept: String?
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            if line[..<colon].lowercased() == "sec-websocket-accept" {
                accept = String(line[line.index(after: colon)...]).trimmingSpaces()
            }
        }
        var digest = [UInt8](repeating: 0, count: 20)
        let keyed = Array((key + Self.guid).utf8)
        keyed.withUnsafeBytes { hp_sha1($0.baseAddress, $0.count, &digest) }
        guard accept == Base64.encode(digest) else {
            throw .handshake(peer: peer, reason: "Sec-WebSocket-Accept \"\(accept ?? "")\" does not answer the key")
        }
        start = end
    }

    /// The next data message, a quiet slice, or the end. Control frames are answered here.
    public func next() -> Next {
        while true {
            if failure != nil { return .ended }
            let have = filled - start
            if have >= 2 {
                let p = UnsafeRawPointer(window + start)
                let b0 = p.load(as: UInt8.self), b1 = p.load(fromByteOffset: 1, as: UInt8.self)
                var header = 2
                var length = UInt64(b1 & 0x7F)
                if length == 126 {
                    header = 4
                    if have >= 4 {
                        length = UInt64(UInt16(bigEndian: p.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
                    }
                } else if length == 127 {
                    header = 10
                    if have >= 10 { length = UInt64(bigEndian: p.loadUnaligned(fromByteOffset: 2, as: UInt64.self)) }
                }
                if have >= header {
                    if let refusal = check(b0: b0, b1: b1, length: length) { return end(refusal) }
                    let total = header + Int(length)
                    if have >= total {
                        start += total
                        counts.frames += 1
                        let payload = UnsafeRawBufferPointer(start: p + header, count: Int(length))
                        if let message = take(opcode: b0 & 0x0F, fin: b0 & 0x80 != 0, payload) { return message }
                        continue
                    }
                    if total > capacity - start { compact() }
                }
            }
            if start > 0 && (filled == start || capacity - filled < 4096) { compact() }
            let n = stream.receive(into: window + filled, count: capacity - filled)
            if n > 0 {
                filled += n
                if let clock = readClock { lastRead = clock.ticks() }
                continue
            }
            if n == -Int(EAGAIN) { return .quiet }
            let reason = n == 0 ? "the connection closed without a close frame" : String(cString: stream.errorText)
            failure = .closed(peer: peer, code: 1006, reason: reason)
            return .ended
        }
    }

    /// A refusal (code, reason) for a frame header this client does not take.
    func check(b0: UInt8, b1: UInt8, length: UInt64) -> (UInt16, StaticString)? {
        let opcode = b0 & 0x0F
        if b0 & 0x70 != 0 { return (1002, "reserved bits set (no extension was agreed)") }
        if b1 & 0x80 != 0 { return (1002, "a masked frame from the server") }
        switch opcode {
        case 0, 1, 2: break
        case 8, 9, 10:
            if b0 & 0x80 == 0 || length > 125 { return (1002, "a fragmented or long control frame") }
        default: return (1002, "an unknown opcode")
        }
        if length > UInt64(options.maxMessage)
            || (opcode == 0 && UInt64(assembledCount) + length > UInt64(options.maxMessage))
        {
            return (1009, "a message over the maximum size")
        }
        return nil
    }

    /// Handles one whole frame; a data message when one is complete.
    func take(opcode: UInt8, fin: Bool, _ payload: UnsafeRawBufferPointer) -> Next? {
        switch opcode {
        case 9:
            counts.pings += 1
            sendControl(opcode: 10, payload)
            return nil
        case 10:
            counts.pongs += 1
            return nil
        case 8:
            let code: UInt16 = payload.count >= 2 ? UInt16(payload[0]) << 8 | UInt16(payload[1]) : 1005
            let reason = String(decoding: payload.dropFirst(2), as: UTF8.self)
            sendControl(opcode: 8, UnsafeRawBufferPointer(rebasing: payload.prefix(2)))
            failure = .closed(peer: peer, code: code, reason: reason)
            return .ended
        case 0:
            guard assembling else { return end((1002, "a continuation with no message begun")) }
            (assembled + assembledCount).copyMemory(from: payload.baseAddress!, byteCount: payload.count)
            assembledCount += payload.count
            guard fin else { return nil }
            assembling = false
            return deliver(UnsafeRawBufferPointer(start: assembled, count: assembledCount), text: assembledText)
        default:
            guard !assembling else { return end((1002, "a new message inside a fragmented one")) }
            if fin { return deliver(payload, text: opcode == 1) }
            counts.fragmented += 1
            assembling = true
            assembledText = opcode == 1
            assembledCount = payload.count
            if payload.count > 0 { assembled.copyMemory(from: payload.baseAddress!, byteCount: payload.count) }
            return nil
        }
    }

    func deliver(_ message: UnsafeRawBufferPointer, text: Bool) -> Next {
        if text && !UTF8Check.isValid(message) { return end((1007, "a text message that is not UTF-8")) }
        counts.messages += 1
        return .message(message, text: text)
    }

    /// Refuses with a close frame, counts, and ends.
    func end(_ refusal: (code: UInt16, reason: StaticString)) -> Next {
        switch refusal.code {
        case 1009: counts.oversized += 1
        case 1007: counts.invalidUTF8 += 1
        default: counts.protocolErrors += 1
        }
        var code = refusal.code.bigEndian
        withUnsafeBytes(of: &code) { sendControl(opcode: 8, $0) }
        failure = .closed(peer: peer, code: refusal.code, reason: refusal.reason.description)
        return .ended
    }

    func compact() {
        let kept = filled - start
        if kept > 0 && start > 0 { memmove(window, window + start, kept) }
        filled = kept
        start = 0
    }

    @inline(__always)
    func nextMask() -> UInt32 {
        mask ^= mask << 13
        mask ^= mask >> 7
        mask ^= mask << 17
        return UInt32(truncatingIfNeeded: mask)
    }

    /// A masked control frame (payload ≤ 125 bytes), from the fixed control buffer.
    func sendControl(opcode: UInt8, _ payload: UnsafeRawBufferPointer) {
        let n = min(payload.count, 125)
        control.storeBytes(of: 0x80 | opcode, as: UInt8.self)
        control.storeBytes(of: 0x80 | UInt8(n), toByteOffset: 1, as: UInt8.self)
        let key = nextMask()
        control.storeBytes(of: key, toByteOffset: 2, as: UInt32.self)
        for i in 0..<n {
            let k = UInt8(truncatingIfNeeded: key >> (8 * UInt32(i & 3)))
            control.storeBytes(of: payload[i] ^ k, toByteOffset: 6 + i, as: UInt8.self)
        }
        _ = stream.send(UnsafeRawBufferPointer(start: control, count: 6 + n))
    }

    /// Sends a text message (cold: subscriptions), masked.
    public func send(text: String) -> Bool {
        var bytes = Array(text.utf8)
        var frame: [UInt8] = [0x81]
        if bytes.count < 126 {
            frame.append(0x80 | UInt8(bytes.count))
        } else if bytes.count <= 0xFFFF {
            frame += [0x80 | 126, UInt8(bytes.count >> 8), UInt8(bytes.count & 0xFF)]
        } else {
            frame.append(0x80 | 127)
            for i in (0..<8).reversed() { frame.append(UInt8(truncatingIfNeeded: bytes.count >> (8 * i))) }
        }
        let key = nextMask()
        for i in 0..<4 { frame.append(UInt8(truncatingIfNeeded: key >> (8 * UInt32(i)))) }
        for i in bytes.indices { bytes[i] ^= UInt8(truncatingIfNeeded: key >> (8 * UInt32(i & 3))) }
        frame += bytes
        return frame.withUnsafeBytes { stream.send($0) }
    }

    /// The close handshake from our side (code 1000), best effort.
    public func close() {
        guard failure == nil else { return }
        var code = UInt16(1000).bigEndian
        withUnsafeBytes(of: &code) { sendControl(opcode: 8, $0) }
        failure = .closed(peer: peer, code: 1000, reason: "closed by the client")
    }
}

/// Standard base64 (RFC 4648), for the upgrade's keys. Cold.
enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            let b0 = UInt32(bytes[i])
            let b1 = i + 1 < bytes.count ? UInt32(bytes[i + 1]) : 0
            let b2 = i + 2 < bytes.count ? UInt32(bytes[i + 2]) : 0
            let v = b0 << 16 | b1 << 8 | b2
            out.append(alphabet[Int(v >> 18 & 63)])
            out.append(alphabet[Int(v >> 12 & 63)])
            out.append(i + 1 < bytes.count ? alphabet[Int(v >> 6 & 63)] : UInt8(ascii: "="))
            out.append(i + 2 < bytes.count ? alphabet[Int(v & 63)] : UInt8(ascii: "="))
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// UTF-8 validity (RFC 3629: no overlongs, no surrogates, nothing past U+10FFFF), with an
/// 8-bytes-at-a-time pass over ASCII runs.
enum UTF8Check {
    static func isValid(_ b: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        let n = b.count
        while i < n {
            if i + 8 <= n && b.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                i += 8
                continue
            }
            let c = b[i]
            if c < 0x80 {
                i += 1
                continue
            }
            let need: Int
            var lo: UInt8 = 0x80, hi: UInt8 = 0xBF
            switch c {
            case 0xC2...0xDF: need = 1
            case 0xE0: need = 2; lo = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: need = 2
            case 0xED: need = 2; hi = 0x9F
            case 0xF0: need = 3; lo = 0x90
            case 0xF1...0xF3: need = 3
            case 0xF4: need = 3; hi = 0x8F
            default: return false
            }
            guard i + need < n else { return false }
            let first = b[i + 1]
            guard first >= lo && first <= hi else { return false }
            if need >= 2 {
                for k in 2...need where b[i + k] & 0xC0 != 0x80 { return false }
            }
            i += need + 1
        }
        return true
    }
}
