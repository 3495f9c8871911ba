/// EMA state for many instruments at once, struct-of-arrays in SIMD4 lanes (lane = instrument):
/// when a bar closes on a time boundary every instrument updates together, and one vector
/// operation advances four of them. Same arithmetic per lane as `EMA` (SMA seed, then
/// ((x − prev)·k) + prev), so each lane equals the scalar indicator exactly.
/// Memory is allocated once for `instruments` (rounded up to a multiple of four).
/// Lanes win for simultaneous updates (BENCHMARKS.md, "Design measurements"); a single instrument's tick-level update
/// stays scalar.
public struct EMALanes: @unchecked Sendable {
    public let period: Int
    public let instruments: Int
    let k: SIMD4<Double>
    let values: UnsafeMutablePointer<SIMD4<Double>>
    let seeds: UnsafeMutablePointer<SIMD4<Double>>
    var seen = 0

    public init(period: Int, instruments: Int) {
        self.period = period
        self.instruments = instruments
        k = SIMD4(repeating: 2.0 / Double(period + 1))
        let groups = (instruments + 3) / 4
        values = .allocate(capacity: groups)
        values.initialize(repeating: SIMD4(repeating: .nan), count: groups)
        seeds = .allocate(capacity: groups)
        seeds.initialize(repeating: SIMD4(), count: groups)
    }

    /// Advances every instrument by one bar: `x[i]` is instrument i's close; `out[i]` receives
    /// its EMA (NaN during the lookback). Both hold `instruments` values.
    public mutating func update(_ x: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>) {
        seen += 1
        let groups = (instruments + 3) / 4
        let n = SIMD4(repeating: Double(period))
        for g in 0..<groups {
            var v = SIMD4<Double>()
            for lane in 0..<4 { v[lane] = 4 * g + lane < instruments ? x[4 * g + lane] : 0 }
            if seen < period {
                seeds[g] += v
                values[g] = SIMD4(repeating: .nan)
            } else if seen == period {
                seeds[g] += v
                values[g] = seeds[g] / n
            } else {
                values[g] = ((v - values[g]) * k) + values[g]
            }
            for lane in 0..<4 where 4 * g + lane < instruments { out[4 * g + lane] = values[g][lane] }
        }
    }
}
