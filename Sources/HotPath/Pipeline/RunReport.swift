import Foundation

/// What a run measured: per-stage latency percentiles, every named counter, and the budget
/// verdicts. Written as JSON by `replay` and `bench e2e`, read back by `report` and `gate`:
///
/// `{"stages":{"<name>":{"count":…,"p50_ns":…,"p90_ns":…,"p99_ns":…,"p999_ns":…,"p9999_ns":…,
/// "max_ns":…,"min_ns":…,"mean_ns":…,"clamped":…,"distribution":[[percentile,ns],…]}},"counters":{"thread.name":…},
/// "budgets":[{"stage":…,"percentile":…,"limit_ns":…,"value_ns":…,"ok":…,"breaches":…}]}`
///
/// `distribution` holds HdrHistogram's percentile ladder (5 steps per halving of the distance
/// to 100%), which the SVG plot draws. `breaches` counts the snapshot intervals in which the
/// budget did not hold during the run.
public struct RunReport: Sendable {
    public struct Verdict: Sendable, Equatable {
        public var budget: LatencyBudget
        public var valueNs: UInt64?
        public var breaches: UInt64 = 0
        public var ok: Bool { valueNs.map { $0 <= budget.limitNs } ?? false }
    }

    public var stages: [(String, LatencySummary)] = []
    public var counters: [(String, UInt64)] = []
    /// Measures that are not counts (the online member's prequential log loss and accuracy).
    public var metrics: [(String, Double)] = []
    public var budgets: [Verdict] = []
    /// A long run's record (`--snapshot-every`), one per snapshot interval.
    public var intervals: [Interval] = []
    /// The models the run served.
    public var models: [ModelIdentity] = []

    public init() {}

    /// One snapshot interval: when it ended, the process's resident memory then, the events
    /// and ring drops so far, and each stage's and host hiccup's percentiles over the
    /// interval alone.
    public struct Interval: Sendable {
        public var seconds: Double
        public var rssBytes: UInt64
        public var events: UInt64
        public var dropped: UInt64
        public var stages: [(String, LatencySummary)]

        public init(
            seconds: Double, rssBytes: UInt64, events: UInt64, dropped: UInt64, stages: [(String, LatencySummary)]
        ) {
            self.seconds = seconds
            self.rssBytes = rssBytes
            self.events = events
            self.dropped = dropped
            self.stages = stages
        }

        static let percentiles: [Percentile] = [.p50, .p99, .p999, .max]

        var json: String {
            JSONText.object([
                ("t_s", format("%.3f", seconds)), ("rss_bytes", "\(rssBytes)"), ("events", "\(events)"),
                ("dropped", "\(dropped)"),
                ("stages", JSONText.object(stages.map { ($0.0, JSONText.object($0.1.jsonFields(Self.percentiles))) })),
            ])
        }
    }

    public func stage(_ name: String) -> LatencySummary? { stages.first { $0.0 == name }?.1 }
    public func stage(_ stage: Stage) -> LatencySummary? { self.stage(stage.name) }
    public func counter(_ name: String) -> UInt64? { counters.first { $0.0 == name }?.1 }

    /// Checks `budgets` against this report's stages (a missing stage fails its budget).
    public func verdicts(_ budgets: [LatencyBudget]) -> [Verdict] {
        budgets.map { b in
            Verdict(budget: b, valueNs: stage(b.stage).flatMap { $0.count > 0 ? $0[b.percentile] : nil })
        }
    }

    /// One way a report fails its gate: a value, which the CLI renders.
    public enum Breach: Equatable, Sendable {
        /// The stage's value at the budget's percentile is over its limit.
        case overBudget(LatencyBudget, valueNs: UInt64)
        /// The report has no samples for a budget's stage.
        case noSamples(LatencyBudget)
        /// The baseline measured a stage this report did not.
        case notMeasured(stage: String)
        /// Slower than the baseline by more than `tolerance` percent.
        case regression(stage: String, percentile: Percentile, valueNs: UInt64, baselineNs: UInt64, tolerance: Double)
    }

    /// The percentiles a baseline comparison looks at.
    public static let comparedPercentiles: [Percentile] = [.p50, .p99, .p999]

