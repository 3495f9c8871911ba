import CSupport

#if canImport(Glibc)
import Glibc
#endif

/// Databento Live over loopback: the emulator (`DatabentoServer`, its file sent `loops`
/// times in one session) on one pinned thread, HotPath's client (`DatabentoFeed`, the path
/// `decode`, `book` and `run` take) on another, decoding every record into an `Event`.
///
/// Measured, first record to last: records/s and MB/s. Per record, receive-to-Event: from
/// the return of the `recv` that completed the record to its `Event`, in TSC ticks. A read
/// brings many records, so a record's wait includes decoding those before it in its read,
/// as it does in the engine's feed thread.
public struct DatabentoBench {
    public var loops = 100
    public var serverCPU: Int?
    public var clientCPU: Int?
    /// Bytes asked of each `recv` (the feed's default).
    public var readSize = 1 << 16

    public struct Result: Sendable {
        public var records = 0
        public var bytes = 0
        public var seconds = 0.0
        public var receiveToEvent = LatencySummary()
        public var recordsPerSecond: Double { seconds > 0 ? Double(records) / seconds : 0 }
        public var megabytesPerSecond: Double { seconds > 0 ? Double(bytes) / seconds / 1e6 : 0 }

        public var json: String {
            "{\"records\":\(records),\"bytes\":\(bytes),\"seconds\":\(format("%.6f", seconds)),"
                + "\"records_per_s\":\(format("%.0f", recordsPerSecond)),"
                + "\"mb_per_s\":\(format("%.1f", megabytesPerSecond)),"
                + "\"receive_to_event\":\(JSONText.object(receiveToEvent.jsonFields()))}"
        }
    }

    public init() {}

    static let key = "db-hotpathbenchkey000000000BENCH"

    public func run(file: DBNFile) throws -> Result {
        var o = DatabentoServer.Options()
        o.key = Self.key
        o.sessions = 1
        o.loops = loops
        o.heartbeatSeconds = 0.2
        let server = try DatabentoServer(files: [file], options: o)
        let deadline = Clock.monotonicNs() + 600_000_000_000
        let serving = try PinnedThread.start(name: "hp-db-serve", cpu: serverCPU) {
            server.run(stop: { Clock.monotonicNs() > deadline })
        }
        defer { serving.join() }
        if let cpu = clientCPU { _ = hp_pin_thread(pthread_self(), Int32(cpu)) }
        guard let schema = DatabentoAuth.schemas.first(where: { $0.value == file.metadata.schema })?.key,
            case let .databento(options) = try SourceURL.parse(
                "databento://127.0.0.1:\(server.port)?dataset=\(file.metadata.dataset)&schema=\(schema)"
                    + "&symbols=ALL_SYMBOLS")
        else { throw FeedError(file: file.path, offset: 0, reason: "no Live schema for this file") }
        var perLoop = 0, bytesPerLoop = 0
        var c = file.cursor()
        _ = c.walk {
            perLoop += 1
            bytesPerLoop += $0.length
            return true
        }
        let expected = perLoop * max(loops, 1)
        let feed = try DatabentoFeed(options: options, key: Self.key)
        feed.readSize = readSize
        feed.windowBytes = max(4 * readSize, 1 << 20)
        feed.note = { _ in }
        let clock = Clock.calibrated()
        let arena = try Arena(bytes: 1 << 20, lock: false)
        let histogram = try LatencyHistogram(arena: arena)
        var decoder = DBNDecoder(metadata: file.metadata)
        var event = Event()
        var received: UInt64 = 0
        var first: UInt64 = 0, last: UInt64 = 0
        _ = feed.run(stop: { false }) { session, _ in
            var cursor = session.cursor()
            received = clock.ticks()
            return cursor.walk(
                refill: {
                    let more = feed.refill(session, &$0, stop: { false })
                    received = clock.ticks()
                    return more
                }
            ) { c in
                guard feed.admit(c) == .emit else { return true }
                _ = decoder.decode(c.record, length: c.length, into: &event)
                let now = clock.ticks()
                histogram.record(clock.nanoseconds(ticks: now &- received))
                if first == 0 { first = now }
                last = now
                return feed.counts.records < expected
            }
        }
        var snapshot = HistogramSnapshot()
        snapshot.add(histogram)
        var r = Result()
        r.records = feed.counts.records
        r.bytes = bytesPerLoop * r.records / max(perLoop, 1)
        r.seconds = Double(clock.nanoseconds(ticks: last &- first)) / 1e9
        r.receiveToEvent = LatencySummary(snapshot)
        withExtendedLifetime(arena) {}
        return r
    }
}
