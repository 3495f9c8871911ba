import CSupport

#if canImport(Glibc)
import Glibc
#endif

/// `hotpath bench core`: the core primitives measured in one process, so every figure sits
/// beside its reference from the same run (`clock_gettime` for the clock; the unbatched ring
/// for the batched one). Per-operation tails come from per-operation samples recorded into
/// the engine's own histogram, not from averages.
public struct CoreBench {
    public struct Result: Sendable {
        public var clock: Clock
        public var producerCPU: Int, consumerCPU: Int
        public var tscReadNs: Double
        public var clockNowNs: Double
        public var clockGettimeNs: Double
        public var histogramRecordNs: Double
        public var ringItems: Int
        public var ringUnbatchedItemsPerSecond: Double
        public var ringBatchedItemsPerSecond: Double
        public var ringBatch: Int
        public var roundTrip: LatencySummary
        public var notes: [String]
    }

    public var items = 20_000_000
    public var batch = 64
    public var roundTrips = 200_000
    public var capacity = 4096

    public init() {}

    public func run() throws -> Result {
        let clock = Clock.calibrated()
        let cpus = PinnedThread.currentAffinity().cpus
        var notes: [String] = []
        let producerCPU = cpus.first ?? 0, consumerCPU = cpus.last ?? 0
        if producerCPU == consumerCPU {
            notes.append("only one CPU allowed: both ring threads share cpu \(producerCPU)")
        }

        let loops = 10_000_000
        let tsc = Self.timePerOp(loops) {
            var s: UInt64 = 0; for _ in 0..<loops { s &+= hp_rdtsc() }; return s
        }
        let now = Self.timePerOp(loops) {
            var s: UInt64 = 0; for _ in 0..<loops { s &+= clock.now() }; return s
        }
        let gettime = Self.timePerOp(loops) {
            var s: UInt64 = 0; for _ in 0..<loops { s &+= Clock.monotonicNs() }; return s
        }

        let arena = try Arena(bytes: 8 << 20, cpu: consumerCPU)
        defer { withExtendedLifetime(arena) {} }  // what is carved from it holds raw pointers

        defer { withExtendedLifetime(arena) {} }  // rings, books and histograms point into it
        notes += arena.notes
        let histogram = try LatencyHistogram(arena: arena)
        let record = Self.timePerOp(loops) {
            var x: UInt64 = 88172645463325252
            for _ in 0..<loops {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17  // xorshift: values across the whole range
                histogram.record(x & 0xFFFFF)
            }
            return x
        }

        let unbatched = try oneWay(batch: 1, producerCPU: producerCPU, consumerCPU: consumerCPU, arena: arena)
        let batched = try oneWay(batch: batch, producerCPU: producerCPU, consumerCPU: consumerCPU, arena: arena)
        let rtt = try roundTrip(clock: clock, producerCPU: producerCPU, consumerCPU: consumerCPU, arena: arena)

        return Result(
            clock: clock, producerCPU: producerCPU, consumerCPU: consumerCPU, tscReadNs: tsc,
            clockNowNs: now, clockGettimeNs: gettime, histogramRecordNs: record, ringItems: items,
            ringUnbatchedItemsPerSecond: unbatched, ringBatchedItemsPerSecond: batched, ringBatch: batch,
            roundTrip: rtt.summary, notes: notes)
    }

    /// Nanoseconds per iteration of a loop of `n`, best of three.
    static func timePerOp(_ n: Int, _ body: () -> UInt64) -> Double {
        var best = Double.infinity
        for _ in 0..<3 {
            let t0 = Clock.monotonicNs()
            let sink = body()
            let t1 = Clock.monotonicNs()
            hp_black_hole(sink)
            best = min(best, Double(t1 - t0) / Double(n))
        }
        return best
    }

