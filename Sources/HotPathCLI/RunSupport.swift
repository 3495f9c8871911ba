import ArgumentParser
import CSupport
import HotPath

#if canImport(Glibc)
import Glibc
#endif

// What replay, bench e2e and demo share: loading the configuration, running the engine,
// printing its report, and the bundled demo's files and synthetic feed.

/// Where signals go, for the commands that run the engine: overrides of `[output] signals`
/// and `existing`.
struct SignalsOptions: ParsableArguments {
    @Option(help: "Write signals here (\"-\" = stdout); overrides [output] signals.")
    var signals: String?

    @Flag(
        help:
            "If the signals file holds records: check it, cut a torn tail, and append, continuing its sequence ([output] existing = \"append\")."
    )
    var append = false

    @Flag(help: "If the signals file holds records: replace them ([output] existing = \"overwrite\").")
    var overwrite = false

    func validate() throws {
        if append && overwrite { throw ValidationError("--append and --overwrite exclude each other") }
    }

    func apply(to c: inout EngineConfig) {
        if let signals { c.signalsPath = signals.isEmpty ? nil : signals }
        if append { c.signalsExisting = .append }
        if overwrite { c.signalsExisting = .overwrite }
    }
}

/// `--shard K/N`: serve the instruments whose id modulo N is K; overrides `[shard]`.
struct ShardOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Serve only instruments whose id modulo N is K; overrides [shard].", valueName: "K/N"))
    var shard: String?

    func validate() throws {
        if let shard, Shard(hash: shard) == nil { throw ValidationError("--shard \(shard): K/N with 0 ≤ K < N ≤ 1024") }
    }

    func apply(to c: inout EngineConfig) {
        if let shard { c.shard = Shard(hash: shard) }
    }
}

/// `--snapshot-every`, for the commands that run the engine long: a record per interval in the
/// report.
struct SnapshotOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Every this many seconds, record each stage's percentiles over the interval, host hiccups, RSS and ring drops in the report (a soak).",
            valueName: "seconds"))
    var snapshotEvery: Double?

    func validate() throws {
        if let s = snapshotEvery, !(0.01...3600).contains(s) {
            throw ValidationError("--snapshot-every must be within 0.01...3600 seconds")
        }
    }

    func apply(to c: inout EngineConfig) {
        guard let s = snapshotEvery else { return }
        c.snapshotNs = UInt64(s * 1e9)
        c.keepIntervals = true
    }
}

/// Loads and validates a configuration, or exits 2 naming the key.
func loadConfig(_ path: String) -> EngineConfig {
    do { return try EngineConfig.load(path: path) } catch { fail("\(error)", code: 2) }
}

/// Starts the engine over `feeds` (each replayed `loops` times, or with `merged` as one feed
/// in event-time order) and writes the report where the configuration says.
func runEngine(
    _ config: EngineConfig, feeds: [FeedFile], loops: Int = 1, merged: Bool = false
) -> (RunReport, Engine.FeedOutcome) {
    runEngine(config) { clock in
        let groups = merged ? [feeds] : feeds.map { [$0] }
        return groups.map { files in
            var r = FileReplay(file: files[0], clock: clock)
            (r.pace, r.loops, r.instruments) = (config.pace, loops, config.book.maxInstruments)
            r.mergedWith = Array(files.dropFirst())
            return .file(r)
        }
    }
}

