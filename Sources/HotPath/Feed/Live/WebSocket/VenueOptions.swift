/// Everything a `wss://HOST[:PORT]/PATH?venue=coinbase|kalshi|polygon&markets=A,B
/// [&channels=…][&key_id_env=VAR&key_file=PEM][&key_env=VAR][&ca_file=PATH][&insecure=1]
/// [&tls=1.2][&max_message=BYTES]` URL says (`ws://` for plain TCP, tests only). Kalshi
/// signs each connect with the key in `key_file` under the key id in the environment
/// variable `key_id_env` (`KalshiAuth`); Polygon authenticates with the API key in the
/// environment variable `key_env` (default POLYGON_API_KEY). Keys never reach a URL.
///
/// `venue` picks the adapter; `markets` are the venue's product ids, in the books' order;
/// `channels` default to the venue's book and trade channels. Verification of the server's
/// certificate and name is on unless `insecure=1`, which is said at every start.
/// `tls=1.2` caps the version: OpenSSL 3.0 allocates per TLS 1.3 record (`SecureStream`).
public struct VenueOptions: Equatable, Sendable {
    public enum Venue: String, Sendable, CaseIterable { case coinbase, kalshi, polygon }

    public var url: String
    public var venue: Venue
    public var host: String
    public var port: UInt16
    public var path: String
    public var tls: Bool
    public var markets: [String] = []
    public var channels: [String] = []
    public var caFile: String?
    public var insecure = false
    public var tls12Only = false
    public var maxMessage = 1 << 20
    public var keyIDEnv: String?
    public var keyFile: String?
    public var keyEnv = "POLYGON_API_KEY"

    init(url: String, tls: Bool, rest: String) throws(SourceURLError) {
        self.url = url
        self.tls = tls
        let parts = rest.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let location = parts[0]
        let slash = location.firstIndex(of: "/") ?? location.endIndex
        let authority = String(location[..<slash])
        path = slash == location.endIndex ? "/" : String(location[slash...])
        if let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") {
            guard let p = UInt16(authority[authority.index(after: colon)...]), p > 0 else {
                throw SourceURLError(url: url, reason: "port in \"\(authority)\" is not 1 to 65535")
            }
            host = String(authority[..<colon])
            port = p
        } else {
            host = authority
            port = tls ? 443 : 80
        }
        guard !host.isEmpty else { throw SourceURLError(url: url, reason: "no host") }
        var venue: Venue?
        for pair in (parts.count == 2 ? parts[1] : "").split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
            let key = kv[0], value = kv.count == 2 ? kv[1] : ""
            switch key {
            case "venue":
                guard let v = Venue(rawValue: value) else {
                    throw SourceURLError(
                        url: url,
                        reason:
                            "venue=\(value): not supported (supported: \(Venue.allCases.map(\.rawValue).joined(separator: ", ")))"
                    )
                }
                venue = v
            case "markets": markets = value.split(separator: ",").map(String.init)
            case "channels": channels = value.split(separator: ",").map(String.init)
            case "ca_file": caFile = value
            case "key_id_env": keyIDEnv = value
            case "key_file": keyFile = value
            case "key_env":
                guard !value.isEmpty else { throw SourceURLError(url: url, reason: "key_env= names no variable") }
                keyEnv = value
            case "insecure":
                guard value == "0" || value == "1" else {
                    throw SourceURLError(url: url, reason: "insecure=\(value): 0 or 1")
                }
                insecure = value == "1"
            case "tls":
                guard value == "1.2" || value == "1.3" else {
                    throw SourceURLError(url: url, reason: "tls=\(value): 1.2 or 1.3")
                }
                tls12Only = value == "1.2"
            case "max_message":
                guard let n = Int(value), (1_024...(64 << 20)).contains(n) else {
                    throw SourceURLError(url: url, reason: "max_message=\(value): 1024 to 67108864 bytes")
                }
                maxMessage = n
            default:
                throw SourceURLError(
                    url: url,
                    reason:
                        "unknown parameter \"\(key)\" (known: venue, markets, channels, key_id_env, key_file, key_env, ca_file, insecure, tls, max_message)"
                )
            }
        }
        guard let venue else {
            throw SourceURLError(url: url, reason: "venue= is missing (supported: coinbase, kalshi, polygon)")
        }
        self.venue = venue
        guard !markets.isEmpty else { throw SourceURLError(url: url, reason: "markets= is missing") }
    }

    /// The WebSocket client's options.
    public var client: WebSocketClient.Options {
        var o = WebSocketClient.Options()
        o.host = host
        o.port = port
        o.path = path
        o.tls = tls
        o.caFile = caFile
        o.insecure = insecure
        o.tls12Only = tls12Only
        o.maxMessage = maxMessage
        return o
    }
}
