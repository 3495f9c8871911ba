import Benchmark
import CSupport
import HotPath

// Core primitives under package-benchmark. Fixtures (arenas, rings, threads' CPUs) are built
// outside the measured loops. Per-operation tails of the ring round trip come from
// `hotpath bench core`, which samples every round trip into HotPath's own histogram.

/// Rings and histograms are raw pointers into this arena, and counters into this registry's
/// blocks; neither keeps its owner alive, so both live as long as the process.
let arena = try! Arena(bytes: 64 << 20, cpu: PinnedThread.currentAffinity().cpus.last ?? 0)
let counters = CounterRegistry()

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        warmupIterations: 3,
        maxDuration: .seconds(2),
        maxIterations: 1_000
    )

    let cpus = PinnedThread.currentAffinity().cpus
    let producerCPU = cpus.first ?? 0, consumerCPU = cpus.last ?? 0
    let clock = Clock.calibrated()

    Benchmark("Clock.now (TSC)", configuration: .init(scalingFactor: .mega)) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(clock.now()) }
    }

    Benchmark("clock_gettime (reference)", configuration: .init(scalingFactor: .mega)) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(Clock.monotonicNs()) }
    }

    let histogram = try! LatencyHistogram(arena: arena)
    Benchmark("Histogram.record", configuration: .init(scalingFactor: .mega)) { benchmark in
        var x: UInt64 = 88172645463325252
        for _ in benchmark.scaledIterations {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            histogram.record(x & 0xFFFFF)
        }
    }

    // One-way throughput between the two pinned cores: 10^6 items per iteration.
    for batch in [1, 64] {
        let ring = try! SPSCRing<UInt64>(capacity: 4096, policy: .spin, arena: arena)
        Benchmark(
            "SPSCRing one-way, batch \(batch)",
            configuration: .init(metrics: [.wallClock, .throughput], scalingFactor: .mega, maxDuration: .seconds(3))
        ) { benchmark in
            let total = benchmark.scaledIterations.count
            let consumer = try! PinnedThread.start(name: "bm-consumer", cpu: consumerCPU) {
                let c = ring.consumer
                let buf = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: batch)
                defer { buf.deallocate() }
                var seen = 0
                while seen < total { seen &+= batch == 1 ? (c.pop() == nil ? 0 : 1) : c.pop(into: buf) }
            }
            let buf = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: batch)
            defer { buf.deallocate() }
            benchmark.startMeasurement()
            CoreBench.produce(total, batch: batch, into: ring.producer, scratch: buf)
            consumer.join()
            benchmark.stopMeasurement()
        }
    }

    // Round trip: ping through one ring, pong back through another, 10^3 per iteration.
    let ping = try! SPSCRing<UInt64>(capacity: 64, policy: .spin, arena: arena)
    let pong = try! SPSCRing<UInt64>(capacity: 64, policy: .spin, arena: arena)
    Benchmark("SPSCRing round trip", configuration: .init(metrics: [.wallClock], scalingFactor: .kilo)) { benchmark in
        let n = benchmark.scaledIterations.count
        let echo = try! PinnedThread.start(name: "bm-echo", cpu: consumerCPU) {
            let inbox = ping.consumer, outbox = pong.producer
            var k = 0
            while k < n { if let v = inbox.pop() { outbox.push(v); k &+= 1 } }
        }
        let outbox = ping.producer, inbox = pong.consumer
        benchmark.startMeasurement()
        for i in 0..<UInt64(n) {
            outbox.push(i)
            while inbox.pop() == nil { hp_cpu_relax() }
        }
        benchmark.stopMeasurement()
        echo.join()
    }

    feedBenchmarks(arena: arena)
    engineBenchmarks()
    indicatorBenchmarks()

    // Flat malloc counts: the same hot-path work at 10^3 and 10^6 operations; the thresholds
    // hold both to the same absolute count, so any per-operation allocation fails the run.
    let flatMalloc: [BenchmarkMetric: BenchmarkThresholds] = [
        .mallocCountTotal: .init(absolute: [.p100: 0])
    ]
    let flatRing = try! SPSCRing<UInt64>(capacity: 1024, policy: .drop, arena: arena)
    let flatHistogram = try! LatencyHistogram(arena: arena)
    let flatCounter = counters.makeGroup(thread: "bench", names: ["events"])[0]
    for (label, ops) in [("1e3", 1_000), ("1e6", 1_000_000)] {
        Benchmark(
            "Hot path mallocs, \(label) ops (ring push+pop, histogram, counter, clock)",
            configuration: .init(metrics: [.mallocCountTotal], maxIterations: 5, thresholds: flatMalloc)
        ) { _ in
            let p = flatRing.producer, c = flatRing.consumer
            for i in 0..<ops {
                let t0 = clock.ticks()
                p.push(UInt64(i))
                blackHole(c.pop())
                flatCounter.increment()
                flatHistogram.record(clock.nanoseconds(ticks: clock.ticks() &- t0))
            }
        }
    }
}
