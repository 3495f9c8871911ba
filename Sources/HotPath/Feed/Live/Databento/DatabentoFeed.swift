import CSupport

#if canImport(Glibc)
import Glibc
#endif

/// A Databento Live source that outlives its sessions: what `decode`, `book`, `run` and
/// `bench databento` read from a `databento://` URL.
///
/// `run` opens a session (`DatabentoSession`), hands it to the caller's walk, and when the
/// session ends by a close, a socket error or the heartbeat watchdog, opens another after
/// `Reconnect`'s back-off, subscribing again. After `maxAttempts` failed attempts in a row
/// it gives up. A refusal (a wrong key, an
/// unknown dataset) and a broken protocol end it at once: retrying cannot help.
///
/// The gateway does not resume a session, so what the caller built from the old one is
/// stale: `book` and `run` empty their books and mark them stale until the stream rebuilds
/// them. A resubscription (`resubscription`) asks for what rebuilds them: `snapshot=1` on
/// the MBO schema (the only one the gateway snapshots: a clear, then the resting orders),
/// and no `start=` (an intraday replay would send again what was already read).
///
/// The walk calls `admit` on each record and uses `refill` for more: `admit` counts and sets
/// aside heartbeats, counts gateway errors (and says each on `note`) and symbol mappings;
/// `refill` waits through quiet receive slices, looking at `stop`, `idleNs` and the heartbeat
/// watchdog once per slice or read, never per record. Neither allocates (a gateway error's
/// note does, once per error).
public final class DatabentoFeed: @unchecked Sendable {
    public struct Counts: Sendable {
        public var sessions = 0
        /// Records handed on (heartbeats aside).
        public var records = 0
        public var heartbeats = 0
        public var reconnects = 0
        public var heartbeatTimeouts = 0
        public var gatewayErrors = 0
        public var symbolMappings = 0

        public var named: [(String, Int)] {
            [
                ("sessions", sessions), ("records", records), ("heartbeats", heartbeats), ("reconnects", reconnects),
                ("heartbeat_timeouts", heartbeatTimeouts), ("gateway_errors", gatewayErrors),
                ("symbol_mappings", symbolMappings),
            ]
        }

        public var summary: String { named.map { "\($0.1) \($0.0)" }.joined(separator: ", ") }
    }

    /// How `run` ended.
    public enum End: Error, Equatable, Sendable, CustomStringConvertible {
        /// `stop` said so, or the walk stopped (a limit).
        case stopped
        /// Nothing but heartbeats for `idleNs`.
        case idle
        /// Refused, or the protocol broken: not retried.
        case failed(DatabentoError)
        /// `maxAttempts` reconnects in a row failed; the last one's reason.
        case gaveUp(DatabentoError, attempts: Int)

        public var description: String {
            switch self {
            case .stopped: "stopped"
            case .idle: "idle"
            case let .failed(error): error.description
            case let .gaveUp(error, attempts): "\(error); gave up after \(attempts) attempts"
            }
        }

        /// The exit status a CLI gives it: 2 for a refusal (the user's to fix), 1 otherwise.
        public var exitCode: Int32 {
            if case .failed(.rejected) = self { return 2 }
            return self == .stopped || self == .idle ? 0 : 1
        }
    }

    public let options: DatabentoOptions
    let key: String
    public private(set) var counts = Counts()
    public var maxAttempts = 8
    /// Stop once nothing but heartbeats has come for this long (0: never).
    public var idleNs: UInt64 = 0
    /// Where the feed says what happened (a reconnect, a gateway error); never the key.
    public var note: (String) -> Void = { printError("hotpath: " + $0) }
    /// Session tuning (tests: 1-byte or random reads).
    public var windowBytes = 1 << 20
    /// 16 KiB: as many records a second as 64 KiB reads here, at a quarter of the
    /// receive-to-Event wait in a burst (BENCHMARKS.md, "Databento Live").
    public var readSize = 16 << 10
    public var readSizes: (() -> Int)?

    /// Set by `refill` when it ends a walk for its own reason (stop, idle).
    var ending: End?
    var lastBytesNs: UInt64 = 0
    var lastRecordNs: UInt64 = 0
    var sawRecord = false

    /// The key from `key_file=` or `DATABENTO_API_KEY` (or `key`, for tests).
    public init(options: DatabentoOptions, key: String? = nil) throws(SourceURLError) {
        self.options = options
        if let key { self.key = key } else { self.key = try options.key() }
    }

    /// `text` with the key cut out: for every message that may hold gateway or peer words.
    public func redact(_ text: String) -> String { DatabentoAuth.redact(text, key: key) }

