/// The pipeline's timed stages, in report order. Each owns a latency histogram on the thread
/// that runs it: `decode` on the feed thread, the rest on the engine thread.
public enum Stage: Int, CaseIterable, Sendable {
    /// Live sources only: kernel receive stamp to decode start (feed thread).
    case wire
    case decode, ringWait, book, features, inference, signal, tickToSignal
    /// Network outputs only: the signal ring push to its send's completion (engine thread).
    case egress
    /// Live sources to a network output: kernel receive stamp to the send's completion.
    case wireToSignal

    public var name: String {
        switch self {
        case .wire: "wire"
        case .decode: "decode"
        case .ringWait: "ring_wait"
        case .book: "book"
        case .features: "features"
        case .inference: "inference"
        case .signal: "signal"
        case .tickToSignal: "tick_to_signal"
        case .egress: "egress"
        case .wireToSignal: "wire_to_signal"
        }
    }

    /// Measured only when a live source or a network output is in use (not in a file replay).
    public var isLiveOnly: Bool { self == .wire || self == .egress || self == .wireToSignal }

    /// The feed thread's stages (it owns their recorders); the engine thread owns the rest.
    public var isFeedThread: Bool { self == .wire || self == .decode }

    public init?(name: String) {
        guard let s = Stage.allCases.first(where: { $0.name == name }) else { return nil }
        self = s
    }
}

/// One latency limit: a stage's value at a percentile must stay at or under `limitNs`.
/// Percentile 100 is the maximum.
public struct LatencyBudget: Sendable, Equatable {
    public var stage: String
    public var percentile: Double
    public var limitNs: UInt64

    public init(stage: String, percentile: Double, limitNs: UInt64) {
        self.stage = stage
        self.percentile = percentile
        self.limitNs = limitNs
    }

    /// The key a budget file uses for each percentile.
    static let keys: [(String, Double)] = [("p50", 50), ("p90", 90), ("p99", 99), ("p999", 99.9), ("p9999", 99.99), ("max", 100)]

    public var percentileKey: String { Self.keys.first { $0.1 == percentile }?.0 ?? "p\(percentile)" }

    /// `[budgets.<stage>]` tables: `p50 = 1500`, `p99 = 3000`, … in nanoseconds.
    static func read(_ reader: inout TOMLReader) throws(ConfigError) -> [LatencyBudget] {
        guard var budgets = try reader.table("budgets") else { return [] }
        var out: [LatencyBudget] = []
        for name in budgets.keys.sorted(by: { (Stage(name: $0)?.rawValue ?? 99) < (Stage(name: $1)?.rawValue ?? 99) }) {
            guard Stage(name: name) != nil else {
                throw budgets.error(name, "unknown stage (stages: \(Stage.allCases.map(\.name).joined(separator: ", ")))")
            }
            guard var table = try budgets.table(name) else { continue }
            for (key, percentile) in keys {
                let limit = try table.int(key, default: -1, in: -1...Int(HistogramLayout.highestValue))
                if limit >= 0 { out.append(LatencyBudget(stage: name, percentile: percentile, limitNs: UInt64(limit))) }
            }
            try table.finish()
        }
        try budgets.finish()
        return out
    }
}
