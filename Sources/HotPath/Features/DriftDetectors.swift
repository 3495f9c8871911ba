#if canImport(Glibc)
import Glibc
#endif

/// A detector of change in a stream of values, fed one at a time.
public protocol DriftDetector {
    /// Adds one value; true when it completes a drift.
    mutating func update(_ x: Double) -> Bool
}

/// Either detector, as configuration chooses it (a value: no existential on the hot path).
public enum AnyDriftDetector: DriftDetector, Sendable {
    case adwin(ADWIN)
    case pageHinkley(PageHinkley)

    public mutating func update(_ x: Double) -> Bool {
        switch self {
        case var .adwin(d):
            let hit = d.update(x)
            self = .adwin(d)
            return hit
        case var .pageHinkley(d):
            let hit = d.update(x)
            self = .pageHinkley(d)
            return hit
        }
    }

    /// A new detector with these parameters and none of this one's state or memory (copies of
    /// an ADWIN share its buckets). Cold path.
    public func fresh() -> AnyDriftDetector {
        switch self {
        case let .adwin(d):
            .adwin(
                ADWIN(
                    delta: d.delta, clock: d.clock, maxBuckets: d.maxBuckets, minWindowLength: d.minWindowLength,
                    gracePeriod: d.gracePeriod))
        case let .pageHinkley(d): .pageHinkley(d)
        }
    }
}

/// River 0.26.1's `drift.PageHinkley`, value by value: the same detections at the same
/// indices on the same stream. A running mean (River's `stats.Mean`: mean += (1/n)·(x − mean));
/// the deviation's faded cumulative sums up (x − mean − δ) and down (x − mean + δ), with their
/// running minimum and maximum (the maximum starts at −1, as River's does); once `minInstances`
/// values are in, a drift when either (per `mode`) has moved more than `threshold` from its
/// extreme. The update after a detection starts afresh. No allocation.
public struct PageHinkley: DriftDetector, Sendable {
    public enum Mode: String, Sendable { case up, down, both }

    public var minInstances = 30
    public var delta = 0.005
    public var threshold = 50.0
    public var alpha = 1 - 0.0001
    public var mode = Mode.both

    var n = 0.0, mean = 0.0, sumIncrease = 0.0, sumDecrease = 0.0
    var minIncrease = Double.infinity, maxDecrease = -1.0
    public private(set) var driftDetected = false

    public init() {}

    /// Adds one value; true when it completes a drift.
    public mutating func update(_ x: Double) -> Bool {
        if driftDetected {
            (n, mean, sumIncrease, sumDecrease, minIncrease, maxDecrease) = (0, 0, 0, 0, .infinity, -1)
            driftDetected = false
        }
        n += 1
        mean += (1 / n) * (x - mean)
        let deviation = x - mean
        sumIncrease = alpha * sumIncrease + deviation - delta
        sumDecrease = alpha * sumDecrease + deviation + delta
        minIncrease = min(minIncrease, sumIncrease)
        maxDecrease = max(maxDecrease, sumDecrease)
        if n >= Double(minInstances) {
            let up = sumIncrease - minIncrease > threshold, down = maxDecrease - sumDecrease > threshold
            driftDetected = mode == .up ? up : mode == .down ? down : up || down
        }
        return driftDetected
    }
}

/// River 0.26.1's `drift.ADWIN` (adaptive windowing, Bifet and Gavaldà 2007), value by value:
/// the same detections at the same indices on the same stream.
///
/// The window is an exponential histogram: level i holds up to `maxBuckets` buckets of 2^i
/// values each (a total and a variance); a level that fills to `maxBuckets` + 1 merges its two
/// oldest into one bucket of the next level. Every `clock` values (once the window is longer
/// than `gracePeriod`) every cut between buckets, oldest first, is tested with ADWIN's bound
/// |μ₀ − μ₁| > √(2 m σ² δ′) + ⅔ δ′ m, where m = 1/(n₀ − L + 1) + 1/(n₁ − L + 1) with L the
/// `minWindowLength`, σ² the window's variance and δ′ = ln(2 ln(width) / δ); on a cut the
/// oldest bucket is dropped and the test starts again. The update after a detection starts
/// with an empty window, as River's does.
///
/// Memory: 64 levels of `maxBuckets` + 1 buckets, allocated at start (a window of 2^64 values
/// fits); `update` allocates nothing.
public struct ADWIN: DriftDetector, @unchecked Sendable {
    public let delta: Double
    public let clock: Int
    public let maxBuckets: Int
    public let minWindowLength: Int
    public let gracePeriod: Int

    static let levels = 64
    /// [level][maxBuckets + 1] bucket totals and variances, oldest first in a level.
    let totals: UnsafeMutablePointer<Double>
    let variances: UnsafeMutablePointer<Double>
    let counts: UnsafeMutablePointer<Int>
    var levelCount = 1
    var total = 0.0, variance = 0.0, width = 0.0
    var tick = 0
    public private(set) var driftDetected = false
    public private(set) var detections = 0