    /// Sessions until `stop`, the walk's own stop, `idleNs`, a refusal, or `maxAttempts`
    /// failures in a row. `walk` gets each session once its metadata is in, with
    /// `counts.sessions` already counting it; it walks the records with `admit` and
    /// `refill(_:_:stop:)`, and returns how its walk ended.
    public func run(
        stop: () -> Bool, _ walk: (DatabentoSession, DBNMetadata) -> WalkEnd
    ) -> End {
        var reconnect = Reconnect(maxAttempts: maxAttempts)
        while !stop() {
            let session: DatabentoSession
            let metadata: DBNMetadata
            do {
                session = try DatabentoSession(
                    options: counts.sessions == 0 ? options : resubscription, key: key, windowBytes: windowBytes,
                    readSize: readSize)
                session.readSizes = readSizes
                metadata = try session.metadata()
            } catch {
                if !error.isTransient { return .failed(redacted(error)) }
                if let end = backOff(redacted(error), &reconnect, stop: stop) { return end }
                continue
            }
            reconnect.succeeded()
            counts.sessions += 1
            if counts.sessions > 1 {
                note(
                    "\(options.url): session \(session.sessionID) after \(counts.records) records: the gateway does "
                        + "not resume; what follows is the new session's stream")
            }
            ending = nil
            lastBytesNs = Clock.monotonicNs()
            lastRecordNs = lastBytesNs
            sawRecord = false
            switch walk(session, metadata) {
            case .stopped: return ending ?? .stopped
            case let .failed(offset, reason):
                // A record cut short because the session ended (a close, the watchdog) is
                // that ending; only bytes that cannot be records break the protocol.
                if session.failure == nil {
                    return .failed(
                        .protocolError(gateway: session.gateway, reason: "stream offset \(offset): \(reason)"))
                }
            case .end: break
            }
            if let ending { return ending }
            let failure = redacted(session.failure ?? .closed(gateway: session.gateway))
            if case .heartbeatTimeout = failure { counts.heartbeatTimeouts += 1 }
            if !failure.isTransient { return .failed(failure) }
            if let end = backOff(failure, &reconnect, stop: stop) { return end }
        }
        return .stopped
    }

    /// What a session after the first subscribes to.
    public var resubscription: DatabentoOptions {
        var o = options
        o.start = nil
        if o.schema == "mbo" { o.snapshot = true }
        return o
    }

    func redacted(_ error: DatabentoError) -> DatabentoError {
        switch error {
        case let .rejected(gateway, message): .rejected(gateway: gateway, message: redact(message))
        case let .protocolError(gateway, reason): .protocolError(gateway: gateway, reason: redact(reason))
        default: error
        }
    }

    /// Waits before the next attempt (in slices, watching `stop`); an `End` when it is over.
    func backOff(_ why: DatabentoError, _ reconnect: inout Reconnect, stop: () -> Bool) -> End? {
        switch reconnect.wait(after: why.description, stop: stop, said: note) {
        case .retry:
            counts.reconnects += 1
            return nil
        case .stopped, .idle: return .stopped
        case .gaveUp: return .gaveUp(why, attempts: maxAttempts)
        }
    }

    /// The walk's refill: more bytes, or false at the end of the session, on `stop`, on
    /// `idleNs` without records, or when the watchdog fires (no bytes for heartbeat + grace).
    @inline(__always)
    public func refill(_ session: DatabentoSession, _ cursor: inout DBNRecordCursor, stop: () -> Bool) -> Bool {
        while true {
            let got = session.receive(&cursor)
            if got == .ended { return false }
            let now = Clock.monotonicNs()
            if sawRecord {
                sawRecord = false
                lastRecordNs = now
            }
            if _slowPath(stop()) {
                ending = .stopped
                return false
            }
            if idleNs > 0 && now &- lastRecordNs >= idleNs {
                ending = .idle
                return false
            }
            if got == .data {
                lastBytesNs = now
                return true
            }
            if now &- lastBytesNs >= session.watchdogNs {
                _ = session.timedOut()
                return false
            }
        }
    }

    /// What the walk does with a record: heartbeats are counted and skipped; gateway errors
    /// (counted, and said on `note`), symbol mappings (counted; the JSON writer's symbol map
    /// learns from them) and market data go on.
    @inline(__always)
    public func admit(_ c: DBNRecordCursor) -> DBNFile.RecordControl {
        let rtype = c.record.load(fromByteOffset: 1, as: UInt8.self)
        if _slowPath(rtype == DBNRType.system || rtype == DBNRType.error || rtype == DBNRType.symbolMapping) {
            if rtype == DBNRType.system && DBNFile.isHeartbeat(c.record, length: c.length) {
                counts.heartbeats += 1
                return .skip
            }
            if rtype == DBNRType.error {
                counts.gatewayErrors += 1
                note("\(options.url): gateway error: \(redact(Self.text(c.record, length: c.length)))")
            }
            if rtype == DBNRType.symbolMapping { counts.symbolMappings += 1 }
        }
        counts.records += 1
        sawRecord = true
        return .emit
    }

    /// An ErrorMsg's or SystemMsg's text: NUL-terminated from byte 16.
    static func text(_ record: UnsafeRawPointer, length: Int) -> String {
        let bytes = UnsafeRawBufferPointer(start: record + 16, count: max(length - 16, 0))
        return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }
}
