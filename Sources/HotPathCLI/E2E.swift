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
                The demo market (`hotpath gen itch --demo`) is generated up front, then the \
                feed thread offers its events at --rate events/s on a fixed schedule: each event \
                is stamped with the time it was due, not when it was sent, so queueing shows in \
                ring_wait and tick_to_signal instead of being hidden when the pipeline falls \
                behind. The event ring drops (and counts) when full: an open-loop feed never \
                waits. Without --config the bundled demo configuration is used (its models and \
                feature schema). Prints the latency table, or the report JSON with --json. \
                Exit 1 when a configured budget fails.

                The session is written to a temporary file before the run starts (about 35 \
                bytes and 0.2 µs a message). Past --session-messages, a shorter session is \
                replayed in loops, each continuing the last one's clock and starting with the \
                books emptied, so a long run costs neither minutes nor gigabytes up front.

                A soak: `--seconds 600 --snapshot-every 10` keeps each 10 s interval's \
                percentiles, host hiccups, resident memory and ring drops in the report, and \
                the table ends with them and the RSS spread after the first interval.
                """
        )

        @Option(help: "Engine configuration (TOML); default: the bundled demo configuration.")
        var config: String?

        @Option(help: "Events offered per second.")
        var rate = 2_000_000.0

        @Option(help: "Seconds to offer events for.")
        var seconds = 5.0

        @Option(
            help:
                "The most messages generated for the run; a longer run replays a session of at most this many in loops."
        )
        var sessionMessages = 4_000_000

        @Option(help: "Write the report JSON here too.")
        var report: String?

        @OptionGroup var snapshots: SnapshotOptions

        @Flag(help: "Print the report JSON.")
        var json = false

        func validate() throws {
            guard rate >= 1, rate <= 50_000_000, seconds > 0, seconds <= 600 else {
                throw ValidationError("--rate must be within 1...5e7 and --seconds within 0...600")
            }
            guard sessionMessages >= 1_000, sessionMessages <= 100_000_000 else {
                throw ValidationError("--session-messages must be within 1000...1e8 (35 bytes a message)")
            }
        }

        func run() throws {
            var c = loadConfig(config ?? demoFile("config.toml"))
            c.pace = .rate(eventsPerSecond: rate)
            c.eventRingPolicy = .drop
            c.signalsPath = nil
            if let report { c.reportPath = report }
            snapshots.apply(to: &c)
            defaultCores(&c)
            // A message is one event or more (a replace is two, an execution a trade and an
            // order): the events per message of the session, counted, set how many to offer.
            let wanted = max(1, Int(rate * seconds))
            func session(_ messages: Int) -> (FeedFile, events: Int) {
                let file = syntheticFeed(messages: messages, generator: ITCHGenerator.demoSession)
                var events = 0
                do { try file.forEachEvent { _ in events += 1 } } catch { fail("\(error)") }
                return (file, events)
            }
            let sample = min(sessionMessages, wanted)
            var (file, events) = session(sample)
            let total = max(1, Int(Double(wanted) * Double(sample) / Double(max(events, 1))))
            let loops = (total + sessionMessages - 1) / sessionMessages, perLoop = total / loops
            if perLoop != sample { file = session(perLoop).0 }
            let (report, outcome) = runEngine(c, feeds: [file], loops: loops)
            let session = loops > 1 ? "\(loops) loops of \(perLoop) messages" : "\(total) messages"
            printReport(
                report, config: c, json: json,
                title: "bench e2e: \(Int(rate)) events/s offered for \(seconds) s, \(session)")
            exitOnFailure(report, outcome)
        }
    }
}
