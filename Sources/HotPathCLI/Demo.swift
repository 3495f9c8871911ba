import ArgumentParser
import HotPath

#if canImport(Glibc)
import Glibc
#endif

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Generate a synthetic market, run it through the full pipeline with the bundled models, show signals and latency.",
        discussion: """
            A deterministic 4-instrument TotalView-ITCH session from HotPath's own simulator \
            (the market demo/train.py trained the bundled models on, with another seed: unseen \
            data) is offered open loop at --rate events/s: feed thread → book → 16 \
            microstructure features → LightGBM (102 trees × 31 leaves) + MLP ensemble → signal \
            → risk gates. Prints the first signals, the signal counts by strength and by \
            suppression reason, and the per-stage latency table. Same seed, same signals (unless \
            the event ring overflows, which is counted).
            """
    )

    @Option(help: "Messages in the session.")
    var messages = 600_000

    @Option(help: "Simulator seed (the models were trained on seed 0xD3E0).")
    var seed: UInt64 = 0xD3E1

    @Option(help: "Events per second offered to the engine, open loop (0 = as fast as it takes them).")
    var rate = 1_000_000.0

    @Option(help: "Write every signal here as CSV (default: a temporary file).")
    var signals: String?

    @Option(help: "Write the report JSON here.")
    var report: String?

    @Flag(help: "Print only the report JSON (signals still go to --signals or a temporary file).")
    var json = false

    func validate() throws {
        guard messages > 0, messages <= 100_000_000, rate >= 0, rate <= 50_000_000 else {
            throw ValidationError("--messages must be within 1...100000000 and --rate within 0...5e7")
        }
    }

    func run() throws {
        let started = Clock.monotonicNs()
        var c = loadConfig(demoFile("config.toml"))
        defaultCores(&c)
        if rate > 0 {
            c.pace = .rate(eventsPerSecond: rate)
            c.eventRingPolicy = .drop
        }
        let signalsPath = signals ?? "/tmp/hotpath-demo-signals.\(getpid()).csv"
        c.signalsPath = signalsPath
        c.signalFormat = .csv
        if let report { c.reportPath = report }
        var generator = ITCHGenerator.demoSession
        generator.seed = seed
        let file = syntheticFeed(messages: messages, generator: generator)
        if json {
            let (result, outcome) = runEngine(c, feeds: [file])
            print(result.json)
            if signals == nil { unlink(signalsPath) }
            if !outcome.errors.isEmpty { throw ExitCode(1) }
            return
        }
        print(
            "HotPath demo: \(messages) ITCH messages of a synthetic \(generator.instruments)-instrument session (seed \(seed))"
        )
        print(
            "models: \(c.models.map { "\($0.path.split(separator: "/").last!) × \($0.weight)" }.joined(separator: " + ")), \(c.featureNames.count) features, evaluated on top-of-book changes\n"
        )
        let (result, outcome) = runEngine(c, feeds: [file])
        let lines = (SystemFile.read(signalsPath, limit: 1 << 20) ?? "").split(
            separator: "\n", omittingEmptySubsequences: true)
        print("first signals (\(signalsPath)):")
        for line in lines.prefix(11) { print("  " + line) }
        func count(_ name: String) -> UInt64 { result.counter("engine." + name) ?? 0 }
        print(
            "\nsignals: \(count("evaluations")) model evaluations → STRONG \(count("strength_strong")), MEDIUM \(count("strength_medium")), WEAK \(count("strength_weak")) (not sent)"
        )
        print("  emitted \(count("emitted"))", terminator: "")
        for reason in RiskGates.Reason.allCases where count("suppressed_" + reason.name) > 0 {
            print(", suppressed by \(reason.name) \(count("suppressed_" + reason.name))", terminator: "")
        }
        print("\n")
        print(result.text, terminator: "")
        print(format("\ndemo done in %.1f s", Double(Clock.monotonicNs() - started) / 1e9))
        if signals == nil { unlink(signalsPath) }
        if !outcome.errors.isEmpty { throw ExitCode(1) }
    }
}
