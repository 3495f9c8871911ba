/// What `hotpath gate` checks, by kind, and how each verdict is labelled:
///
/// | kind           | compares                                             | holds on                    |
/// |----------------|------------------------------------------------------|-----------------------------|
/// | `absolute`     | a report's percentiles with `[budgets.<stage>]`      | the user's own host only    |
/// | `a/b`          | head and base reports of runs taken in turn (`[ab]`) | any host: both slowed alike |
/// | `instructions` | callgrind counts per unit with `[instructions]`      | any host: counts, not time  |
///
/// CI gates the last two; production configurations, the demo and `replay` keep the first.
public enum GateKind: String, Sendable {
    case absolute, ab = "a/b", instructions
}

/// The relative latency gate: the commit under test (head) and a base build run
/// `bench e2e` alternately (A B A B …); each metric's ratio head / base is taken per pair and
/// the gate reads the median ratio, so a drift of the shared host, which slows both builds of
/// a pair alike, cancels, and one disturbed pair does not decide.
///
/// Metrics: the p50 of every timed stage but `ring_wait` (queueing behind the open-loop
/// offer and the host; `tick_to_signal` carries the engine's share of it), and inference p99.
/// A value under `floorNs` counts as `floorNs`: two TSC stamps around a stage of a few tens
/// of ns read in steps of the clock, so such stages are held by their instruction counts.
///
/// On these VMs a run's speed is a property of its process, so the gate takes many short
/// pairs, and the book's p50, which settles per process at one of a few levels, gets a wider
/// tolerance (`stageTolerance`); BENCHMARKS.md, "Latency gate", has the measurements.
public struct ABGate: Sendable, Equatable {
    public struct Metric: Sendable, Equatable {
        public var stage: Stage
        public var percentile: Percentile
        public var name: String { stage.name + " " + percentile.rawValue }
    }

    public struct Row: Sendable {
        public var metric: Metric
        public var ratios: [Double]
        public var median: Double
        /// Median values over the runs of each side (ns), for the reader.
        public var headNs: UInt64, baseNs: UInt64
        public var limit: Double
        public var ok: Bool { median <= limit }
    }

    public static let metrics: [Metric] =
        Stage.allCases.filter { $0 != .ringWait && !$0.isLiveOnly }.map { Metric(stage: $0, percentile: .p50) }
        + [Metric(stage: .inference, percentile: .p99)]

    /// Allowed median slow-down at p50, and at p99, percent; per stage at p50 where given.
    public var tolerance = 12.0
    public var tailTolerance = 25.0
    public var stageTolerance: [Stage: Double] = [.book: 40]
    public var floorNs: UInt64 = 100

    /// The tolerance of `m`, percent.
    public func tolerance(_ m: Metric) -> Double {
        m.percentile == .p50 ? stageTolerance[m.stage] ?? tolerance : tailTolerance
    }

    public init() {}

    /// One row per metric; `head[i]` and `base[i]` are the i-th pair. Throws when the lists
    /// differ in length or a run lacks a metric's stage.
    public func compare(head: [RunReport], base: [RunReport]) throws(GateError) -> [Row] {
        guard !head.isEmpty, head.count == base.count else {
            throw GateError("a/b: \(head.count) head reports for \(base.count) base reports; give one of each per pair")
        }
        return try Self.metrics.map { (m: Metric) throws(GateError) -> Row in
            var h: [UInt64] = [], b: [UInt64] = []
            for (i, (hr, br)) in zip(head, base).enumerated() {
                guard let hv = hr.stage(m.stage).flatMap({ $0.count > 0 ? $0[m.percentile] : nil }),
                    let bv = br.stage(m.stage).flatMap({ $0.count > 0 ? $0[m.percentile] : nil })
                else { throw GateError("a/b: pair \(i + 1) has no samples for \(m.name)") }
                h.append(hv)
                b.append(bv)
            }
            let ratios = zip(h, b).map { Double(max($0, floorNs)) / Double(max($1, floorNs)) }
            return Row(
                metric: m, ratios: ratios, median: Self.median(ratios), headNs: Self.median(h), baseNs: Self.median(b),
                limit: 1 + tolerance(m) / 100)
        }
    }

    /// The middle value (the upper middle of an even count), for the reader's ns figures.
    static func median(_ values: [UInt64]) -> UInt64 { values.sorted()[values.count / 2] }

    static func median(_ values: [Double]) -> Double {
        let s = values.sorted(), n = s.count
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
    }
}

/// Instructions per unit allowed for each counted stage (`[instructions]`), and the slack
/// over them, percent.
public struct InstructionBudgets: Sendable, Equatable {
    public var perUnit: [InstructionWork.Stage: Double] = [:]
    public var tolerance = 3.0

    public init() {}

    public struct Row: Sendable {
        public var stage: InstructionWork.Stage
        public var budget: Double
        public var measured: Double?
        public var limit: Double
        public var ok: Bool { measured.map { $0 <= limit } ?? false }
    }

    public func check(_ counts: InstructionCount) -> [Row] {
        InstructionWork.Stage.allCases.compactMap { s in
            guard let budget = perUnit[s] else { return nil }
            return Row(
                stage: s, budget: budget, measured: counts.entry(s)?.perUnit, limit: budget * (1 + tolerance / 100))
        }
    }
}

/// A gate that cannot compare what it was given (not a breach: exit 2).
public struct GateError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The gate's budgets file (`.ci/budgets.toml`): `[budgets.<stage>]` (absolute), `[ab]`
/// (`tolerance`, `tail_tolerance`, `<stage>_tolerance`, `floor_ns`) and `[instructions]` (a per-unit count per
/// stage, and `tolerance`). Every table is optional; an engine configuration's budgets work.
public struct GateBudgets: Sendable {
    public var latency: [LatencyBudget] = []
    public var ab = ABGate()
    public var instructions = InstructionBudgets()

    public init() {}

    public static func load(path: String) throws(ConfigError) -> GateBudgets {
        var reader = try TOMLReader.load(path: path)
        var g = GateBudgets()
        g.latency = try LatencyBudget.read(&reader)
        if var t = try reader.table("ab") {
            g.ab.tolerance = try t.double("tolerance", default: g.ab.tolerance, in: 0...1_000)
            g.ab.tailTolerance = try t.double("tail_tolerance", default: g.ab.tailTolerance, in: 0...1_000)
            g.ab.floorNs = UInt64(try t.int("floor_ns", default: Int(g.ab.floorNs), in: 0...1_000_000))
            for stage in Stage.allCases {
                let v = try t.double(stage.name + "_tolerance", default: -1, in: -1...1_000)
                if v >= 0 { g.ab.stageTolerance[stage] = v }
            }
            try t.finish()
        }
        if var t = try reader.table("instructions") {
            g.instructions.tolerance = try t.double("tolerance", default: g.instructions.tolerance, in: 0...100)
            for s in InstructionWork.Stage.allCases {
                let v = try t.double(s.rawValue, default: -1, in: -1...1e9)
                if v >= 0 { g.instructions.perUnit[s] = v }
            }
            try t.finish()
        }
        return g
    }
}
