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
