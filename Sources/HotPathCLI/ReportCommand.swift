import ArgumentParser
import HotPath

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Show a run report: percentiles per stage, counters, budget verdicts.",
        discussion: "Reads the JSON that replay --report and bench e2e --json write. --svg draws the percentile distribution."
    )

    @Argument(help: "Report JSON.")
    var file: String

    @Option(help: "Write an SVG percentile-distribution plot here.")
    var svg: String?

    @Flag(help: "Print the report JSON (normalised) instead of the table.")
    var json = false

    func run() throws {
        let report: RunReport
        do { report = try RunReport.load(path: file) } catch { fail("\(error)", code: 2) }
        if let svg {
            guard SystemFile.write(svg, PercentilePlot.svg(report)) else { fail("\(svg): cannot write") }
        }
        print(json ? report.json : report.text, terminator: json ? "\n" : "")
    }
}

struct Gate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fail when a run's latency breaks a budget or regresses against a baseline.",
        discussion: """
            Exit 0 when every budget holds (and, with --baseline, no stage's p50/p99/p99.9 is \
            more than --tolerance percent above the baseline's); 1 on any breach, each named on \
            stderr; 2 when the report, budgets or baseline cannot be read.
            """
    )

    @Argument(help: "Report JSON of the run to check.")
    var file: String

    @Option(help: "Budgets (TOML, [budgets.<stage>] p50/p99/p999/max in ns); an engine configuration works too.")
    var budgets: String

    @Option(help: "Report JSON of a baseline run.")
    var baseline: String?

    @Option(help: "Allowed regression against the baseline, percent.")
    var tolerance = 20.0

    @Flag(help: "Print {\"ok\":…,\"breaches\":[…]} instead of the lines.")
    var json = false

    func validate() throws {
        guard tolerance >= 0, tolerance.isFinite else { throw ValidationError("--tolerance must be a non-negative percentage") }
    }

    func run() throws {
        let report: RunReport, limits: [LatencyBudget]
        do {
            report = try RunReport.load(path: file)
            limits = try LatencyBudget.load(path: budgets)
        } catch { fail("\(error)", code: 2) }
        var base: RunReport? = nil
        if let baseline {
            do { base = try RunReport.load(path: baseline) } catch { fail("\(error)", code: 2) }
        }
        let breaches = report.breaches(limits, baseline: base, tolerance: tolerance)
        if json {
            print(JSONText.object([("ok", breaches.isEmpty ? "true" : "false"),
                                   ("breaches", "[" + breaches.map(JSONText.quote).joined(separator: ",") + "]")]))
            if !breaches.isEmpty { throw ExitCode(1) }
            return
        }
        for v in report.verdicts(limits) {
            print("\(v.ok ? "ok  " : "FAIL") \(v.budget.stage) \(v.budget.percentileKey): \(v.valueNs.map { "\($0) ns" } ?? "no value") (limit \(v.budget.limitNs) ns)")
        }
        for b in breaches { printError("hotpath gate: breach: \(b)") }
        if !breaches.isEmpty { throw ExitCode(1) }
        print("gate: ok (\(limits.count) budgets\(baseline == nil ? "" : ", baseline within \(tolerance)%"))")
    }
}
