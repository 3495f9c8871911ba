import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Everything a `databento://[HOST:PORT]?dataset=D&schema=S&symbols=A,B[&stype_in=raw_symbol]
/// [&start=T][&snapshot=0|1][&ts_out=0|1][&heartbeat=SECONDS][&key_file=PATH]` URL says.
///
/// Without HOST:PORT the gateway is the dataset's own: `<dataset lower-cased, '.' → '-'>
/// .lsg.databento.com:13000`. The API key is never part of the URL: it comes from
/// `key_file=` (its first line) or `DATABENTO_API_KEY`, and no output, report or error
/// carries it (`DatabentoAuth.redact`).
public struct DatabentoOptions: Equatable, Sendable {
    public var url: String
    public var host: String
    public var port: UInt16 = 13_000
    public var dataset = ""
    public var schema = ""
    public var symbols: [String] = []
    public var stypeIn = "raw_symbol"
    public var start: String?
    public var snapshot = false
    public var tsOut = false
    /// The gateway's heartbeat interval; no data for this plus `graceSeconds` ends the session.
    public var heartbeatSeconds = 30
    public var graceSeconds = 5
    public var keyFile: String?

    init(url given: String, rest: String) throws(SourceURLError) {
        // A key pasted into the URL is refused below; it must not be echoed by any error.
        let url = given.split(separator: "&", omittingEmptySubsequences: false).map { part in
            part.hasPrefix("key=") || part.contains("?key=")
                ? part.replacingOccurrences(of: #"key=.*"#, with: "key=<redacted>", options: .regularExpression)
                : String(part)
        }.joined(separator: "&")
        self.url = url
        let parts = rest.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let authority = parts.first ?? ""
        host = ""
        if !authority.isEmpty {
            guard let colon = authority.lastIndex(of: ":"),
                let port = UInt16(authority[authority.index(after: colon)...]),
                port > 0, colon != authority.startIndex
            else {
                throw SourceURLError(
                    url: url, reason: "gateway \"\(authority)\" is not HOST:PORT with a port from 1 to 65535")
            }
            host = String(authority[..<colon])
            self.port = port
        }
        for pair in (parts.count == 2 ? parts[1] : "").split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
            let key = kv[0], value = kv.count == 2 ? kv[1] : ""
            func flag() throws(SourceURLError) -> Bool {
                guard value == "0" || value == "1" else {
                    throw SourceURLError(url: url, reason: "\(key)=\(value): expected 0 or 1")
                }
                return value == "1"
            }
            switch key {
            case "dataset": dataset = value
            case "schema": schema = value
            case "symbols": symbols = value.split(separator: ",").map(String.init)
            case "stype_in": stypeIn = value
            case "start": start = value
            case "snapshot": snapshot = try flag()
            case "ts_out": tsOut = try flag()
            case "heartbeat":
                guard let s = Int(value), (5...3_600).contains(s) else {
                    throw SourceURLError(url: url, reason: "heartbeat=\(value): expected whole seconds from 5 to 3600")
                }
                heartbeatSeconds = s
            case "key_file": keyFile = value
            case "key":
                throw SourceURLError(
                    url: url, reason: "the key does not go in the URL: set DATABENTO_API_KEY or key_file=PATH")
            default:
                throw SourceURLError(
                    url: url,
                    reason: "unknown parameter \"\(key)\" (known: dataset, schema, symbols, stype_in, start, snapshot, "
                        + "ts_out, heartbeat, key_file)")
            }
        }
        for (name, value) in [("dataset", dataset), ("schema", schema)] where value.isEmpty {
            throw SourceURLError(url: url, reason: "\(name)= is missing")
        }
        guard !symbols.isEmpty else {
            throw SourceURLError(url: url, reason: "symbols= is missing (ALL_SYMBOLS for all)")
        }
        let fields =
            [("dataset", dataset), ("schema", schema), ("stype_in", stypeIn)] + symbols.map({ ("symbols", $0) })
        for (name, value) in fields where value.contains("|") || value.contains("\n") {
            throw SourceURLError(
                url: url, reason: "\(name) \"\(value)\" holds a character the gateway protocol reserves")
        }
        if host.isEmpty { host = dataset.lowercased().replacingOccurrences(of: ".", with: "-") + ".lsg.databento.com" }
    }

    /// A key file's first line, trimmed, or nil when it cannot be read or is too short to be
    /// a key (the URL's `key_file=` and `serve databento --key-file` read keys alike).
    public static func readKey(file: String) -> String? {
        guard let text = SystemFile.read(file, limit: 4096) else { return nil }
        let key = (text.split(separator: "\n").first.map(String.init) ?? "").trimmingSpaces()
        return key.utf8.count >= 5 ? key : nil
    }

    /// The API key: `key_file`'s first line, else `DATABENTO_API_KEY`. The error never
    /// contains the key.
    public func key() throws(SourceURLError) -> String {
        if let keyFile {
            guard let key = Self.readKey(file: keyFile) else {
                throw SourceURLError(url: url, reason: "key_file \(keyFile) cannot be read or holds no key")
            }
            return key
        }
        guard let env = getenv("DATABENTO_API_KEY") else {
            throw SourceURLError(url: url, reason: "no API key: set DATABENTO_API_KEY or key_file=PATH")
        }
        let key = String(cString: env).trimmingSpaces()
        guard key.utf8.count >= 5 else {
            throw SourceURLError(url: url, reason: "DATABENTO_API_KEY is too short to be a key")
        }
        return key
    }
}