    /// Every way this report breaks `budgets`, or regresses by more than `tolerance` percent
    /// against `baseline` at p50, p99 or p99.9 of any stage the baseline measured. Empty when
    /// the gate passes.
    public func breaches(_ budgets: [LatencyBudget], baseline: RunReport? = nil, tolerance: Double = 20) -> [Breach] {
        var out: [Breach] = []
        for v in verdicts(budgets) where !v.ok {
            out.append(v.valueNs.map { .overBudget(v.budget, valueNs: $0) } ?? .noSamples(v.budget))
        }
        guard let baseline else { return out }
        for (name, b) in baseline.stages where b.count > 0 {
            guard let s = stage(name), s.count > 0 else { out.append(.notMeasured(stage: name)); continue }
            for p in Self.comparedPercentiles where Double(s[p]) > Double(b[p]) * (1 + tolerance / 100) {
                out.append(
                    .regression(stage: name, percentile: p, valueNs: s[p], baselineNs: b[p], tolerance: tolerance))
            }
        }
        return out
    }

    // MARK: JSON

    public var json: String {
        let stageText = stages.map { name, s in
            JSONText.quote(name) + ":"
                + JSONText.object(
                    s.jsonFields() + [
                        ("min_ns", "\(s.min)"), ("mean_ns", format("%.1f", s.mean)), ("clamped", "\(s.clamped)"),
                        (
                            "distribution",
                            "[" + s.distribution.map { "[\($0[0]),\(UInt64($0[1]))]" }.joined(separator: ",") + "]"
                        ),
                    ])
        }.joined(separator: ",")
        let counterText = counters.map { JSONText.quote($0.0) + ":\($0.1)" }.joined(separator: ",")
        let budgetText = budgets.map { v in
            JSONText.object([
                ("stage", JSONText.quote(v.budget.stage.name)), ("percentile", "\(v.budget.percentile.value)"),
                ("limit_ns", "\(v.budget.limitNs)"), ("value_ns", v.valueNs.map { "\($0)" } ?? "null"),
                ("ok", v.ok ? "true" : "false"), ("breaches", "\(v.breaches)"),
            ])
        }.joined(separator: ",")
        let metricText = metrics.map { JSONText.quote($0.0) + ":" + ($0.1.isFinite ? "\($0.1)" : "null") }.joined(
            separator: ",")
        let intervalText =
            intervals.isEmpty ? "" : ",\"intervals\":[" + intervals.map(\.json).joined(separator: ",") + "]"
        let modelText =
            models.isEmpty
            ? ""
            : ",\"models\":["
                + models.map {
                    JSONText.object([
                        ("name", JSONText.quote($0.name)), ("path", JSONText.quote($0.path)),
                        ("sha256", JSONText.quote($0.sha256)),
                    ])
                }.joined(separator: ",") + "]"
        return
            "{\"stages\":{\(stageText)},\"counters\":{\(counterText)},\"metrics\":{\(metricText)},\"budgets\":[\(budgetText)]\(modelText)\(intervalText)}"
    }

