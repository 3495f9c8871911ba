import ArgumentParser
import HotPath
#if canImport(Glibc)
import Glibc
#endif

extension Bench {
    struct E2E: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "e2e",
            abstract: "The whole pipeline under a synthetic feed offered open loop at a fixed rate.",
            discussion: """
                The demo market (`hotpath gen itch --demo`) is generated in memory, then the
                feed thread offers its events at --rate events/s on a fixed schedule: each event
                is stamped with the time it was due, not when it was sent, so queueing shows in
                ring_wait and tick_to_signal instead of being hidden when the pipeline falls
                behind. The event ring drops (and counts) when full: an open-loop feed never
                waits. Without --config the bundled demo configuration is used (its models
                and feature schema). Prints the latency table, or the report JSON with --json.
                Exit 1 when a configured budget fails.
                """
        )

        @Option(help: "Engine configuration (TOML); default: the bundled demo configuration.")
        var config: String?

        @Option(help: "Events offered per second.")
        var rate = 2_000_000.0

        @Option(help: "Seconds to offer events for.")
        var seconds = 5.0

        @Option(help: "Write the report JSON here too.")
        var report: String?

        @Flag(help: "Print the report JSON.")
        var json = false

        func validate() throws {
            guard rate >= 1, rate <= 50_000_000, seconds > 0, seconds <= 600 else {
                throw ValidationError("--rate must be within 1...5e7 and --seconds within 0...600")
            }
        }

        func run() throws {
            var c = loadConfig(config ?? demoFile("config.toml"))
            c.pace = .rate(eventsPerSecond: rate)
            c.eventRingPolicy = .drop
            c.signalsPath = nil
            if let report { c.reportPath = report }
            defaultCores(&c)
            // ITCH replaces yield two events per message: offer slightly fewer messages.
            let messages = max(1, Int(rate * seconds / 1.05))
            let file = syntheticFeed(messages: messages, generator: ITCHGenerator.demoSession)
            let (report, outcome) = runEngine(c, feeds: [file])
            printReport(report, config: c, json: json, title: "bench e2e: \(Int(rate)) events/s offered for \(seconds) s, \(messages) messages")
            exitOnFailure(report, outcome)
        }
    }
}

/// Where the configuration leaves the threads unpinned: the feed and output threads on the
/// first CPU this process may use, the engine alone on the last (an unpinned output thread
/// lands on the engine's CPU now and then and stalls it for its histogram work: measured,
/// ring_wait p99.9 of milliseconds at 200 k events/s).
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
    guard fd >= 0 else { fail("cannot create a temporary file in /tmp: \(String(cString: strerror(errno)))") }
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
    fail("the bundled demo file \(name) was not found (looked in \(candidates.joined(separator: ", "))); set HOTPATH_DEMO to the repository's demo/ folder", code: 2)
}
