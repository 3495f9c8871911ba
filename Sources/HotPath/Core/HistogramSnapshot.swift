#if canImport(Glibc)
import Glibc
#endif

/// A cold-thread copy of latency counts: merging, percentiles and the two output forms
/// (HdrHistogram's plain-text percentile distribution, and JSON). It allocates freely.
public struct HistogramSnapshot: Sendable, Equatable {
    public private(set) var counts: [UInt64]
    public private(set) var totalCount: UInt64 = 0
    public private(set) var clamped: UInt64 = 0

    public init() { counts = [UInt64](repeating: 0, count: HistogramLayout.countsLength) }

    /// Adds another thread's counts into this snapshot.
    public mutating func add(_ h: LatencyHistogram) {
        counts.withUnsafeMutableBufferPointer { dst in
            for i in 0..<HistogramLayout.countsLength {
                let c = h.counts[i]
                dst[i] &+= c
                totalCount &+= c
            }
        }
        clamped &+= h.clamped
    }

    /// Records directly (tests and cold-side tools).
    public mutating func record(_ ns: UInt64, count: UInt64 = 1) {
        var v = ns
        if v > HistogramLayout.highestValue {
            v = HistogramLayout.highestValue
            clamped &+= count
        }
        counts[HistogramLayout.index(of: v)] &+= count
        totalCount &+= count
    }

    public mutating func add(_ other: HistogramSnapshot) {
        for i in 0..<counts.count { counts[i] &+= other.counts[i] }
        totalCount &+= other.totalCount
        clamped &+= other.clamped
    }

    /// HdrHistogram's definition: the highest equivalent value of the first index at which
    /// the cumulative count reaches round(p/100 · total) (at least 1); percentile 0 gives the
    /// lowest equivalent value. 0 when empty.
    public func value(atPercentile p: Double) -> UInt64 {
        if totalCount == 0 { return 0 }
        let pct = min(max(p, 0), 100)
        let target = max(1, UInt64((pct / 100 * Double(totalCount)) + 0.5))
        var running: UInt64 = 0
        for i in 0..<counts.count {
            running &+= counts[i]
            if running >= target {
                let v = HistogramLayout.value(atIndex: i)
                return pct == 0 ? HistogramLayout.lowestEquivalent(v) : HistogramLayout.highestEquivalent(v)
            }
        }
        return 0
    }

    /// Highest equivalent value of the highest recorded value; 0 when empty.
    public var maxValue: UInt64 {
        guard let i = counts.lastIndex(where: { $0 != 0 }) else { return 0 }
        return HistogramLayout.highestEquivalent(HistogramLayout.value(atIndex: i))
    }

    /// Lowest equivalent value of the lowest recorded value; 0 when empty.
    public var minValue: UInt64 {
        guard let i = counts.firstIndex(where: { $0 != 0 }) else { return 0 }
        return HistogramLayout.lowestEquivalent(HistogramLayout.value(atIndex: i))
    }

    /// Mean and standard deviation over the median equivalent value of each bucket, as
    /// HdrHistogram computes them.
    public var meanAndStdDev: (mean: Double, stdDev: Double) {
        if totalCount == 0 { return (0, 0) }
        var sum = 0.0
        for i in 0..<counts.count where counts[i] != 0 {
            sum += Double(HistogramLayout.medianEquivalent(HistogramLayout.value(atIndex: i))) * Double(counts[i])
        }
        let mean = sum / Double(totalCount)
        var sq = 0.0
        for i in 0..<counts.count where counts[i] != 0 {
            let d = Double(HistogramLayout.medianEquivalent(HistogramLayout.value(atIndex: i))) - mean
            sq += d * d * Double(counts[i])
        }
        return (mean, (sq / Double(totalCount)).squareRoot())
    }