    /// Reads a report written by `json`. Any structural problem is an error naming the file.
    public static func load(path: String) throws(ConfigError) -> RunReport {
        func fail(_ key: String, _ reason: String) -> ConfigError { ConfigError(file: path, key: key, reason: reason) }
        guard let data = FileManager.default.contents(atPath: path) else { throw fail("", "cannot read the file") }
        let parsed: Any
        do { parsed = try JSONSerialization.jsonObject(with: data) } catch {
            throw fail("", "not JSON: \(error.localizedDescription)")
        }
        guard let root = parsed as? [String: Any] else { throw fail("", "not a JSON object") }
        guard let stages = root["stages"] as? [String: Any] else { throw fail("stages", "missing or not an object") }
        // Foundation on Linux bridges JSON 0 and 1 to values that also cast to Bool, so numbers
        // are read as NSNumber only; every count and latency must be a whole, non-negative,
        // representable number (a corrupt report is an error, never a trap).
        func count(_ value: Any?, _ key: String) throws(ConfigError) -> UInt64 {
            guard let n = value as? NSNumber else { throw fail(key, "missing or not a number") }
            let d = n.doubleValue
            guard d.isFinite, d >= 0, d < 1.8e19 else { throw fail(key, "\(d) is not a non-negative count") }
            return UInt64(d)
        }
        func optionalCount(_ value: Any?, _ key: String) throws(ConfigError) -> UInt64? {
            value == nil ? nil : try count(value, key)
        }
        var report = RunReport()
        let order = Stage.allCases.map(\.name) + HiccupThread.allCases.map(\.reportName)
        for name in stages.keys.sorted(by: {
            (order.firstIndex(of: $0) ?? 99, $0) < (order.firstIndex(of: $1) ?? 99, $1)
        }) {
            guard let o = stages[name] as? [String: Any] else { throw fail("stages.\(name)", "not an object") }
            var s = LatencySummary()
            let key = "stages.\(name)"
            s.count = try count(o["count"], key + ".count")
            for p in [Percentile.p50, .p99, .p999, .max] { s[p] = try count(o[p.jsonKey], key + "." + p.jsonKey) }
            // Older reports lack p90 and p99.99: the next percentile up stands in.
            s.p90 = try optionalCount(o[Percentile.p90.jsonKey], key + ".p90_ns") ?? s.p99
            s.p9999 = try optionalCount(o[Percentile.p9999.jsonKey], key + ".p9999_ns") ?? s.max
            s.mean = (o["mean_ns"] as? NSNumber)?.doubleValue ?? 0
            s.min = try optionalCount(o["min_ns"], key + ".min_ns") ?? 0
            s.clamped = try optionalCount(o["clamped"], key + ".clamped") ?? 0
            s.distribution = ((o["distribution"] as? [[NSNumber]]) ?? []).map { $0.map(\.doubleValue) }
                .filter { $0.count == 2 && $0[0].isFinite && $0[1].isFinite && $0[1] >= 0 && $0[1] < 1.8e19 }
            report.stages.append((name, s))
        }
        if let counters = root["counters"] as? [String: Any] {
            for k in counters.keys.sorted() {
                report.counters.append((k, try count(counters[k], "counters.\(k)")))
            }
        }
        if let metrics = root["metrics"] as? [String: Any] {
            for k in metrics.keys.sorted() {
                report.metrics.append((k, (metrics[k] as? NSNumber)?.doubleValue ?? .nan))
            }
        }
        for (i, item) in ((root["budgets"] as? [[String: Any]]) ?? []).enumerated() {
            guard let name = item["stage"] as? String else { throw fail("budgets[\(i)].stage", "missing") }
            guard let stage = Stage(name: name) else { throw fail("budgets[\(i)].stage", "unknown stage \"\(name)\"") }
            guard let number = (item["percentile"] as? NSNumber)?.doubleValue,
                let percentile = Percentile(value: number)
            else {
                throw fail(
                    "budgets[\(i)].percentile",
                    "missing or not one of " + Percentile.allCases.map { "\($0.value)" }.joined(separator: ", "))
            }
            let b = LatencyBudget(
                stage: stage, percentile: percentile, limitNs: try count(item["limit_ns"], "budgets[\(i)].limit_ns"))
            report.budgets.append(
                Verdict(
                    budget: b,
                    valueNs: item["value_ns"] is NSNull
                        ? nil : try optionalCount(item["value_ns"], "budgets[\(i)].value_ns"),
                    breaches: try optionalCount(item["breaches"], "budgets[\(i)].breaches") ?? 0))
        }
        for (i, item) in ((root["models"] as? [[String: Any]]) ?? []).enumerated() {
            guard let name = item["name"] as? String, let path = item["path"] as? String,
                let sha = item["sha256"] as? String
            else { throw fail("models[\(i)]", "needs name, path and sha256 strings") }
            report.models.append(ModelIdentity(name: name, path: path, sha256: sha))
        }
        for (i, item) in ((root["intervals"] as? [[String: Any]]) ?? []).enumerated() {
            let key = "intervals[\(i)]"
            var interval = Interval(
                seconds: (item["t_s"] as? NSNumber)?.doubleValue ?? .nan,
                rssBytes: try count(item["rss_bytes"], key + ".rss_bytes"),
                events: try count(item["events"], key + ".events"),
                dropped: try count(item["dropped"], key + ".dropped"),
                stages: [])
            let stages = (item["stages"] as? [String: [String: Any]]) ?? [:]
            for name in stages.keys.sorted(by: {
                (order.firstIndex(of: $0) ?? 99, $0) < (order.firstIndex(of: $1) ?? 99, $1)
            }) {
                var s = LatencySummary()
                s.count = try count(stages[name]!["count"], "\(key).stages.\(name).count")
                for p in Interval.percentiles {
                    s[p] = try count(stages[name]![p.jsonKey], "\(key).stages.\(name).\(p.jsonKey)")
                }
                interval.stages.append((name, s))
            }
            report.intervals.append(interval)
        }
        return report
    }

