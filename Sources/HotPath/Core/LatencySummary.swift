import Foundation

/// The named percentiles: the one list that budgets, reports, the relative gate and every
/// latency JSON use. The raw value is the budget file's key (`p999 = 5000`).
public enum Percentile: String, CaseIterable, Sendable {
    case p50, p90, p99, p999, p9999, max

    /// The percentile as a number (100: the maximum).
    public var value: Double {
        switch self {
        case .p50: 50
        case .p90: 90
        case .p99: 99
        case .p999: 99.9
        case .p9999: 99.99
        case .max: 100
        }
    }

    /// The JSON key of a value at this percentile (`p99_ns`).
    public var jsonKey: String { rawValue + "_ns" }

    /// How tables print it (`p99.9`).
    public var label: String {
        switch self {
        case .p999: "p99.9"
        case .p9999: "p99.99"
        default: rawValue
        }
    }

    public init?(value: Double) {
        guard let p = Percentile.allCases.first(where: { $0.value == value }) else { return nil }
        self = p
    }
}

/// A latency distribution summed up: count, the named percentiles, min, mean, clamped
/// samples, and (for reports) HdrHistogram's percentile ladder. Histogram snapshots, run
/// reports and benches all use this one type, and write its JSON through `jsonFields`.
public struct LatencySummary: Sendable, Equatable {
    public var count: UInt64 = 0
    public var p50: UInt64 = 0, p90: UInt64 = 0, p99: UInt64 = 0, p999: UInt64 = 0, p9999: UInt64 = 0, max: UInt64 = 0
    public var min: UInt64 = 0
    public var mean = 0.0
    /// Samples above the histogram's range, recorded at its top.
    public var clamped: UInt64 = 0
    /// `[percentile, ns]` rows, 5 steps per halving of the distance to 100% (reports only).
    public var distribution: [[Double]] = []

    public init() {}

    /// From a snapshot; `ladder` adds the percentile ladder that reports plot.
    public init(_ h: HistogramSnapshot, ladder: Bool = false) {
        count = h.totalCount
        for p in Percentile.allCases { self[p] = p == .max ? h.maxValue : h.value(atPercentile: p.value) }
        min = h.minValue
        mean = h.meanAndStdDev.mean
        clamped = h.clamped
        guard ladder, count > 0 else { return }
        var level = 0.0
        while level < 99.9999 {
            distribution.append([level, Double(h.value(atPercentile: level))])
            let halvings = (log2(100 / (100 - level))).rounded(.down) + 1
            level += 100 / (5 * pow(2, halvings))
        }
        distribution.append([100, Double(max)])
    }

    public subscript(_ p: Percentile) -> UInt64 {
        get {
            switch p {
            case .p50: p50
            case .p90: p90
            case .p99: p99
            case .p999: p999
            case .p9999: p9999
            case .max: max
            }
        }
        set {
            switch p {
            case .p50: p50 = newValue
            case .p90: p90 = newValue
            case .p99: p99 = newValue
            case .p999: p999 = newValue
            case .p9999: p9999 = newValue
            case .max: max = newValue
            }
        }
    }

    /// The value at any percentile: a named one, else the nearest ladder row at or below it.
    public func value(atPercentile p: Double) -> UInt64? {
        if let named = Percentile(value: p) { return self[named] }
        return distribution.last(where: { $0[0] <= p }).map { UInt64($0[1]) }
    }

    /// `count` (unless left out) and `<percentile>_ns` for each of `percentiles`: the one
    /// writer of latency JSON fields. Callers add their own fields around them.
    public func jsonFields(
        _ percentiles: [Percentile] = Percentile.allCases, count withCount: Bool = true
    ) -> [(String, String)] {
        (withCount ? [("count", "\(count)")] : []) + percentiles.map { ($0.jsonKey, "\(self[$0])") }
    }
}
