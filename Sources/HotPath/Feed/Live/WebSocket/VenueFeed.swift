import CSupport

#if canImport(Glibc)
import Glibc
#endif

/// A venue's WebSocket feed that outlives its connections, as `DatabentoFeed` is for the
/// gateway: connect (TLS, upgrade), subscribe, hand each message to the caller; on a close,
/// a socket or TLS error, or silence past the watchdog, reconnect after `Reconnect`'s
/// back-off and subscribe again, giving up after `maxAttempts` failures in a row. A TLS failure or a refused upgrade ends it at once.
///
/// A new connection starts the venue's sequence again and sends fresh snapshots, so the
/// caller is told (`connected`) and resets its adapter; the books stay stale until their
/// snapshots come. Counters: connects, reconnects, watchdog timeouts, and the client's.
public final class VenueFeed {
    public struct Counts: Sendable {
        public var connects = 0, reconnects = 0, watchdogTimeouts = 0
        public var named: [(String, Int)] {
            [("connects", connects), ("reconnects", reconnects), ("watchdog_timeouts", watchdogTimeouts)]
        }
    }

    public enum End: Error, Equatable, CustomStringConvertible {
        case stopped, idle
        case failed(WebSocketError)
        case gaveUp(WebSocketError, attempts: Int)

        public var description: String {
            switch self {
            case .stopped: "stopped"
            case .idle: "idle"
            case let .failed(e): e.description
            case let .gaveUp(e, attempts): "\(e); gave up after \(attempts) attempts"
            }
        }
    }

    public let options: VenueOptions
    public private(set) var counts = Counts()
    /// The client's counters, summed over connections.
    public private(set) var client = WebSocketClient.Counts()
    public var maxAttempts = 8
    /// No bytes at all for this long is a dead connection (venues ping or send heartbeats).
    public var watchdogNs: UInt64 = 30_000_000_000
    /// Stop once no message has come for this long (0: never).
    public var idleNs: UInt64 = 0
    public var note: (String) -> Void = { printError("hotpath: " + $0) }

    public init(options: VenueOptions) {
        self.options = options
    }

    /// Connections until `stop`, idle, a non-transient failure, or `maxAttempts` failures in
    /// a row. `connected(client)` runs after each connect (subscribe there, reset adapters);
    /// `message` gets each data message's bytes, valid for the call.
    public func run(
        stop: () -> Bool, connected: (WebSocketClient) -> Void, message: (UnsafeRawBufferPointer) -> Void
    ) -> End {
        var reconnect = Reconnect(maxAttempts: maxAttempts)
        var lastMessage = Clock.monotonicNs()
        if options.insecure { note("\(options.url): insecure=1: the server's certificate and name are NOT checked") }
        while !stop() {
            let ws: WebSocketClient
            var client = options.client
            if options.venue == .kalshi, let keyFile = options.keyFile {
                let id = options.keyIDEnv.flatMap { getenv($0) }.map { String(cString: $0) } ?? ""
                do {
                    client.headers = try KalshiAuth.headers(
                        keyID: id, keyFile: keyFile, path: options.path, timestampMs: hp_realtime_ns() / 1_000_000)
                } catch {
                    return .failed(.handshake(peer: "\(options.host):\(options.port)", reason: error.description))
                }
            }
            do { ws = try WebSocketClient(client) } catch {
                if !error.isTransient { return .failed(error) }
                if let end = backOff(error, &reconnect, stop, idleSince: lastMessage) { return end }
                continue
            }
            counts.connects += 1
            if counts.connects > 1 {
                note("\(options.url): connected again; the books are stale until their snapshots")
            }
            connected(ws)
            var lastBytes = Clock.monotonicNs()
            var framesSeen = 0
            var seenMessages = 0
            var silent = false
            var ending: End?
            receive: while true {
                switch ws.next() {
                case let .message(bytes, _):
                    message(bytes)
                    seenMessages += 1
                    if seenMessages & 63 == 0 {
                        lastBytes = Clock.monotonicNs()
                        lastMessage = lastBytes
                        if stop() { ending = .stopped; break receive }
                    }
                case .quiet:
                    let now = Clock.monotonicNs()
                    if seenMessages > 0 {
                        lastMessage = now
                        seenMessages = 0
                    }
                    if stop() { ending = .stopped; break receive }
                    if idleNs > 0 && now &- lastMessage >= idleNs { ending = .idle; break receive }
                    if ws.counts.frames != framesSeen {  // any frame since the last look, pings included
                        framesSeen = ws.counts.frames
                        lastBytes = now
                    }
                    if now &- lastBytes >= watchdogNs {
                        counts.watchdogTimeouts += 1
                        silent = true
                        ws.close()
                        break receive
                    }
                case .ended: break receive
                }
            }
            add(ws.counts)
            if let ending {
                ws.close()
                return ending
            }
            if ws.counts.messages > 0 { reconnect.succeeded() }
            let why =
                silent
                ? .silent(peer: ws.peer, seconds: Double(watchdogNs) / 1e9)
                : ws.failure
                    ?? .closed(
                        peer: ws.peer, code: 1006, reason: "")
            if let end = backOff(why, &reconnect, stop, idleSince: lastMessage) { return end }
        }
        return .stopped
    }

