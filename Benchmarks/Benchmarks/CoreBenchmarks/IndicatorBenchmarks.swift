import Benchmark
import HotPath

/// One bar close for 64 instruments: 64 scalar EMAs against SIMD4 lanes (instrument per lane).
func indicatorBenchmarks() {
    let instruments = 64
    var x = [Double](repeating: 0, count: instruments)
    for i in 0..<instruments { x[i] = 100 + Double(i) / 10 }
    Benchmark(
        "EMA(12) bar close, 64 instruments, scalar",
        configuration: .init(metrics: [.wallClock, .throughput, .mallocCountTotal], scalingFactor: .kilo)
    ) { b in
        var emas = (0..<instruments).map { _ in EMA(period: 12) }
        var sink = 0.0
        b.startMeasurement()
        for _ in b.scaledIterations {
            for i in 0..<instruments { sink += emas[i].update(x[i]) }
        }
        b.stopMeasurement()
        blackHole(sink)
    }
    Benchmark(
        "EMA(12) bar close, 64 instruments, SIMD4 lanes",
        configuration: .init(metrics: [.wallClock, .throughput, .mallocCountTotal], scalingFactor: .kilo)
    ) { b in
        var lanes = EMALanes(period: 12, instruments: instruments)
        var out = [Double](repeating: 0, count: instruments)
        b.startMeasurement()
        x.withUnsafeBufferPointer { xb in
            out.withUnsafeMutableBufferPointer { ob in
                for _ in b.scaledIterations { lanes.update(xb.baseAddress!, into: ob.baseAddress!) }
            }
        }
        b.stopMeasurement()
        blackHole(out[0])
    }
}