/// Starts the engine over the feeds `sources` makes with the engine's clock.
func runEngine(_ config: EngineConfig, sources: (Clock) -> [Engine.FeedRun]) -> (RunReport, Engine.FeedOutcome) {
    let engine: Engine
    do { engine = try Engine(config: config) } catch { fail("\(error)", code: 2) }
    for note in engine.arena.notes { printError("hotpath: note: \(note)") }
    let sink: SignalSink?
    do {
        sink = try config.signalsPath.map { path throws(EngineError) in
            try SignalSink(
                path: path, format: config.signalFormat,
                members: config.wideSignals ? engine.ensemble?.memberCount ?? 0 : 0, existing: config.signalsExisting)
        }
    } catch { fail("\(error)", code: 2) }
    if let note = sink?.note { printError("hotpath: \(note)") }
    if let egress = engine.egress {
        printError(
            "hotpath: signals out to udp://\(egress.destination) via "
                + (egress.usesURing ? "io_uring" : "send(2) (io_uring refused)"))
    }
    if let metrics = engine.metrics { printError("hotpath: metrics on http://\(metrics.address)/metrics") }
    let replays = sources(engine.clock)
    hp_install_stop_handlers()
    hp_install_reload_handler()  // SIGHUP reloads the models (ModelReloader)
    engine.reloadOnSignal = true
    let result: (RunReport, Engine.FeedOutcome)
    do { result = try engine.run(sources: replays, sink: sink, progress: config.progress && isatty(2) != 0) } catch {
        fail("\(error)", code: 2)
    }
    sink?.close()
    if let path = config.reportPath {
        guard SystemFile.write(path, result.0.json + "\n") else { fail("\(path): cannot write the report") }
    }
    if hp_stop_signal() != 0 {
        printError("hotpath: stopped by signal \(hp_stop_signal()); everything read was processed and written")
    }
    for e in result.1.errors { printError("hotpath: \(e)") }
    return result
}

/// The report as JSON or as the table (on stderr when signals go to stdout).
func printReport(_ report: RunReport, config: EngineConfig, json: Bool, title: String? = nil) {
    let out = config.signalsPath == "-" ? { (s: String) in printError(s) } : { (s: String) in print(s, terminator: "") }
    if json { out(report.json + "\n"); return }
    if let title { out(title + "\n") }
    out(report.text)
}

/// Exit 1 when a feed reported an error or a budget failed.
func exitOnFailure(_ report: RunReport, _ outcome: Engine.FeedOutcome) {
    if !outcome.errors.isEmpty || report.budgets.contains(where: { !$0.ok }) { exit(1) }
}

/// Where the configuration leaves the threads unpinned: the feed and output threads on the
/// first CPU this process may use, the engine alone on the last (an unpinned output thread
/// lands on the engine's CPU now and then and stalls it for its histogram work).
func defaultCores(_ c: inout EngineConfig) {
    let cpus = PinnedThread.currentAffinity().cpus
    guard cpus.count >= 2 else { return }
    if c.feedCore == nil && c.engineCore == nil {
        c.feedCore = cpus.first
        c.engineCore = cpus.last
    }
    if c.outputCore == nil, let engine = c.engineCore {
        c.outputCore = cpus.first { $0 != engine }
    }
}

/// Writes a synthetic session to a temporary file, opens it (mapped) and unlinks it.
func syntheticFeed(messages: Int, generator: ITCHGenerator) -> FeedFile {
    var template = Array("/tmp/hotpath-XXXXXX.itch".utf8CString)
    let fd = template.withUnsafeMutableBufferPointer { mkstemps($0.baseAddress!, 5) }
    guard fd >= 0 else { fail("\(SystemError("/tmp/hotpath-XXXXXX.itch", call: "mkstemps", errno: errno))") }
    close(fd)
    let path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    defer { unlink(path) }
    do {
        try generator.write(messages: messages, to: path)
        return try FeedFile.open(path)
    } catch {
        fail("\(error)")
    }
}

/// A file of the bundled demo (demo/ at the top of the repository): looked for beside the
/// executable's ancestors, then under the working directory. `HOTPATH_DEMO` overrides.
func demoFile(_ name: String) -> String {
    var candidates: [String] = []
    if let dir = getenv("HOTPATH_DEMO") { candidates.append(String(cString: dir)) }
    var buf = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buf, buf.count - 1)
    if n > 0 {
        var dir = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        for _ in 0..<6 {
            guard let slash = dir.lastIndex(of: "/") else { break }
            dir = String(dir[..<slash])
            candidates.append(dir + "/demo")
        }
    }
    candidates.append("demo")
    for dir in candidates where SystemFile.exists(dir + "/" + name) { return dir + "/" + name }
    fail(
        "the bundled demo file \(name) was not found (looked in \(candidates.joined(separator: ", "))); set HOTPATH_DEMO to the repository's demo/ folder",
        code: 2)
}