    /// The feed through `adapter`, for `book`, `decode` and the tests: each connection
    /// sends the adapter's opening messages (after a reconnect, every book is first made
    /// stale); what the adapter is owed after a message (a Kalshi gap's resubscription,
    /// Polygon's subscription after `auth_success`) goes out at once; every event goes to
    /// `emit`. A refused session (a wrong Polygon key) ends it.
    public func run(adapter: inout VenueAdapter, stop: () -> Bool, emit: (VenueEvent) -> Void) -> End {
        var key: String?
        if options.venue == .polygon {
            guard let k = getenv(options.keyEnv) else {
                return .failed(
                    .refused(
                        peer: "\(options.host):\(options.port)",
                        reason: "the environment variable \(options.keyEnv) (the Polygon API key) is not set"))
            }
            key = String(cString: k)
        }
        let opening = adapter.opening(channels: options.channels, key: key)
        var current: WebSocketClient?
        let end = run(
            stop: { stop() || adapter.refusal != nil },
            connected: { ws in
                current = ws
                if counts.connects > 1 { adapter.reconnected(emit: emit) }
                for line in opening { _ = ws.send(text: line) }
            },
            message: { bytes in
                adapter.take(bytes, emit: emit)
                if adapter.hasOutbox, let ws = current {
                    for line in adapter.outbox(channels: options.channels) { _ = ws.send(text: line) }
                }
            })
        if let reason = adapter.refusal {
            return .failed(.refused(peer: "\(options.host):\(options.port)", reason: reason))
        }
        return end
    }

    func add(_ c: WebSocketClient.Counts) {
        client.messages += c.messages
        client.frames += c.frames
        client.fragmented += c.fragmented
        client.pings += c.pings
        client.pongs += c.pongs
        client.oversized += c.oversized
        client.protocolErrors += c.protocolErrors
        client.invalidUTF8 += c.invalidUTF8
    }

    /// Waits before the next attempt (`Reconnect`), watching `stop` and the idle time-out
    /// (counted from `idleSince`, the last message); an `End` when it is over.
    func backOff(_ why: WebSocketError, _ reconnect: inout Reconnect, _ stop: () -> Bool, idleSince: UInt64) -> End? {
        let idle = { self.idleNs > 0 && Clock.monotonicNs() &- idleSince >= self.idleNs }
        switch reconnect.wait(after: why.description, stop: stop, idle: idle, said: note) {
        case .retry:
            counts.reconnects += 1
            return nil
        case .stopped: return .stopped
        case .idle: return .idle
        case .gaveUp: return .gaveUp(why, attempts: maxAttempts)
        }
    }
}
