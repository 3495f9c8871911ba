import CSupport
import Synchronization

/// The feed thread's loop for a live MoldUDP64 source, the live counterpart of `FileReplay`:
/// poll the socket, decode each in-order message into events, stamp them, push them.
///
/// Each event's `tsRecv` is the kernel's receive stamp of its packet; `wire` records, once a
/// packet, how long it took from that stamp to decode start. While a hole is open nothing
/// is delivered (the session holds what came after it). Once messages have been given up,
/// `onLoss` decides: `.stale` marks every later event with the gap flag, so the risk gates
/// suppress (and count, as `sequence_gap`) every signal from then on; `.stop` ends the feed
/// with an error that names the loss.
public struct LiveFeedRun: @unchecked Sendable {
    public let feed: MoldUDP64Feed
    public var clock: Clock
    public var onLoss = EngineConfig.OnLoss.stale
    /// Stop when nothing has arrived for this long (0: only at end of session or on stop).
    public var idleNs: UInt64 = 0
    var decode: HistogramRecorder? = nil
    var wire: HistogramRecorder? = nil
    var hiccups: HiccupMeter? = nil
    /// `[shard]`: only this shard's instruments are pushed.
    public var shard: ShardFilter? = nil

    public init(feed: MoldUDP64Feed, clock: Clock) {
        self.feed = feed
        self.clock = clock
    }

    public func run(
        into producer: SPSCRing<Event>.Producer, stop: UnsafePointer<Atomic<Bool>>? = nil
    ) -> FileReplay.Stats {
        var stats = FileReplay.Stats()
        do { try feed.start() } catch {
            stats.error = .system(error)
            return stats
        }
        var events = ITCHEvents()
        defer { events.deallocate() }
        var lastRx: UInt64 = 0
        var lostSeen = 0
        var gapFlag: UInt8 = 0
        var lastPacketNs = Clock.monotonicNs()
        while true {
            let now = Clock.monotonicNs()
            let n = feed.poll(nowNs: now) { m in
                let taken = clock.ticks()
                stats.records &+= 1
                if m.captureNs != lastRx {
                    lastRx = m.captureNs
                    let real = hp_realtime_ns()
                    if real > m.captureNs { wire?.record(real &- m.captureNs) }
                }
                let k = events.decode(m)
                if k == 0 { stats.skipped &+= 1; return }
                let decoded = clock.ticks()
                decode?.record(clock.nanoseconds(ticks: decoded &- taken))
                for i in 0..<k {
                    if let shard, !shard.admits(events.slots[i]) {
                        stats.outsideShard &+= 1
                        continue
                    }
                    events.slots[i].tsLocal = taken
                    events.slots[i].flags |= gapFlag
                    stats.events &+= 1
                    if producer.push(events.slots[i]) { stats.pushed &+= 1 } else { stats.dropped &+= 1 }
                }
            }
            if n < 0 {
                stats.error = .system(SystemError(feed.options.url, call: "receive", errno: Int32(-n)))
                return stats
            }
            let lost = feed.session.counts.messagesLost
            if _slowPath(lost != lostSeen) {
                lostSeen = lost
                if onLoss == .stop {
                    stats.error = .loss(source: feed.options.url, messages: lost)
                    return stats
                }
                gapFlag = RiskGates.gapFlag
            }
            if feed.session.finished { return stats }
            decode?.poll()
            wire?.poll()
            if n > 0 {
                lastPacketNs = now
                hiccups?.busy()
            } else {
                hiccups?.spin(at: clock.ticks())
                hiccups?.recorder.poll()
                if let stop, stop.pointee.load(ordering: .relaxed) {
                    stats.stoppedEarly = true
                    return stats
                }
                if idleNs > 0 && now &- lastPacketNs >= idleNs { return stats }
            }
        }
    }
}
