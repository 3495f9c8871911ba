import Synchronization

/// The feed thread's loop for a Databento Live source, the counterpart of `LiveFeedRun`:
/// each record the feed admits is decoded into an event, stamped, and pushed.
///
/// Each session after the first starts with an event of kind `.resubscribed`: the engine
/// empties its books and marks them stale, so the risk gates suppress (and count, as
/// `stale_book`) every signal from a book until the stream clears it (`snapshot=1` on an MBO
/// schema starts with a clear). The feed's counters go to the report under `databento.`.
/// Histograms are handed over at every read and quiet slice (`DatabentoFeed.refill` looks at
/// `stop` there), so a quiet gateway does not hold up a snapshot.
public struct DatabentoFeedRun: @unchecked Sendable {
    public let feed: DatabentoFeed
    public var clock: Clock
    var decode: HistogramRecorder? = nil
    /// `[shard]`: only this shard's instruments are pushed.
    public var shard: ShardFilter? = nil
    /// Instruments whose price levels an MBP schema tracks (`DBNEvents`): the engine's books.
    public var instruments = 1024

    public init(feed: DatabentoFeed, clock: Clock) {
        self.feed = feed
        self.clock = clock
    }

    public func run(
        into producer: SPSCRing<Event>.Producer, stop: UnsafePointer<Atomic<Bool>>? = nil
    )
        -> FileReplay.Stats
    {
        var stats = FileReplay.Stats()
        let decode = self.decode
        let stopped = {
            decode?.poll()
            return stop?.pointee.load(ordering: .relaxed) ?? false
        }
        let end = feed.run(stop: stopped) { session, metadata in
            if feed.counts.sessions > 1 {
                var resubscribed = Event()
                resubscribed.kind = .resubscribed
                stats.events &+= 1
                if producer.push(resubscribed) { stats.pushed &+= 1 } else { stats.dropped &+= 1 }
            }
            // A new session's levels start empty, as the engine's books do on `.resubscribed`.
            var events = DBNEvents(metadata: metadata, instruments: instruments)
            defer { events.deallocate() }
            var cursor = session.cursor()
            return cursor.walk(refill: { feed.refill(session, &$0, stop: stopped) }) { c in
                guard feed.admit(c) == .emit else { return true }
                stats.records &+= 1
                let taken = clock.ticks()
                let n = events.decode(c.record, length: c.length)
                if n == 0 {
                    stats.skipped &+= 1
                    return true
                }
                decode?.record(clock.nanoseconds(ticks: clock.ticks() &- taken))
                for i in 0..<n {
                    var event = events.slots[i]
                    if let shard, !shard.admits(event) {
                        stats.outsideShard &+= 1
                        continue
                    }
                    event.tsLocal = taken
                    stats.events &+= 1
                    if producer.push(event) { stats.pushed &+= 1 } else { stats.dropped &+= 1 }
                }
                return true
            }
        }
        switch end {
        case .stopped: stats.stoppedEarly = stop?.pointee.load(ordering: .relaxed) ?? false
        case .idle: break
        case .failed, .gaveUp: stats.error = .gateway(source: feed.options.url, end)
        }
        return stats
    }
}