    /// Mean of the lowest `p` percent of the recorded values (each at its bucket's median
    /// equivalent), so a few interrupted calls do not move it. Where the clock ticks
    /// coarsely (this host's TSC advances in ~10 ns steps) the per-call values are
    /// quantised, and this mean resolves differences the percentiles cannot.
    public func mean(upToPercentile p: Double) -> Double {
        let keep = UInt64((min(max(p, 0), 100) / 100 * Double(totalCount)).rounded())
        if keep == 0 { return 0 }
        var sum = 0.0, taken: UInt64 = 0
        for i in 0..<counts.count where counts[i] != 0 {
            let n = min(counts[i], keep - taken)
            sum += Double(HistogramLayout.medianEquivalent(HistogramLayout.value(atIndex: i))) * Double(n)
            taken += n
            if taken == keep { break }
        }
        return sum / Double(keep)
    }

    /// The named percentiles, min, mean and clamped count.
    public var summary: LatencySummary { LatencySummary(self) }

    /// `{"count":…,"min_ns":…,"p50_ns":…,…,"max_ns":…,"mean_ns":…,"clamped":…}`.
    public var json: String {
        let s = summary
        var fields = s.jsonFields()
        fields.insert(("min_ns", "\(s.min)"), at: 1)
        return JSONText.object(fields + [("mean_ns", format("%.1f", s.mean)), ("clamped", "\(s.clamped)")])
    }

    /// HdrHistogram's `outputPercentileDistribution` text: rows of value, percentile, total
    /// count and 1/(1−percentile), stepping `ticksPerHalfDistance` rows per halving of the
    /// distance to 100%, then the mean/max/bucket footer. `scale` divides values (1000 prints
    /// microseconds for nanosecond data).
    public func percentileDistribution(ticksPerHalfDistance: Int = 5, scale: Double = 1) -> String {
        var out = "       Value     Percentile TotalCount 1/(1-Percentile)\n\n"
        if totalCount > 0 {
            var level = 0.0
            var running: UInt64 = 0
            let total = Double(totalCount)
            var lastRowDone = false
            for i in 0..<counts.count where counts[i] != 0 {
                running &+= counts[i]
                let value = Double(HistogramLayout.highestEquivalent(HistogramLayout.value(atIndex: i))) / scale
                // Emit one row per reporting level reached at this value (HdrHistogram's
                // percentile iterator repeats a value for every level it passes).
                while 100 * Double(running) / total >= level {
                    if running == totalCount {
                        out += format("%12.3f %2.12f %10llu\n", value, 1.0, running)
                        lastRowDone = true
                        break
                    }
                    let fraction = level / 100
                    out += format("%12.3f %2.12f %10llu %14.2f\n", value, fraction, running, 1 / (1 - fraction))
                    let halvings = Int(log2(100 / (100 - level)).rounded(.down)) + 1
                    let ticks = Double(ticksPerHalfDistance) * pow(2, Double(halvings))
                    level += 100 / ticks
                }
                if lastRowDone { break }
            }
        }
        let (mean, sd) = meanAndStdDev
        out += format("#[Mean    = %12.3f, StdDeviation   = %12.3f]\n", mean / scale, sd / scale)
        out += format("#[Max     = %12.3f, Total count    = %12llu]\n", Double(maxValue) / scale, totalCount)
        out += format(
            "#[Buckets = %12d, SubBuckets     = %12d]\n", HistogramLayout.bucketCount, HistogramLayout.subBucketCount)
        return out
    }
}

/// printf-style formatting for the cold path (reports), through vsnprintf. Output longer
/// than 1 KiB is cut; every caller formats a few numbers.
public func format(_ spec: String, _ args: any CVarArg...) -> String {
    withVaList(args) { va in
        var buf = [UInt8](repeating: 0, count: 1024)
        let n = buf.withUnsafeMutableBufferPointer { p in
            p.baseAddress!.withMemoryRebound(to: CChar.self, capacity: p.count) {
                Int(vsnprintf($0, p.count, spec, va))
            }
        }
        return String(decoding: buf.prefix(Swift.max(0, Swift.min(n, buf.count - 1))), as: UTF8.self)
    }
}
