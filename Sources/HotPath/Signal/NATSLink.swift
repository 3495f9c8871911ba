import CSupport
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A NATS URL as HotPath takes it: `nats://HOST:PORT/PREFIX`, the subject prefix defaulting
/// to `hotpath`. Subjects under it:
/// - `PREFIX.<shard>.<instrument>`: each signal's 64-byte record (`[output] url`);
/// - `PREFIX.health.<shard>`: each process's heartbeat, every snapshot interval;
/// - `PREFIX.control`: `kill` or `resume`, for every shard at once.
///
/// `?jetstream=NAME` also keeps the signals in JetStream: each shard's in a stream of its own,
/// `NAME-<shard>` (file storage, created when absent), whose sequence is the shard's.
public struct NATSAddress: Sendable, Equatable {
    public var server: String
    public var prefix: String
    /// `?jetstream=NAME`: the streams' common name.
    public var jetstream: String?

    /// nil when `url` is not nats://HOST:PORT[/PREFIX][?jetstream=NAME] with a prefix and a
    /// name NATS can carry.
    public init?(_ url: String) {
        guard url.hasPrefix("nats://") else { return nil }
        var rest = url.dropFirst(7)
        if let q = rest.firstIndex(of: "?") {
            let query = rest[rest.index(after: q)...]
            guard query.hasPrefix("jetstream="), Self.isStreamName(query.dropFirst(10)) else { return nil }
            jetstream = String(query.dropFirst(10))
            rest = rest[..<q]
        }
        let slash = rest.firstIndex(of: "/")
        let hostPort = slash.map { String(rest[..<$0]) } ?? String(rest)
        let prefix = slash.map { String(rest[rest.index(after: $0)...]) } ?? ""
        guard (try? HostPort(hostPort, what: "address", url: url)) != nil else { return nil }
        server = "nats://" + hostPort
        self.prefix = prefix.isEmpty ? "hotpath" : prefix
        guard self.prefix.split(separator: ".", omittingEmptySubsequences: false).allSatisfy(Self.isToken) else {
            return nil
        }
    }

    /// A subject token: not empty, no dot, wildcard or space.
    public static func isToken<S: StringProtocol>(_ t: S) -> Bool {
        !t.isEmpty && !t.contains { $0 == "." || $0 == "*" || $0 == ">" || $0.isWhitespace }
    }

    /// A stream name: a token without path separators.
    static func isStreamName<S: StringProtocol>(_ t: S) -> Bool {
        isToken(t) && !t.contains { $0 == "/" || $0 == "\\" }
    }

    public var controlSubject: String { prefix + ".control" }
    public func stream(shard: String) -> String? { jetstream.map { $0 + "-" + shard } }
    public func healthSubject(shard: String) -> String { prefix + ".health." + shard }
    public func signalPrefix(shard: String) -> String { prefix + "." + shard }
}

/// One NATS connection (libnats), for a cold thread: the output thread's signals and
/// heartbeats, the fleet commands. Reconnects forever with backoff; while disconnected
/// messages wait in libnats' reconnect buffer, and a full buffer is counted, never waited on.
public final class NATSLink: @unchecked Sendable {
    public let address: NATSAddress
    let handle: OpaquePointer

    /// `sendAsap`: write each publish at once (signals), or let libnats batch (`hp_nats_connect`).
    public init(url: String, bufferBytes: Int = 8 << 20, sendAsap: Bool = true) throws(SystemError) {
        guard let a = NATSAddress(url) else {
            throw SystemError(url, call: "nats URL", errno: EINVAL)
        }
        address = a
        var error = [CChar](repeating: 0, count: 256)
        guard let h = hp_nats_connect(a.server, Int32(bufferBytes), sendAsap ? 1 : 0, &error, error.count) else {
            throw SystemError(
                url,
                call: "connect (" + Self.text(error) + ")",
                errno: ECONNREFUSED)
        }
        handle = h
    }

    deinit {
        hp_nats_close(handle)
        subjectBuffer.deallocate()
        dataBuffer.deallocate()
    }

    /// 0 sent, 1 the reconnect buffer is full, −1 failed.
    @discardableResult
    public func publish(_ subject: String, _ bytes: [UInt8]) -> Int32 {
        bytes.withUnsafeBytes { hp_nats_publish(handle, subject, $0.baseAddress, Int32($0.count)) }
    }

