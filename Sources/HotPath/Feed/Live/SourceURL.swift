/// A live source named by URL, wherever a feed file is taken (`decode`, `book`, `[[feeds]]`).
/// A string without `scheme://` is a file path.
///
/// `moldudp64://GROUP_OR_HOST:PORT?interface=IP&rerequest=HOST:PORT[&session=NAME]
///  [&io=uring|recvmmsg][&from=SEQ][&rcvbuf=BYTES][&window=PACKETS][&wait_us=N]
///  [&timeout_ms=N][&retries=N]`: a multicast group (joined on `interface`) or a unicast
/// address to bind; re-requests go to `rerequest`.
///
/// `databento://[HOST:PORT]?dataset=…&schema=…&symbols=…`: Databento's Live gateway
/// (`DatabentoOptions`).
///
/// `wss://HOST[:PORT]/PATH?venue=…&markets=…`: a venue's WebSocket feed (`VenueOptions`).
public enum SourceURL: Equatable, Sendable {
    case file(String)
    case moldUDP64(MoldUDP64Options)
    case databento(DatabentoOptions)
    case webSocket(VenueOptions)

    public static func parse(_ text: String) throws(SourceURLError) -> SourceURL {
        guard let schemeEnd = text.range(of: "://") else { return .file(text) }
        let scheme = String(text[..<schemeEnd.lowerBound]).lowercased()
        let rest = String(text[schemeEnd.upperBound...])
        switch scheme {
        case "file": return .file(rest)
        case "moldudp64": return .moldUDP64(try MoldUDP64Options(url: text, rest: rest))
        case "databento": return .databento(try DatabentoOptions(url: text, rest: rest))
        case "wss", "ws": return .webSocket(try VenueOptions(url: text, tls: scheme == "wss", rest: rest))
        default:
            throw SourceURLError(
                url: text, reason: "unknown scheme \"\(scheme)\" (known: moldudp64, databento, wss, ws, file)")
        }
    }
}

public struct SourceURLError: Error, Equatable, CustomStringConvertible {
    public var url: String
    public var reason: String
    public var description: String { "\(url): \(reason)" }
}

/// An IPv4 address and port, as written.
public struct HostPort: Equatable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: UInt16

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// `A.B.C.D:PORT`; `what` names the part of the URL in errors.
    public init(_ text: String, what: String, url: String) throws(SourceURLError) {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]), port > 0 else {
            throw SourceURLError(url: url, reason: "\(what) \"\(text)\" is not HOST:PORT with a port from 1 to 65535")
        }
        host = String(text[..<colon])
        guard HostPort.isIPv4(host) else {
            throw SourceURLError(url: url, reason: "\(what) host \"\(host)\" is not a dotted IPv4 address")
        }
        self.port = port
    }

    static func isIPv4(_ s: String) -> Bool {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { UInt8($0) != nil }
    }

    public var isMulticast: Bool {
        guard let first = host.split(separator: ".").first.flatMap({ UInt8($0) }) else { return false }
        return (224...239).contains(first)
    }

    public var description: String { "\(host):\(port)" }
}

/// Everything a `moldudp64://` URL says.
public struct MoldUDP64Options: Equatable, Sendable {
    public enum IO: String, Sendable { case uring, recvmmsg }

    public var url: String
    public var address: HostPort
    public var interface: String?
    public var rerequest: HostPort?
    public var io: IO = .uring
    public var receiveBuffer: Int = 4 << 20
    /// The session's own settings (window, time-outs, the session name).
    public var recovery: MoldSession.Options = .init()

    init(url: String, rest: String) throws(SourceURLError) {
        self.url = url
        let parts = rest.split(separator: "?", maxSplits: 1).map(String.init)
        address = try HostPort(parts.first ?? "", what: "address", url: url)
        guard parts.count == 2 else { return }
        for pair in parts[1].split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
            let key = kv[0], value = kv.count == 2 ? kv[1] : ""
            func number(_ max: UInt64) throws(SourceURLError) -> UInt64 {
                guard let n = UInt64(value), n <= max else {
                    throw SourceURLError(url: url, reason: "\(key)=\(value) is not a whole number up to \(max)")
                }
                return n
            }
            switch key {
            case "interface":
                guard HostPort.isIPv4(value) else {
                    throw SourceURLError(url: url, reason: "interface \"\(value)\" is not a dotted IPv4 address")
                }
                interface = value
            case "rerequest": rerequest = try HostPort(value, what: "rerequest", url: url)
            case "session":
                guard (1...10).contains(value.utf8.count), value.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else {
                    throw SourceURLError(
                        url: url, reason: "session \"\(value)\" is not 1 to 10 printable ASCII characters")
                }
                recovery.session = value
            case "io":
                guard let io = IO(rawValue: value) else {
                    throw SourceURLError(url: url, reason: "io=\(value): expected uring or recvmmsg")
                }
                self.io = io
            case "from": recovery.from = try number(UInt64.max - 1)
            case "rcvbuf": receiveBuffer = Int(try number(1 << 30))
            case "window": recovery.window = max(1, Int(try number(4096)))
            case "wait_us": recovery.waitNs = try number(10_000_000) * 1000
            case "timeout_ms": recovery.timeoutNs = max(1, try number(60_000)) * 1_000_000
            case "retries": recovery.retries = Int(try number(100))
            default:
                throw SourceURLError(
                    url: url,
                    reason:
                        "unknown parameter \"\(key)\" (known: interface, rerequest, session, io, from, rcvbuf, window, wait_us, timeout_ms, retries)"
                )
            }
        }
    }
}