    /// Items per second from a pinned producer to a pinned consumer, pushing and popping in
    /// batches of `batch` (1 = the single-item calls).
    func oneWay(batch: Int, producerCPU: Int, consumerCPU: Int, arena: Arena) throws -> Double {
        let ring = try SPSCRing<UInt64>(capacity: capacity, policy: .spin, arena: arena)
        let total = items
        let done = TimeBox()
        let consumer = try PinnedThread.start(name: "bench-consumer", cpu: consumerCPU) {
            let c = ring.consumer
            var seen = 0
            var sum: UInt64 = 0
            let buf = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: batch)
            defer { buf.deallocate() }
            while seen < total {
                if batch == 1 {
                    if let v = c.pop() { sum &+= v; seen &+= 1 }
                } else {
                    let n = c.pop(into: buf)
                    for i in 0..<n { sum &+= buf[i] }
                    seen &+= n
                }
            }
            done.end = Clock.monotonicNs()
            done.sink = sum
        }
        let producer = try PinnedThread.start(name: "bench-producer", cpu: producerCPU) {
            let buf = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: batch)
            defer { buf.deallocate() }
            done.start = Clock.monotonicNs()
            CoreBench.produce(total, batch: batch, into: ring.producer, scratch: buf)
        }
        producer.join()
        consumer.join()
        return Double(total) / (Double(done.end - done.start) / 1e9)
    }

    /// Pushes the sequence 0..<total, one item at a time (`batch` 1) or in batches of `batch`
    /// staged in `scratch` (which holds at least `batch`): the producer side of the one-way
    /// benchmarks, here and in the package-benchmark suite.
    public static func produce(
        _ total: Int, batch: Int, into p: SPSCRing<UInt64>.Producer,
        scratch buf: UnsafeMutableBufferPointer<UInt64>
    ) {
        var i = 0
        while i < total {
            if batch == 1 {
                p.push(UInt64(i)); i &+= 1
            } else {
                let n = min(batch, total - i)
                for k in 0..<n { buf[k] = UInt64(i &+ k) }
                p.push(contentsOf: UnsafeBufferPointer(rebasing: buf[0..<n]))
                i &+= n
            }
        }
    }

    /// Ping-pong through two rings between the two pinned threads; every round trip is one
    /// sample, timed by the TSC clock on the initiating side.
    func roundTrip(clock: Clock, producerCPU: Int, consumerCPU: Int, arena: Arena) throws -> HistogramSnapshot {
        let ping = try SPSCRing<UInt64>(capacity: 64, policy: .spin, arena: arena)
        let pong = try SPSCRing<UInt64>(capacity: 64, policy: .spin, arena: arena)
        let histogram = try LatencyHistogram(arena: arena)
        let n = roundTrips
        let echo = try PinnedThread.start(name: "bench-echo", cpu: consumerCPU) {
            let inbox = ping.consumer, outbox = pong.producer
            var k = 0
            while k < n {
                if let v = inbox.pop() { outbox.push(v); k &+= 1 }
            }
        }
        let initiator = try PinnedThread.start(name: "bench-ping", cpu: producerCPU) {
            let outbox = ping.producer, inbox = pong.consumer
            for i in 0..<UInt64(n) {
                let t0 = clock.ticks()
                outbox.push(i)
                while inbox.pop() == nil { hp_cpu_relax() }
                histogram.record(clock.nanoseconds(ticks: clock.ticks() &- t0))
            }
        }
        initiator.join()
        echo.join()
        var snapshot = HistogramSnapshot()
        snapshot.add(histogram)
        return snapshot
    }
}

/// Start/end stamps written by bench threads and read after `join` (which orders them).
final class TimeBox: @unchecked Sendable {
    var start: UInt64 = 0
    var end: UInt64 = 0
    var sink: UInt64 = 0
}

extension CoreBench.Result {
    public var json: String {
        let rt = roundTrip
        return JSONText.object([
            ("clock", JSONText.quote(clock.description)),
            ("clock_source", JSONText.quote(clock.source.rawValue)),
            ("tsc_hz", format("%.0f", clock.ticksPerSecond)),
            ("cpus", "[\(producerCPU),\(consumerCPU)]"),
            ("rdtsc_ns", format("%.2f", tscReadNs)),
            ("clock_now_ns", format("%.2f", clockNowNs)),
            ("clock_gettime_ns", format("%.2f", clockGettimeNs)),
            ("histogram_record_ns", format("%.2f", histogramRecordNs)),
            ("ring_items", "\(ringItems)"),
            ("ring_one_way_items_per_s", format("%.0f", ringUnbatchedItemsPerSecond)),
            ("ring_batched_items_per_s", format("%.0f", ringBatchedItemsPerSecond)),
            ("ring_batch", "\(ringBatch)"),
            ("ring_round_trip", JSONText.object(rt.jsonFields([.p50, .p90, .p99, .p999, .max]))),
            ("notes", "[" + notes.map(JSONText.quote).joined(separator: ",") + "]"),
        ])
    }

    public var text: String {
        let rt = roundTrip
        var out = "HotPath core self-benchmark (threads on cpu \(producerCPU) → cpu \(consumerCPU))\n"
        out += "clock:               \(clock)\n"
        out += format(
            "clock read:          rdtsc %.2f ns, Clock.now() %.2f ns, clock_gettime %.2f ns (%.1fx)\n",
            tscReadNs, clockNowNs, clockGettimeNs, clockGettimeNs / clockNowNs)
        out += format("histogram record:    %.2f ns\n", histogramRecordNs)
        out += format(
            "ring one-way:        %.1f M items/s single push/pop, %.1f M items/s in batches of %d (%.1fx)\n",
            ringUnbatchedItemsPerSecond / 1e6, ringBatchedItemsPerSecond / 1e6, ringBatch,
            ringBatchedItemsPerSecond / ringUnbatchedItemsPerSecond)
        out +=
            "ring round trip:     p50 \(rt.p50) ns, p90 \(rt.p90) ns, p99 \(rt.p99) ns, p99.9 \(rt.p999) ns, max \(rt.max) ns over \(rt.count)\n"
        for note in notes { out += "note: \(note)\n" }
        return out
    }
}