    public func flush(timeoutMs: Int32 = 2_000) -> Bool { hp_nats_flush(handle, timeoutMs) == 0 }

    public func subscribe(_ subject: String) -> Bool { hp_nats_subscribe(handle, subject) == 0 }

    /// The next message a subscription queued, with when it arrived (CLOCK_MONOTONIC ns), or nil.
    public func next() -> (subject: String, bytes: [UInt8], atNs: UInt64)? {
        var at: UInt64 = 0
        let n = hp_nats_next(handle, subjectBuffer, 256, dataBuffer, Int32(Self.messageCapacity), &at)
        guard n >= 0 else { return nil }
        return (String(cString: subjectBuffer), Array(UnsafeBufferPointer(start: dataBuffer, count: Int(n))), at)
    }

    /// Where `next` copies a message (messages longer are cut).
    static let messageCapacity = 1 << 20
    private let subjectBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: 256)
    private let dataBuffer = UnsafeMutablePointer<UInt8>.allocate(capacity: messageCapacity)

    /// Every signal kept in the JetStream streams `name`-<shard>, stream by stream in name
    /// order and each from its first sequence, with its shard and run (the message id's first
    /// part), until `body` says stop; how many streams there are.
    @discardableResult
    public func forEachStoredSignal(
        name: String, _ body: (_ shard: String, _ run: String, _ signal: Signal) -> Bool
    ) throws(SystemError) -> Int {
        var list = [CChar](repeating: 0, count: 1 << 16)
        guard hp_nats_js_streams(handle, name + "-", &list, list.count) >= 0 else {
            throw SystemError(address.server, call: "list streams (is JetStream on? nats-server -js)", errno: EIO)
        }
        let streams = Self.text(list).split(separator: "\n").map(String.init).sorted()
        var id = [CChar](repeating: 0, count: 64)
        var record = [UInt8](repeating: 0, count: 64)
        for stream in streams {
            let shard = String(stream.dropFirst(name.count + 1))
            var first: UInt64 = 0, last: UInt64 = 0
            guard hp_nats_js_bounds(handle, stream, &first, &last) == 0 else {
                throw SystemError(address.server, call: "read stream " + stream, errno: EIO)
            }
            var seq = max(first, 1)
            while seq <= last {
                let n = hp_nats_js_get(handle, stream, seq, &id, id.count, &record, 64)
                if n == -2 { throw SystemError(address.server, call: "read stream \(stream) at \(seq)", errno: EIO) }
                seq += 1
                guard n == 64 else { continue }  // deleted, or not a signal
                let run = Self.text(id).split(separator: "-").first.map(String.init) ?? ""
                if !body(shard, run, record.withUnsafeBytes { $0.loadUnaligned(as: Signal.self) }) { break }
            }
        }
        return streams.count
    }

    static func text(_ c: [CChar]) -> String {
        String(decoding: c.prefix { $0 != 0 }.map(UInt8.init), as: UTF8.self)
    }

    public var disconnects: UInt64 { hp_nats_disconnects(handle) }
    public var reconnects: UInt64 { hp_nats_reconnects(handle) }
    public var droppedMessages: UInt64 { hp_nats_dropped_messages(handle) }
}

/// `[output] url = "nats://…"`: the output thread publishes each signal on
/// `PREFIX.<shard>.<instrument>` and a heartbeat (the live report as JSON) on
/// `PREFIX.health.<shard>` every snapshot, and the process obeys `PREFIX.control`: `kill`
/// sets the risk gates' kill switch from libnats' thread the moment it arrives (the engine
/// reads it on its next signal); `resume` lets the output thread clear it (a kill-switch file
/// may still hold it).
///
/// Counters (group `nats`): `published`, `buffer_full` (the reconnect buffer was full: the
/// signal is not sent), `failed`; in the report also `disconnects`, `reconnects`,
/// `fleet_kills`, `fleet_resumes`.
///
/// With JetStream (`?jetstream=NAME`) each signal is published asynchronously with the id
/// RUN-SEQUENCE, and the stream drops a copy it already has. A publish unacknowledged after
/// 2 s (the server went away with it) or refused by libnats waits in a retry queue and is
/// re-sent once connected; at the end the output thread waits up to `completionMs` for the
/// last acknowledgments. Each signal ends as exactly one of `js_acked`, `js_duplicates` (a
/// re-sent copy the stream had), `js_refused` (the server's error, say a full stream) or
/// `js_lost` (a full retry queue, or unacknowledged at the end); `js_retried` counts re-sends.
public final class NATSOutput: @unchecked Sendable {
    public let link: NATSLink
    public let shard: String
    /// `PREFIX.<shard>` as a C string made once (passing a String would copy it per call).
    let signalPrefix: UnsafeMutablePointer<CChar>
    let healthSubject: String
    let published: Counter
    let bufferFull: Counter
    let failed: Counter
    /// JetStream: this process's part of each message id.
    let run: UInt64?
    public let completionMs: Int32 = 10_000

