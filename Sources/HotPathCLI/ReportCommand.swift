import ArgumentParser
import HotPath

#if canImport(Glibc)
import Glibc
#endif

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Show a run report: percentiles per stage, counters, budget verdicts.",
        discussion:
            "Reads the JSON that replay --report and bench e2e --json write. --svg draws the percentile distribution."
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

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a signals file: whole records, rising sequences, and any torn tail.",
        discussion: """
            Reads a signals file as replay and run write it (CSV, JSON lines or binary, told \
            by its first bytes unless --format says) and prints its record count, sequence \
            range and gaps, and whether it ends in a torn record (a kill mid-write) or holds a \
            malformed one before its end. Exit 0 whole, 1 torn or damaged, 2 unreadable.
            """
    )

    @Argument(help: "Signals file.")
    var file: String

    @Option(help: "csv, jsonl or binary (default: from the file's first bytes).")
    var format: String?

    @Flag(help: "Binary records are wide: 64 + 144 bytes ([output] wide = true).")
    var wide = false

    @Flag(help: "Print the result as JSON.")
    var json = false

    func run() throws {
        var given: EngineConfig.SignalFormat? = nil
        if let format {
            guard let f = EngineConfig.SignalFormat(rawValue: format) else {
                fail("--format \(format): expected csv, jsonl or binary", code: 2)
            }
            given = f
        }
        guard let check = SignalFileCheck(path: file, format: given, wide: wide) else {
            fail("\(SystemError(file, call: "read", errno: errno))", code: 2)
        }
        print(json ? check.json(path: file) : "\(file): \(check.summary)")
        if !check.isWhole { throw ExitCode(1) }
    }
}

