import ArgumentParser
import CSupport
import HotPath
#if canImport(Glibc)
import Glibc
#endif

struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run recorded feed files through the full pipeline: book → features → models → signals.",
        discussion: """
            Three threads, pinned as the configuration says: feed (decode), engine (book,
            features, inference, signal, risk gates) and output (signals, histograms, budget
            checks). Signals go where [output] says (or --signals); the latency table and
            counters are printed at the end, and the report JSON is written with --report.
            SIGINT/SIGTERM stop the feed; everything already read is processed, written and
            reported. Exit status: 0 done, 1 a budget failed or input was bad, 2 bad
            configuration.
            """
    )

    @Argument(help: "DBN (.dbn, .dbn.zst) or ITCH 5.0 files, replayed in order.")
    var files: [String]

    @Option(help: "Engine configuration (TOML).")
    var config: String

    @Option(help: "max (as fast as the ring accepts) or recorded (receive-time spacing).")
    var pace: String?

    @Option(help: "Speed factor for --pace recorded.")
    var speed = 1.0

    @Option(help: "Write the report JSON here.")
    var report: String?

    @Option(help: "Write signals here (\"-\" = stdout); overrides [output] signals.")
    var signals: String?

    @Flag(help: "Print the report JSON instead of the table.")
    var json = false

    func run() throws {
        var c = loadConfig(config)
        if let pace {
            switch pace {
            case "max": c.pace = .max
            case "recorded": c.pace = .recorded(speed: speed)
            default: fail("--pace \(pace): expected max or recorded", code: 2)
            }
        }
        if let signals { c.signalsPath = signals.isEmpty ? nil : signals }
        if let report { c.reportPath = report }
        let feeds: [FeedFile]
        do { feeds = try files.map { path throws(FeedError) in try FeedFile.open(path) } } catch { fail("\(error)") }
        let (report, outcome) = runEngine(c, feeds: feeds)
        printReport(report, config: c, json: json)
        exitOnFailure(report, outcome)
    }
}

/// Loads and validates a configuration, or exits 2 naming the key.
func loadConfig(_ path: String) -> EngineConfig {
    do { return try EngineConfig.load(path: path) } catch { fail("\(error)", code: 2) }
}

/// Starts the engine over `feeds` and writes the report where the configuration says.
func runEngine(_ config: EngineConfig, feeds: [FeedFile]) -> (RunReport, Engine.FeedOutcome) {
    let engine: Engine
    do { engine = try Engine(config: config) } catch { fail("\(error)", code: 2) }
    for note in engine.arena.notes { printError("hotpath: note: \(note)") }
    let sink: SignalSink?
    do { sink = try config.signalsPath.map { path throws(ConfigError) in try SignalSink(path: path, format: config.signalFormat) } } catch { fail("\(error)", code: 2) }
    let replays = feeds.map { file -> FileReplay in
        var r = FileReplay(file: file, clock: engine.clock)
        r.pace = config.pace
        return r
    }
    hp_install_stop_handlers()
    let result: (RunReport, Engine.FeedOutcome)
    do { result = try engine.run(feeds: replays, sink: sink, progress: config.progress && isatty(2) != 0) } catch { fail("\(error)", code: 2) }
    sink?.close()
    if let path = config.reportPath {
        guard SystemFile.write(path, result.0.json + "\n") else { fail("\(path): cannot write the report") }
    }
    if hp_stop_signal() != 0 { printError("hotpath: stopped by signal \(hp_stop_signal()); everything read was processed and written") }
    for e in result.1.errors { printError("hotpath: \(e)") }
    return result
}

/// The report as JSON or as the table (on stderr when signals go to stdout).
func printReport(_ report: RunReport, config: EngineConfig, json: Bool, title: String? = nil) {
    if json { print(report.json); return }
    let out = config.signalsPath == "-" ? { (s: String) in printError(s) } : { (s: String) in print(s, terminator: "") }
    if let title { out(title + "\n") }
    out(report.text)
}

/// Exit 1 when a feed reported an error or a budget failed.
func exitOnFailure(_ report: RunReport, _ outcome: Engine.FeedOutcome) {
    if !outcome.errors.isEmpty || report.budgets.contains(where: { !$0.ok }) { exit(1) }
}
