import Benchmark
import HotPath

/// The engine thread's per-event work (`EngineCore.process`: book → features → models →
/// signal → gates) with the bundled demo configuration, over the demo market decoded up front;
/// malloc counts at 10^3 and 10^5 events (threshold: absolute 0).
func engineBenchmarks() {
    let root = "/" + #filePath.split(separator: "/").dropLast(4).joined(separator: "/")
    guard var config = try? EngineConfig.load(path: root + "/demo/config.toml") else {
        print("EngineBenchmarks: demo/config.toml did not load: engine benchmarks skipped")
        return
    }
    config.signalRingPolicy = .drop  // nobody drains the signal ring here: full is counted
    guard let engine = try? Engine(config: config) else { print("EngineBenchmarks: engine start-up failed"); return }
    var events: [Event] = []
    let bytes = ITCHGenerator.demoSession.generate(messages: 200_000)
    bytes.withUnsafeBytes { raw in
        var reader = try! ITCHReader(bytes: raw, format: .binary)
        var decoder = ITCHDecoder()
        var message = ITCHReader.Message(pointer: raw.baseAddress!, length: 0, sequence: 0, captureNs: 0, offset: 0)
        let out = UnsafeMutablePointer<Event>.allocate(capacity: 2)
        defer { out.deallocate() }
        while reader.next(&message) == .message {
            let n = decoder.decode(message, into: out)
            for i in 0..<n { events.append(out[i]) }
        }
    }
    let all = events
    var next = 0
    /// `n` events in order, wrapping to the start with a cleared book.
    func process(_ n: Int) {
        all.withUnsafeBufferPointer { e in
            for _ in 0..<n {
                if next == e.count { next = 0; engine.core.book.clearAll() }
                engine.core.process(e[next])
                next &+= 1
            }
        }
    }
    Benchmark(
        "Engine per event (demo configuration)",
        configuration: .init(metrics: [.wallClock, .throughput], scalingFactor: .kilo)
    ) { b in
        process(b.scaledIterations.count)
    }
    let flatMalloc: [BenchmarkMetric: BenchmarkThresholds] = [.mallocCountTotal: .init(absolute: [.p100: 0])]
    for (label, n) in [("1e3", 1_000), ("1e5", 100_000)] {
        Benchmark(
            "Engine mallocs, \(label) events (book + features + models + signal)",
            configuration: .init(metrics: [.mallocCountTotal], maxIterations: 5, thresholds: flatMalloc)
        ) { _ in
            process(n)
        }
    }
}
