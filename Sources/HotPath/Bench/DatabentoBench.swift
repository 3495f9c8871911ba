import CSupport

#if canImport(Glibc)
import Glibc
#endif

/// Databento Live over loopback: the emulator (`DatabentoServer`, its file sent `loops`
/// times in one session) on one pinned thread, HotPath's client (`DatabentoFeed`, the path
/// `decode`, `book` and `run` take) on another, decoding every record into an `Event`.
///
/// Two sessions, one after the other. The first measures throughput, first record to last:
/// records/s and MB/s, with no clock read per record. The second measures, per record,
/// receive-to-Event: from the return of the `recv` that completed the record to its
/// `Event`, in TSC ticks (two clock reads and a histogram record per record, which the
/// first session leaves out). A read brings many records, so a record's wait includes
/// decoding those before it in its read, as it does in the engine's feed thread.
public struct DatabentoBench {
    public var loops = 100
    public var serverCPU: Int?
    public var clientCPU: Int?
    /// Bytes asked of each `recv` (the feed's default).
    public var readSize = 16 << 10

    public struct Result: Sendable {
        public var records = 0
        public var bytes = 0
        public var seconds = 0.0
        public var receiveToEvent = LatencySummary()
        /// A sum over the decoded events (it keeps the decode from being optimised away).
        public var checksum: UInt64 = 0
        public var recordsPerSecond: Double { seconds > 0 ? Double(records) / seconds : 0 }
        public var megabytesPerSecond: Double { seconds > 0 ? Double(bytes) / seconds / 1e6 : 0 }

        public var json: String {
            "{\"records\":\(records),\"bytes\":\(bytes),\"seconds\":\(format("%.6f", seconds)),"
                + "\"records_per_s\":\(format("%.0f", recordsPerSecond)),"
                + "\"mb_per_s\":\(format("%.1f", megabytesPerSecond)),\"checksum\":\(checksum),"
                + "\"receive_to_event\":\(JSONText.object(receiveToEvent.jsonFields()))}"
        }
    }

    public init() {}

    static let key = "db-hotpathbenchkey000000000BENCH"

    public func run(file: DBNFile) throws -> Result {
        var o = DatabentoServer.Options()
        o.key = Self.key
        o.sessions = 2
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
        // Throughput: one session, timed first record to last.
        var first: UInt64 = 0, last: UInt64 = 0
        var checksum: UInt64 = 0  // every event is used, so none of the decode can be left out
        _ = feed.run(stop: { false }) { session, _ in
            var cursor = session.cursor()
            let end = cursor.walk(refill: { feed.refill(session, &$0, stop: { false }) }) { c in
                guard feed.admit(c) == .emit else { return true }
                if _slowPath(first == 0) { first = clock.ticks() }
                _ = decoder.decode(c.record, length: c.length, into: &event)
                checksum &+= UInt64(bitPattern: event.price) &+ event.orderId &+ UInt64(event.size)
                return feed.counts.records < expected
            }
            last = clock.ticks()
            return end
        }
        let records = feed.counts.records
        // Latency: a second session, each record stamped.
        var received: UInt64 = 0
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
                histogram.record(clock.nanoseconds(ticks: clock.ticks() &- received))
                return feed.counts.records < records + expected
            }
        }
        var snapshot = HistogramSnapshot()
        snapshot.add(histogram)
        var r = Result()
        r.records = records
        r.checksum = checksum
        r.bytes = bytesPerLoop * records / max(perLoop, 1)
        r.seconds = Double(clock.nanoseconds(ticks: last &- first)) / 1e9
        r.receiveToEvent = LatencySummary(snapshot)
        withExtendedLifetime(arena) {}
        return r
    }
}
