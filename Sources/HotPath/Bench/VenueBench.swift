#if canImport(Glibc)
import Glibc
#endif

/// `hotpath bench venue`: how fast a venue's messages become `VenueEvent`s.
///
/// `throughput` runs a session's messages, held in memory, through the venue's adapter
/// `loops` times (a fresh adapter per loop, made outside the timing) and sums every event
/// into `checksum`. tools/bench/venue_simdjson.cpp does the same work with simdjson
/// On-Demand (the same fields, the same exact decimals, the same checksum), so the two
/// rates compare equal work: equal checksums show it.
///
/// `latency` reads a live `wss://` feed (the test peer, over loopback) and takes, per
/// message, receive-to-Event: from the return of the TLS read that completed the message
/// to the last of its events, in TSC ticks. A read brings many messages, so a message's
/// time includes the work on those before it in its read, as on a feed thread.
public enum VenueBench {
    public struct Result: Sendable {
        public var venue = ""
        public var messages = 0
        public var seconds = 0.0
        public var checksum: UInt64 = 0
        public var receiveToEvent: LatencySummary?
        public var tls: String?
        public var messagesPerSecond: Double { seconds > 0 ? Double(messages) / seconds : 0 }

        public var json: String {
            var fields = [
                ("venue", "\"\(venue)\""), ("messages", "\(messages)"), ("seconds", format("%.6f", seconds)),
                ("messages_per_second", format("%.0f", messagesPerSecond)), ("checksum", "\(checksum)"),
            ]
            if let tls { fields.append(("tls", "\"\(tls)\"")) }
            if let l = receiveToEvent { fields.append(("receive_to_event", JSONText.object(l.jsonFields()))) }
            return JSONText.object(fields)
        }
    }

    /// The sum tools/bench/venue_simdjson.cpp computes over the same events.
    @inline(__always)
    public static func checksum(_ e: VenueEvent) -> UInt64 {
        UInt64(e.kind.rawValue) &* 7 &+ UInt64(bitPattern: Int64(e.market)) &* 11 &+ UInt64(e.side.rawValue) &* 13
            &+ UInt64(bitPattern: e.price) &* 3 &+ UInt64(bitPattern: e.size) &* 5 &+ UInt64(bitPattern: e.sequence)
    }

    public static func throughput(_ options: VenueOptions, messages: [String], loops: Int) -> Result {
        // One buffer, each message's span noted: nothing is copied while timed.
        var bytes: [UInt8] = []
        var spans: [(Int, Int)] = []
        for m in messages where !m.isEmpty {
            spans.append((bytes.count, m.utf8.count))
            bytes += m.utf8
        }
        var r = Result()
        r.venue = options.venue.rawValue
        var ns: UInt64 = 0
        bytes.withUnsafeBytes { all in
            for _ in 0..<loops {
                var adapter = VenueAdapter(options)
                var sum: UInt64 = 0
                let start = Clock.monotonicNs()
                for (at, n) in spans {
                    adapter.take(UnsafeRawBufferPointer(rebasing: all[at..<at + n])) { sum &+= checksum($0) }
                }
                ns &+= Clock.monotonicNs() &- start
                r.checksum &+= sum
            }
        }
        r.messages = spans.count * loops
        r.seconds = Double(ns) / 1e9
        return r
    }

    /// Reads `options`' feed until `messages` have come (or 60 s pass), taking each one's
    /// receive-to-Event time.
    public static func latency(_ options: VenueOptions, messages: Int) throws -> Result {
        let clock = Clock.calibrated()
        let arena = try Arena(bytes: 1 << 20, lock: false)
        let histogram = try LatencyHistogram(arena: arena)
        let ws = try WebSocketClient(options.client)
        ws.readClock = clock
        var adapter = VenueAdapter(options)
        let key = options.venue == .polygon ? getenv(options.keyEnv).map { String(cString: $0) } : nil
        for line in adapter.opening(channels: options.channels, key: key) { _ = ws.send(text: line) }
        var r = Result()
        r.venue = options.venue.rawValue
        r.tls = ws.tlsVersion
        let deadline = Clock.monotonicNs() + 60_000_000_000
        var first: UInt64 = 0, last: UInt64 = 0
        loop: while r.messages < messages && Clock.monotonicNs() < deadline {
            switch ws.next() {
            case let .message(bytes, _):
                adapter.take(bytes, emit: { r.checksum &+= checksum($0) })
                if adapter.hasOutbox {
                    for line in adapter.outbox(channels: options.channels) { _ = ws.send(text: line) }
                }
                last = clock.ticks()
                if first == 0 { first = ws.lastRead }
                histogram.record(clock.nanoseconds(ticks: last &- ws.lastRead))
                r.messages += 1
            case .quiet: continue
            case .ended: break loop
            }
        }
        ws.close()
        var snapshot = HistogramSnapshot()
        snapshot.add(histogram)
        r.receiveToEvent = LatencySummary(snapshot)
        r.seconds = Double(clock.nanoseconds(ticks: last &- first)) / 1e9
        withExtendedLifetime(arena) {}
        return r
    }
}
