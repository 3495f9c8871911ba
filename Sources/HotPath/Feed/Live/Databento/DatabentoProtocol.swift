import CSupport
import Foundation

/// The gateway's text protocol before the DBN stream: `key=value|key=value` lines.
///
/// 1. gateway: `lsg_version=…`, then `cram=CHALLENGE`;
/// 2. client: `auth=R|dataset=D|encoding=dbn|ts_out=0|1|heartbeat_interval_s=N|client=…`,
///    R = lowercase hex SHA-256 of `CHALLENGE|KEY`, `-`, the key's last five characters;
/// 3. gateway: `success=1|session_id=…` or `success=0|error=…`;
/// 4. client: `schema=…|stype_in=…|symbols=…|[start=…|]snapshot=0|1|id=N|is_last=0|1`, 500
///    symbols a line; then `start_session=0`;
/// 5. gateway: DBN metadata, then records (heartbeats are SystemMsg records).
public enum DatabentoAuth {
    /// The challenge answer (step 2's R).
    public static func response(challenge: String, key: String) -> String {
        ModelIdentity.sha256(Array((challenge + "|" + key).utf8)) + "-" + String(key.suffix(5))
    }

    /// `text` with every occurrence of `key` replaced by `<key>`: for anything a peer or an
    /// error might echo back.
    public static func redact(_ text: String, key: String) -> String {
        key.isEmpty ? text : text.replacingOccurrences(of: key, with: "<key>")
    }

    /// The fields of one control line, in order.
    public static func fields(_ line: String) -> [(String, String)] {
        line.split(separator: "|").map { token in
            let kv = token.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (String(kv[0]), kv.count == 2 ? String(kv[1]) : "")
        }
    }

    /// The subscription lines for `options`, `chunk` symbols each.
    public static func subscriptions(_ o: DatabentoOptions, id: Int, chunk: Int = 500) -> [String] {
        var lines: [String] = []
        var i = 0
        while i < o.symbols.count {
            let part = o.symbols[i..<min(i + chunk, o.symbols.count)]
            i += chunk
            var line = "schema=\(o.schema)|stype_in=\(o.stypeIn)|symbols=\(part.joined(separator: ","))"
            if let start = o.start { line += "|start=\(start)" }
            line += "|snapshot=\(o.snapshot ? 1 : 0)|id=\(id)|is_last=\(i >= o.symbols.count ? 1 : 0)"
            lines.append(line)
        }
        return lines
    }

    /// DBN schema ids (`Metadata.schema`) by the gateway's names.
    public static let schemas: [String: UInt16] = [
        "mbo": 0, "mbp-1": 1, "mbp-10": 2, "tbbo": 3, "trades": 4, "ohlcv-1s": 5, "ohlcv-1m": 6, "ohlcv-1h": 7,
        "ohlcv-1d": 8, "definition": 9, "statistics": 10, "status": 11, "imbalance": 12, "ohlcv-eod": 13,
        "cmbp-1": 14, "cbbo-1s": 15, "cbbo-1m": 16, "tcbbo": 17, "bbo-1s": 18, "bbo-1m": 19,
    ]
}

/// Why a gateway session could not start or went on no longer.
public enum DatabentoError: Error, Equatable, CustomStringConvertible {
    /// The gateway refused the key or the request, in its own words: not retried.
    case rejected(gateway: String, message: String)
    /// A socket call failed (connect refused, reset, …): retried with back-off.
    case system(SystemError)
    /// The peer broke the protocol.
    case protocolError(gateway: String, reason: String)
    /// Nothing arrived for the heartbeat interval plus grace.
    case heartbeatTimeout(gateway: String, seconds: Int)
    /// The gateway closed the connection.
    case closed(gateway: String)

    public var description: String {
        switch self {
        case let .rejected(gateway, message): "\(gateway): the gateway refused the session: \(message)"
        case let .system(error): "\(error)"
        case let .protocolError(gateway, reason): "\(gateway): \(reason)"
        case let .heartbeatTimeout(gateway, seconds): "\(gateway): no data or heartbeat for \(seconds) s"
        case let .closed(gateway): "\(gateway): the gateway closed the connection"
        }
    }

    /// Worth a reconnect (a refusal is not).
    public var isTransient: Bool {
        if case .rejected = self { return false }
        if case .protocolError = self { return false }
        return true
    }
}