    public init(
        delta: Double = 0.002, clock: Int = 32, maxBuckets: Int = 5, minWindowLength: Int = 5, gracePeriod: Int = 10
    ) {
        (self.delta, self.clock, self.maxBuckets) = (delta, clock, maxBuckets)
        (self.minWindowLength, self.gracePeriod) = (minWindowLength, gracePeriod)
        let slots = Self.levels * (maxBuckets + 1)
        totals = .allocate(capacity: slots)
        variances = .allocate(capacity: slots)
        counts = .allocate(capacity: Self.levels)
        totals.initialize(repeating: 0, count: slots)
        variances.initialize(repeating: 0, count: slots)
        counts.initialize(repeating: 0, count: Self.levels)
    }

    /// The values in the window now.
    public var length: Int { Int(width) }
    /// The window's mean.
    public var estimate: Double { width == 0 ? 0 : total / width }

    @inline(__always) func slot(_ level: Int, _ k: Int) -> Int { level * (maxBuckets + 1) + k }

    /// Adds one value; true when it completes a drift.
    public mutating func update(_ x: Double) -> Bool {
        if driftDetected {
            for i in 0..<levelCount { counts[i] = 0 }
            (levelCount, total, variance, width, tick) = (1, 0, 0, 0, 0)
        }
        insert(x)
        driftDetected = detect()
        if driftDetected { detections += 1 }
        return driftDetected
    }

    mutating func insert(_ x: Double) {
        let s = slot(0, counts[0])
        (totals[s], variances[s]) = (x, 0)
        counts[0] += 1
        width += 1
        if width > 1 {
            let d = x - total / (width - 1)
            variance += (width - 1) * d * d / width
        }
        total += x
        // A full level merges its two oldest buckets into the next level.
        var level = 0
        while counts[level] == maxBuckets + 1 {
            if level + 1 == levelCount {
                guard levelCount < Self.levels else { break }
                counts[levelCount] = 0
                levelCount += 1
            }
            let n = Double(1 << level)
            let a = slot(level, 0), b = a + 1
            let mu1 = totals[a] / n, mu2 = totals[b] / n
            let merged = slot(level + 1, counts[level + 1])
            totals[merged] = totals[a] + totals[b]
            variances[merged] = variances[a] + variances[b] + n * 0.5 * (mu1 - mu2) * (mu1 - mu2)
            counts[level + 1] += 1
            drop(level, 2)
            if counts[level + 1] <= maxBuckets { break }
            level += 1
        }
    }

    /// Removes a level's `k` oldest buckets.
    mutating func drop(_ level: Int, _ k: Int) {
        let base = slot(level, 0), remaining = counts[level] - k
        for i in 0..<remaining {
            totals[base + i] = totals[base + i + k]
            variances[base + i] = variances[base + i + k]
        }
        counts[level] = remaining
    }

    /// Drops the oldest bucket; returns its length.
    mutating func deleteOldest() -> Double {
        let level = levelCount - 1
        let n = Double(1 << level)
        let u = totals[slot(level, 0)], v = variances[slot(level, 0)]
        let mu = u / n
        width -= n
        total -= u
        let muWindow = total / width
        variance -= v + n * width * (mu - muWindow) * (mu - muWindow) / (n + width)
        drop(level, 1)
        if counts[level] == 0 && levelCount > 1 { levelCount -= 1 }
        return n
    }

    mutating func detect() -> Bool {
        var change = false
        tick += 1
        guard tick % clock == 0 && width > Double(gracePeriod) else { return false }
        var reduce = true
        while reduce {
            reduce = false
            var n0 = 0.0, n1 = width, u0 = 0.0, u1 = total
            let levels = levelCount
            cuts: for level in stride(from: levels - 1, through: 0, by: -1) {
                let size = Double(1 << level)
                for k in 0..<counts[level] {
                    let u2 = totals[slot(level, k)]
                    n0 += size
                    n1 -= size
                    u0 += u2
                    u1 -= u2
                    if level == 0 && k == counts[0] - 1 { break cuts }
                    if n1 >= Double(minWindowLength) && n0 >= Double(minWindowLength)
                        && cut(n0, n1, u0 / n0 - u1 / n1)
                    {
                        reduce = true
                        change = true
                        if width > 0 { n0 -= deleteOldest() }
                        break cuts
                    }
                }
            }
        }
        return change
    }

    @inline(__always)
    func cut(_ n0: Double, _ n1: Double, _ deltaMean: Double) -> Bool {
        let deltaPrime = log(2 * log(width) / delta)
        let m = 1 / (n0 - Double(minWindowLength) + 1) + 1 / (n1 - Double(minWindowLength) + 1)
        let epsilon = (2 * m * (variance / width) * deltaPrime).squareRoot() + 2.0 / 3.0 * deltaPrime * m
        return abs(deltaMean) > epsilon
    }
}
