/// One latency limit: a stage's value at a percentile must stay at or under `limitNs`.
public struct LatencyBudget: Sendable, Equatable {
    public var stage: Stage
    public var percentile: Percentile
    public var limitNs: UInt64

    public init(stage: Stage, percentile: Percentile, limitNs: UInt64) {
        self.stage = stage
        self.percentile = percentile
        self.limitNs = limitNs
    }

    /// `[budgets.<stage>]` tables: `p50 = 1500`, `p99 = 3000`, … in nanoseconds.
    static func read(_ reader: inout TOMLReader) throws(ConfigError) -> [LatencyBudget] {
        guard var budgets = try reader.table("budgets") else { return [] }
        var out: [LatencyBudget] = []
        for name in budgets.keys.sorted(by: { (Stage(name: $0)?.rawValue ?? 99) < (Stage(name: $1)?.rawValue ?? 99) }) {
            guard let stage = Stage(name: name) else {
                throw budgets.error(
                    name, "unknown stage (stages: \(Stage.allCases.map(\.name).joined(separator: ", ")))")
            }
            guard var table = try budgets.table(name) else { continue }
            for percentile in Percentile.allCases {
                let limit = try table.int(percentile.rawValue, default: -1, in: -1...Int(HistogramLayout.highestValue))
                if limit >= 0 {
                    out.append(LatencyBudget(stage: stage, percentile: percentile, limitNs: UInt64(limit)))
                }
            }
            try table.finish()
        }
        try budgets.finish()
        return out
    }
}
