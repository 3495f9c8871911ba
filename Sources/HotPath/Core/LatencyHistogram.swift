/// The bucket layout shared by every latency histogram: HdrHistogram's, fixed at 1 ns
/// resolution, 3 significant digits, values up to 60 s.
///
/// HdrHistogram splits the value range into buckets that double in width; each holds
/// `subBucketCount` (2048 for 3 digits) linear sub-buckets, of which the upper half is new
/// per bucket. The index of a value is a leading-zero count, a shift and an add, so recording
/// is branch-light and never searches. With these parameters there are 26 buckets and
/// 27 × 1024 = 27,648 counts (216 KiB of UInt64).
public enum HistogramLayout {
    public static let lowestValue: UInt64 = 1
    public static let highestValue: UInt64 = 60_000_000_000
    public static let significantDigits = 3
    /// log2 of the sub-bucket count: ceil(log2(2 · 10^3)) = 11.
    public static let subBucketCountMagnitude = 11
    public static let subBucketHalfCountMagnitude = 10
    public static let subBucketCount = 1 << 11
    public static let subBucketHalfCount = 1 << 10
    /// 64 − unitMagnitude (0) − subBucketHalfCountMagnitude − 1.
    public static let leadingZeroCountBase = 53
    public static let bucketCount: Int = {
        var smallestUntrackable = UInt64(subBucketCount)
        var buckets = 1
        while smallestUntrackable <= highestValue {
            smallestUntrackable <<= 1
            buckets += 1
        }
        return buckets
    }()
    public static let countsLength = (bucketCount + 1) << subBucketHalfCountMagnitude

    /// The counts index of `value` (which must be ≤ highestValue).
    @inlinable @inline(__always)
    public static func index(of value: UInt64) -> Int {
        let bucket = 53 &- (value | 2047).leadingZeroBitCount
        let sub = Int(truncatingIfNeeded: value >> UInt64(bucket))
        return ((bucket &+ 1) << 10) &+ (sub &- 1024)
    }

    /// The lowest value that lands in counts index `index`.
    public static func value(atIndex index: Int) -> UInt64 {
        var bucket = (index >> subBucketHalfCountMagnitude) - 1
        var sub = (index & (subBucketHalfCount - 1)) + subBucketHalfCount
        if bucket < 0 {
            sub -= subBucketHalfCount
            bucket = 0
        }
        return UInt64(sub) << UInt64(bucket)
    }

    static func bucketAndSub(_ value: UInt64) -> (bucket: Int, sub: Int) {
        let bucket = leadingZeroCountBase - (value | UInt64(subBucketCount - 1)).leadingZeroBitCount
        return (bucket, Int(value >> UInt64(bucket)))
    }

    /// Width of the range of values that share `value`'s count.
    public static func sizeOfEquivalentRange(_ value: UInt64) -> UInt64 {
        let (bucket, sub) = bucketAndSub(value)
        return 1 << UInt64(sub >= subBucketCount ? bucket + 1 : bucket)
    }

    public static func lowestEquivalent(_ value: UInt64) -> UInt64 {
        let (bucket, sub) = bucketAndSub(value)
        return UInt64(sub) << UInt64(bucket)
    }

    public static func highestEquivalent(_ value: UInt64) -> UInt64 {
        lowestEquivalent(value) + sizeOfEquivalentRange(value) - 1
    }

    public static func medianEquivalent(_ value: UInt64) -> UInt64 {
        lowestEquivalent(value) + sizeOfEquivalentRange(value) >> 1
    }
}

/// One thread's latency counts: HdrHistogram layout over memory carved once at start-up.
///
/// `record` computes an index and increments one counter: no allocation, no trap. A value
/// above 60 s is clamped to 60 s and counted in `clamped`, so a stuck clock or a bogus stamp
/// shows up in reports instead of disappearing.
///
/// A value of raw pointers: copying it costs nothing and shares the counts. Owned by one
/// thread; a cold thread reads it through `HistogramRecorder`'s double buffer.
public struct LatencyHistogram: @unchecked Sendable {
    @usableFromInline let counts: UnsafeMutablePointer<UInt64>
    /// [0] = values clamped to the top of the range.
    @usableFromInline let extra: UnsafeMutablePointer<UInt64>

    public init(arena: Arena) throws(ArenaError) {
        counts = try arena.allocate(UInt64.self, count: HistogramLayout.countsLength)
        extra = try arena.allocate(UInt64.self, count: 8)
    }

    /// Records one value in nanoseconds.
    @inlinable @inline(__always)
    public func record(_ ns: UInt64) {
        var v = ns
        if _slowPath(v > HistogramLayout.highestValue) {
            v = HistogramLayout.highestValue
            extra[0] &+= 1
        }
        counts[HistogramLayout.index(of: v)] &+= 1
    }

    /// Values clamped to the top of the range so far.
    public var clamped: UInt64 { extra[0] }

    /// Sets every count to zero.
    public func reset() {
        counts.update(repeating: 0, count: HistogramLayout.countsLength)
        extra[0] = 0
    }
}
