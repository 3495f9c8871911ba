import ArgumentParser
import HotPath

#if canImport(Glibc)
import Glibc
#endif

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the engine on the feeds the configuration names: live sources or files.",
        discussion: """
            The feeds are [[feeds]] url = "…" entries: a file path, or a live source's URL \
            (moldudp64://GROUP_OR_HOST:PORT?interface=IP&rerequest=HOST:PORT…, or \
            databento://HOST:PORT?dataset=…&schema=mbo&symbols=…; see `decode --help`). One \
            feed thread takes them in order, each to its end: a file to its last record, a \
            MoldUDP64 session to its end of session, a Databento session (across reconnects) \
            until --idle-timeout. SIGINT/SIGTERM stop it; everything received is processed, \
            written and reported. SIGHUP reloads the model files without a restart (checked, \
            then swapped in between two batches; [reload] watch = true reloads on a change).

            The report is replay's, with the live stages: wire (kernel receive to decode \
            start), and with [output] url = "udp://ADDR:PORT" egress (signal ring push to send \
            completion) and wire_to_signal; the MoldUDP64 session's counters (packets, gaps, \
            rerequests_sent, messages_recovered, messages_lost, duplicates, …) are under \
            moldudp64. After lost messages, [feed] on_loss = "stale" (the default) \
            suppresses every later signal (engine.suppressed_sequence_gap), "stop" ends the \
            run with exit status 1. A Databento feed's counters (sessions, heartbeats, \
            reconnects, heartbeat_timeouts, gateway_errors, symbol_mappings) are under \
            databento; after a reconnect every book is stale until the stream clears it, and \
            its signals are suppressed as engine.suppressed_stale_book. A refused key exits 2.

            Example, two terminals:
              hotpath serve moldudp64 demo.itch --to 127.0.0.1:31000 --rerequest-port 31001
              hotpath run --config live.toml     # [[feeds]] url = "moldudp64://127.0.0.1:31000?rerequest=127.0.0.1:31001"
            """
    )

    @Option(help: "Engine configuration (TOML) with [[feeds]].")
    var config: String

    @Option(help: "Stop a live feed when nothing has arrived for this many seconds (default: wait for end of session).")
    var idleTimeout: Double?

    @Option(help: "Write the report JSON here.")
    var report: String?

    @OptionGroup var output: SignalsOptions
    @OptionGroup var sharding: ShardOptions

    @Flag(help: "Print the report JSON instead of the table.")
    var json = false

    func run() throws {
        var c = loadConfig(config)
        guard !c.feeds.isEmpty else { fail("\(config): no [[feeds]] url = \"…\" entries to run", code: 2) }
        if c.limits.maxAgeNs > 0, c.feeds.contains(where: { if case .moldUDP64 = $0.source { true } else { false } }) {
            // ITCH stamps events in ns since midnight (US Eastern); a live feed's receive stamps
            // are since the epoch. Their difference is no data age.
            fail(
                "\(config): risk.max_age_ms: cannot be checked on a MoldUDP64 (ITCH) feed, whose event times are ns since midnight; set it to 0",
                code: 2)
        }
        output.apply(to: &c)
        sharding.apply(to: &c)
        if let report { c.reportPath = report }
        let idleNs = idleTimeout.map { UInt64(max($0, 0) * 1e9) } ?? 0
        enum Made {
            case file(FeedFile)
            case mold(MoldUDP64Feed)
            case gateway(DatabentoFeed)
        }
        var made: [Made] = []
        for feed in c.feeds {
            switch feed.source {
            case let .file(path):
                do { made.append(.file(try FeedFile.open(path))) } catch { fail("\(error)") }
            case let .databento(options):
                do {
                    let gateway = try DatabentoFeed(options: options)
                    gateway.idleNs = idleNs
                    made.append(.gateway(gateway))
                } catch { fail("\(c.file): feeds.url: \(error)", code: 2) }
            case let .webSocket(options):
                fail(
                    "\(c.file): feeds.url \(options.url): run takes order-level feeds; venue L2 books do not drive the engine yet (book and decode read wss://)",
                    code: 2)
            case let .moldUDP64(options):
                do { made.append(.mold(try MoldUDP64Feed(options: options))) } catch { fail("\(error)") }
                printError(
                    "hotpath: \(options.url): receiving (io=\(options.io.rawValue); the feed thread reports the path it takes)"
                )
            }
        }
        let config = c
        let (report, outcome) = runEngine(config) { clock in
            made.map { source in
                switch source {
                case let .file(file):
                    var r = FileReplay(file: file, clock: clock)
                    (r.pace, r.instruments) = (config.pace, config.book.maxInstruments)
                    return .file(r)
                case let .mold(feed):
                    var l = LiveFeedRun(feed: feed, clock: clock)
                    l.onLoss = config.onLoss
                    l.idleNs = idleNs
                    return .live(l)
                case let .gateway(feed):
                    var d = DatabentoFeedRun(feed: feed, clock: clock)
                    d.instruments = config.book.maxInstruments
                    return .databento(d)
                }
            }
        }
        for case let .mold(live) in made {
            printError("hotpath: \(live.options.url): received with \(live.receivePath)")
        }
        printReport(report, config: config, json: json)
        // A refused key or dataset is the user's to fix: exit 2, as decode and book do.
        if outcome.errors.contains(where: { if case .gateway(_, .failed(.rejected)) = $0 { true } else { false } }) {
            Glibc.exit(2)
        }
        exitOnFailure(report, outcome)
    }
}
