import CSupport
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Replays a feed file held in memory into an SPSC ring of `Event`s: the feed thread's loop.
///
/// Each event is stamped with the TSC (`tsLocal`) at the moment its record was taken — before
/// decode — so the engine measures ring wait and tick-to-signal from it; the decode time goes
/// to the `decode` histogram when one is given. Pacing is either as fast as the ring accepts;
/// the recorded pace (receive-time deltas, exchange time where a record has no receive time,
/// divided by a speed factor; spun for short waits, slept for long ones); or a fixed rate,
/// open loop: event i is due at start + i / rate and is stamped with that due time, so when
/// the feed thread falls behind, its lateness shows as queueing instead of being hidden
/// (no coordinated omission). A full ring follows the ring's policy (spin, or drop and
/// count); nothing is lost silently.
public struct FileReplay: Sendable {
    public enum Pace: Sendable, Equatable {
        case max
        case recorded(speed: Double)
        case rate(eventsPerSecond: Double)
    }

    public struct Stats: Equatable, Sendable {
        public var records = 0
        public var events = 0
        public var pushed = 0
        /// Events the ring refused (drop policy).
        public var dropped = 0
        /// Records that yielded no event (other types, unknown, short).
        public var skipped = 0
        /// Events of instruments another shard serves (`[shard]`), not pushed.
        public var outsideShard = 0
        public var stoppedEarly = false
        /// What ended the feed early, if anything did.
        public var error: FeedFailure?
    }

    public let file: FeedFile
    public var pace: Pace = .max
    public var clock: Clock
    /// Replays the file this many times as one session: from the second loop on, event times
    /// continue from the loop before (`LoopTime`), and each loop starts with an event of kind
    /// `.restart`, on which the engine empties its books, since order ids come again.
    public var loops = 1
    /// Where decode times go (owned by the feed thread), if anywhere.
    public var decode: HistogramRecorder? = nil
    /// Measures the host's hiccups while a paced replay spins for its next event's due time.
    public var hiccups: HiccupMeter? = nil
    /// `[shard]`: only this shard's instruments are pushed.
    public var shard: ShardFilter? = nil
    /// Files replayed with `file` as one feed, merged by event time (`runMerged`; one loop).
    public var mergedWith: [FeedFile] = []
    /// Instruments whose price levels a DBN feed tracks (`DBNEvents`): the engine's books.
    public var instruments = 1024

    public init(file: FeedFile, clock: Clock) {
        self.file = file
        self.clock = clock
    }

    /// Runs on the calling (feed) thread until the file is done or `stop` becomes true.
    /// `position`, when given, receives how many of the replay's bytes (`file.byteCount` a
    /// loop) have been taken: every 4,096 records, and all of them at the end, for a progress
    /// line on another thread (one relaxed store).
    public func run(
        into producer: SPSCRing<Event>.Producer, stop: UnsafePointer<Atomic<Bool>>? = nil,
        position: UnsafePointer<Atomic<UInt64>>? = nil
    ) -> Stats {
        if !mergedWith.isEmpty { return runMerged(into: producer, stop: stop, position: position) }
        var stats = Stats()
        let fileBytes = UInt64(file.byteCount)
        var pacer = Pacer(pace: pace, clock: clock, hiccups: hiccups)
        var time = LoopTime()
        for loop in 0..<loops {
            time.loopStarts = loop > 0
            let done = UInt64(loop) &* fileBytes
            if loop > 0 {
                // Counted with the events (the ring's accounting stays exact), not stamped
                // (the stage histograms stay market data's).
                var restart = Event()
                restart.kind = .restart
                stats.events &+= 1
                if producer.push(restart) { stats.pushed &+= 1 } else { stats.dropped &+= 1 }
            }
            let end: WalkEnd
            switch file {
            case let .dbn(dbn):
                var events = DBNEvents(metadata: dbn.metadata, instruments: instruments)
                defer { events.deallocate() }
                var cursor = dbn.cursor()
                end = cursor.walk { c in
                    stats.records &+= 1
                    if let position, stats.records & 4095 == 0 {
                        position.pointee.store(done &+ UInt64(c.offset), ordering: .relaxed)
                    }
                    let taken = clock.ticks()
                    let n = events.decode(c.record, length: c.length)
                    if n == 0 { stats.skipped &+= 1; return true }
                    return emit(
                        events.slots, n, taken: taken, producer: producer, pacer: &pacer, time: &time, stats: &stats,
                        stop: stop)
                }
            case let .itch(itch):
                var reader: ITCHReader
                do { reader = try itch.reader() } catch {
                    stats.error = .input(error)
                    return stats
                }
                var events = ITCHEvents()
                defer { events.deallocate() }
                end = reader.walk { message in
                    stats.records &+= 1
                    if let position, stats.records & 4095 == 0 {
                        position.pointee.store(done &+ UInt64(message.offset), ordering: .relaxed)
                    }
                    let taken = clock.ticks()
                    let n = events.decode(message)
                    if n == 0 { stats.skipped &+= 1; return true }
                    return emit(
                        events.slots, n, taken: taken, producer: producer, pacer: &pacer, time: &time, stats: &stats,
                        stop: stop)
                }
            }
            if end == .stopped { return stats }
            if let error = end.error(file: file.path) {
                stats.error = .input(error)
                break
            }
        }
        if stats.error == nil { position?.pointee.store(UInt64(loops) &* fileBytes, ordering: .relaxed) }
        return stats
    }

    @inline(__always)
    func emit(
        _ events: UnsafeMutablePointer<Event>, _ n: Int, taken: UInt64, producer: SPSCRing<Event>.Producer,
        pacer: inout Pacer, time: inout LoopTime, stats: inout Stats, stop: UnsafePointer<Atomic<Bool>>?
    ) -> Bool {
        if let stop, stop.pointee.load(ordering: .relaxed) {
            stats.stoppedEarly = true
            return false
        }
        let decoded = clock.ticks()
        if let decode {
            decode.record(clock.nanoseconds(ticks: decoded &- taken))
            decode.poll()
        }
        hiccups?.recorder.poll()
        for i in 0..<n {
            time.apply(&events[i])
            if let shard, !shard.admits(events[i]) {
                stats.outsideShard &+= 1
                continue
            }
            if let due = pacer.wait(for: events[i]) {
                events[i].tsLocal = due
            } else if case .max = pace {
                events[i].tsLocal = taken
            } else {
                events[i].tsLocal = clock.ticks() &- (decoded &- taken)  // released now, as if just taken
            }
            stats.events &+= 1
            if producer.push(events[i]) { stats.pushed &+= 1 } else { stats.dropped &+= 1 }
        }
        return true
    }
}