    // MARK: Text

    /// The percentile table, the non-zero counters and the budget verdicts.
    public var text: String {
        func left(_ s: String, _ w: Int) -> String { s + String(repeating: " ", count: max(0, w - s.count)) }
        func right(_ s: String, _ w: Int) -> String { String(repeating: " ", count: max(0, w - s.count)) + s }
        var out =
            left("stage", 20)
            + ["count", "p50 ns", "p99 ns", "p99.9 ns", "max ns", "mean ns"].map { right($0, 11) }.joined() + "\n"
        for (name, s) in stages {
            out +=
                left(name, 20)
                + [s.count, s.p50, s.p99, s.p999, s.max, UInt64(s.mean.rounded())].map { right("\($0)", 11) }.joined()
                + "\n"
        }
        let shown = counters.filter { $0.1 != 0 }
        if !shown.isEmpty {
            out += "\ncounters (non-zero)\n"
            for (k, v) in shown { out += "  " + left(k, 40) + right("\(v)", 14) + "\n" }
        }
        if !metrics.isEmpty {
            out += "\nmetrics\n"
            for (k, v) in metrics { out += "  " + left(k, 40) + right(format("%.6f", v), 14) + "\n" }
        }
        if !budgets.isEmpty {
            out += "\nbudgets\n"
            for v in budgets {
                out +=
                    "  " + left(v.ok ? "ok" : "FAIL", 5) + left(v.budget.stage.name, 16)
                    + left(v.budget.percentile.rawValue, 6)
                    + "limit " + right("\(v.budget.limitNs)", 10) + " ns  value "
                    + right(v.valueNs.map { "\($0)" } ?? "-", 10)
                    + " ns  breached in \(v.breaches) intervals\n"
            }
        }
        if !models.isEmpty {
            out += "\nmodels\n"
            for m in models { out += "  " + left(m.name, 24) + " sha256 " + m.short + "  " + m.path + "\n" }
            out += "  signals carry model \(EnsembleIdentity.hex(EnsembleIdentity.of(models)))\n"
        }
        if !intervals.isEmpty { out += intervalText }
        return out
    }

    /// The intervals as a table (tick_to_signal, or the first stage recorded, and the host's
    /// worst hiccup), then RSS after the first interval (the warm-up): its low, high and spread.
    var intervalText: String {
        let stage =
            intervals.lazy.flatMap { $0.stages.map(\.0) }.first { $0 == Stage.tickToSignal.name }
            ?? intervals.first?.stages.first?.0 ?? "-"
        var out =
            "\nintervals: \(stage) p50/p99/p99.9/max ns over each interval alone\n"
            + "       t s   RSS MiB        events   dropped       p50       p99     p99.9       max  hiccup max\n"
        for i in intervals {
            let s = i.stages.first { $0.0 == stage }?.1 ?? LatencySummary()
            let hiccup = i.stages.filter { $0.0.hasPrefix("host_hiccup.") }.map(\.1.max).max() ?? 0
            out +=
                format("%10.1f %9.2f %13llu %9llu", i.seconds, Double(i.rssBytes) / 1_048_576, i.events, i.dropped)
                + [s.p50, s.p99, s.p999, s.max, hiccup].map { format("%10llu", $0) }.joined() + "\n"
        }
        let warm = intervals.dropFirst().map(\.rssBytes)
        if let low = warm.min(), let high = warm.max() {
            out += format(
                "RSS after the first interval: %.2f to %.2f MiB, a spread of %llu KiB\n", Double(low) / 1_048_576,
                Double(high) / 1_048_576, (high - low) / 1024)
        }
        return out
    }
}