    public init(
        url: String, shard: String, killSwitch: UnsafeMutablePointer<Atomic<Bool>>, counters: CounterRegistry
    )
        throws(SystemError)
    {
        link = try NATSLink(url: url)
        self.shard = shard
        signalPrefix = strdup(link.address.signalPrefix(shard: shard))!
        healthSubject = link.address.healthSubject(shard: shard)
        if let stream = link.address.stream(shard: shard) {
            var error = [CChar](repeating: 0, count: 256)
            guard
                hp_nats_js_enable(link.handle, stream, link.address.signalPrefix(shard: shard) + ".*", &error, 256) == 0
            else {
                free(signalPrefix)
                throw SystemError(url, call: "jetstream (" + NATSLink.text(error) + ")", errno: EIO)
            }
            run = UInt64.random(in: 1...UInt64.max)
        } else {
            run = nil
        }
        let group = counters.makeGroup(thread: "nats", names: ["published", "buffer_full", "failed"])
        published = group[0]
        bufferFull = group[1]
        failed = group[2]
        let flag = UnsafeMutableRawPointer(killSwitch).assumingMemoryBound(to: UInt8.self)
        guard hp_nats_watch_control(link.handle, link.address.controlSubject, flag) == 0 else {
            throw SystemError(url, call: "subscribe " + link.address.controlSubject, errno: EIO)
        }
    }

    deinit { free(signalPrefix) }

    /// The output thread, per signal: no allocation (the subject is formatted on the stack).
    func publish(_ s: Signal) {
        if let run {
            // Accepted or queued for a re-send; a loss is counted where it happens (`js_lost`).
            let rc = withUnsafeBytes(of: s) {
                hp_nats_js_publish_signal(
                    link.handle, signalPrefix, s.instrumentId, $0.baseAddress, 64, run, s.sequence)
            }
            if rc >= 0 { published.increment() }
            return
        }
        let rc = withUnsafeBytes(of: s) {
            hp_nats_publish_signal(link.handle, signalPrefix, s.instrumentId, $0.baseAddress, 64)
        }
        switch rc {
        case 0: published.increment()
        case 1: bufferFull.increment()
        default: failed.increment()
        }
    }

    /// The output thread, each pass: re-sends what a server restart left unacknowledged.
    func service() { if run != nil { hp_nats_js_service(link.handle) } }

    /// At the end: waits for JetStream's last acknowledgments (what is still missing is lost).
    func complete() { if run != nil { hp_nats_js_complete(link.handle, completionMs) } }

    func heartbeat(_ json: String) { link.publish(healthSubject, Array(json.utf8)) }

    /// Whether the last control message was `kill`.
    var fleetKilled: Bool { hp_nats_fleet_killed(link.handle) != 0 }

    /// The counters libnats' callbacks keep, for the report.
    var sessionCounters: [(String, UInt64)] {
        var c = [
            ("nats.disconnects", link.disconnects), ("nats.reconnects", link.reconnects),
            ("nats.fleet_kills", hp_nats_kills(link.handle)), ("nats.fleet_resumes", hp_nats_resumes(link.handle)),
        ]
        if run != nil {
            for (i, name) in ["acked", "duplicates", "retried", "refused", "lost"].enumerated() {
                c.append(("nats.js_" + name, hp_nats_js_count(link.handle, Int32(i))))
            }
        }
        return c
    }
}