struct Gate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Fail when latency breaks a budget, regresses against a base build, or exceeds an instruction budget.",
        discussion: """
            Three kinds of check, one per call; every line says which kind it is.

            absolute: `hotpath gate R.json --budgets B.toml [--baseline base.json --tolerance PCT]` \
            checks a report against [budgets.<stage>] nanoseconds (and, with --baseline, that no \
            stage's p50/p99/p99.9 is more than --tolerance percent above the baseline's). For \
            the host the budgets were written on: production configurations, the demo, replay.

            a/b: `hotpath gate --ab H1.json H2.json … --base B1.json B2.json … [--budgets B.toml] \
            [--tolerance PCT]` compares reports of the build under test (H) and a base build \
            (B) from `bench e2e` runs taken in turn, pair by pair: for each stage's p50 (all but \
            ring_wait) and inference p99 it prints the median of the pair ratios H/B, their \
            spread and the median values, and fails when a median ratio passes 1 + tolerance \
            ([ab] tolerance, 12 %; tail_tolerance for p99, 25 %; <stage>_tolerance per stage, book 40 %). Holds on any host, since \
            both builds share its state. scripts/gate-ab.sh builds the base and runs the pairs.

            instructions: `hotpath gate --instructions counts.json --budgets B.toml` checks \
            `bench instructions --json` counts against [instructions] per-unit budgets \
            (tolerance 3 %). The same binary gives the same counts on any host.

            Exit 0 when everything holds; 1 on any breach, each named on stderr; 2 when an \
            input cannot be read or compared.
            """
    )

    @Argument(help: "Report JSON of the run to check against absolute budgets.")
    var file: String?

    @Option(
        help:
            "Budgets (TOML): [budgets.<stage>] p50/p99/p999/max in ns, [ab], [instructions]; an engine configuration works too."
    )
    var budgets: String?

    @Option(help: "absolute: report JSON of a baseline run.")
    var baseline: String?

    @Option(
        help:
            "absolute: allowed regression against --baseline, percent (20). a/b: the p50 tolerance, percent (overrides [ab] tolerance)."
    )
    var tolerance: Double?

    @Option(parsing: .upToNextOption, help: "a/b: reports of the build under test, one per pair.")
    var ab: [String] = []

    @Option(parsing: .upToNextOption, help: "a/b: reports of the base build, in the same pair order.")
    var base: [String] = []

    @Option(help: "instructions: counts JSON from `hotpath bench instructions --json`.")
    var instructions: String?

    @Flag(help: "Print {\"kind\":…,\"ok\":…,\"breaches\":[…]} instead of the lines.")
    var json = false

    func validate() throws {
        let modes = [file != nil, !ab.isEmpty || !base.isEmpty, instructions != nil].filter { $0 }.count
        guard modes == 1 else {
            throw ValidationError("give one of: a report (absolute), --ab … --base … (a/b), or --instructions")
        }
        if let tolerance {
            guard tolerance >= 0, tolerance.isFinite else {
                throw ValidationError("--tolerance must be a non-negative percentage")
            }
        }
        if file != nil || instructions != nil {
            guard budgets != nil else { throw ValidationError("--budgets is required") }
        }
        if !ab.isEmpty || !base.isEmpty {
            guard ab.count == base.count else {
                throw ValidationError("--ab and --base need one report each per pair (\(ab.count) and \(base.count))")
            }
        }
    }

    func run() throws {
        let config: GateBudgets
        do {
            config = try budgets.map { p throws(ConfigError) in try GateBudgets.load(path: p) } ?? GateBudgets()
        } catch { fail("\(error)", code: 2) }
        if let instructions { return try checkInstructions(instructions, config.instructions) }
        if !ab.isEmpty { return try checkAB(config.ab) }
        try checkAbsolute(file!, config.latency)
    }

    /// Prints the verdict lines (or the JSON) and exits 1 when anything breached.
    func finish(_ kind: GateKind, lines: [(ok: Bool, text: String)], breaches: [String], summary: String) throws {
        if json {
            print(
                JSONText.object([
                    ("kind", JSONText.quote(kind.rawValue)), ("ok", breaches.isEmpty ? "true" : "false"),
                    ("breaches", "[" + breaches.map(JSONText.quote).joined(separator: ",") + "]"),
                ]))
        } else {
            for l in lines { print("\(kind.rawValue) \(l.ok ? "ok  " : "FAIL") \(l.text)") }
            for b in breaches { printError("hotpath gate: \(kind.rawValue) breach: \(b)") }
            if breaches.isEmpty { print("gate: \(kind.rawValue) ok (\(summary))") }
        }
        if !breaches.isEmpty { throw ExitCode(1) }
    }

    func checkAbsolute(_ file: String, _ limits: [LatencyBudget]) throws {
        let report: RunReport
        do { report = try RunReport.load(path: file) } catch { fail("\(error)", code: 2) }
        guard !limits.isEmpty else {
            fail("\(budgets!): budgets: no budgets ([budgets.<stage>] with p50/p99/p999/max)", code: 2)
        }
        var base: RunReport? = nil
        if let baseline {
            do { base = try RunReport.load(path: baseline) } catch { fail("\(error)", code: 2) }
        }
        let tolerance = self.tolerance ?? 20
        let breaches = report.breaches(limits, baseline: base, tolerance: tolerance).map(Self.render)
        let lines = report.verdicts(limits).map { v in
            (
                v.ok,
                "\(v.budget.stage.name) \(v.budget.percentile.rawValue): \(v.valueNs.map { "\($0) ns" } ?? "no value") (limit \(v.budget.limitNs) ns)"
            )
        }
        try finish(
            .absolute, lines: lines, breaches: breaches,
            summary: "\(limits.count) budgets\(baseline == nil ? "" : ", baseline within \(tolerance)%")")
    }

    /// One line for a breach, naming the stage and percentile.
    static func render(_ breach: RunReport.Breach) -> String {
        switch breach {
        case let .overBudget(b, value):
            "\(b.stage.name) \(b.percentile.rawValue) is \(value) ns, over its budget of \(b.limitNs) ns"
        case let .noSamples(b):
            "\(b.stage.name) \(b.percentile.rawValue): the report has no samples for this stage"
        case let .notMeasured(stage):
            "\(stage): measured in the baseline but not in this report"
        case let .regression(stage, p, value, was, tolerance):
            "\(stage) \(p.rawValue) is \(value) ns, \(Int((Double(value) / Double(max(was, 1)) - 1) * 100))% over the baseline's \(was) ns (tolerance \(tolerance)%)"
        }
    }

    func checkAB(_ configured: ABGate) throws {
        var gate = configured
        if let tolerance { gate.tolerance = tolerance }
        var head: [RunReport] = [], baseReports: [RunReport] = []
        do {
            for p in ab { head.append(try RunReport.load(path: p)) }
            for p in base { baseReports.append(try RunReport.load(path: p)) }
        } catch { fail("\(error)", code: 2) }
        let rows: [ABGate.Row]
        do { rows = try gate.compare(head: head, base: baseReports) } catch { fail("\(error)", code: 2) }
        let lines = rows.map { r in
            (
                r.ok,
                r.metric.name
                    + format(
                        ": median ratio %.3f (pairs %.2f to %.2f), head %llu ns, base %llu ns, limit %.2f",
                        r.median, r.ratios.min()!, r.ratios.max()!, r.headNs, r.baseNs, r.limit)
            )
        }
        let breaches = rows.filter { !$0.ok }.map {
            $0.metric.name
                + format(
                    " is %.1f%% slower than the base (median of %d pair ratios; tolerance %.0f%%)",
                    ($0.median - 1) * 100, $0.ratios.count, ($0.limit - 1) * 100)
        }
        try finish(.ab, lines: lines, breaches: breaches, summary: "\(rows.count) metrics over \(head.count) pairs")
    }

    func checkInstructions(_ path: String, _ limits: InstructionBudgets) throws {
        let counts: InstructionCount
        do { counts = try InstructionCount.load(path: path) } catch { fail("\(error)", code: 2) }
        let rows = limits.check(counts)
        guard !rows.isEmpty else {
            fail(
                "\(budgets!): instructions: no per-unit budgets ([instructions] decode_book, features, inference, signal)",
                code: 2)
        }
        let lines = rows.map { r in
            (
                r.ok,
                "\(r.stage.rawValue): \(r.measured.map { format("%.1f", $0) } ?? "no count") instructions per unit"
                    + format(" (budget %.1f, limit %.1f)", r.budget, r.limit)
            )
        }
        let breaches = rows.filter { !$0.ok }.map { r in
            r.measured.map {
                r.stage.rawValue
                    + format(
                        " is %.1f instructions per unit, %.1f%% over its budget of %.1f", $0, ($0 / r.budget - 1) * 100,
                        r.budget)
            }
                ?? "\(r.stage.rawValue): the counts have no entry for this stage"
        }
        try finish(
            .instructions, lines: lines, breaches: breaches, summary: "\(rows.count) stages within \(limits.tolerance)%"
        )
    }
}
