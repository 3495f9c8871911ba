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
            Three threads, pinned as the configuration says: feed (decode), engine (book, \
            features, inference, signal, risk gates) and output (signals, histograms, budget \
            checks). Signals go where [output] says (or --signals); the latency table and \
            counters are printed at the end, and the report JSON is written with --report. \
            SIGINT/SIGTERM stop the feed; everything already read is processed, written and \
            reported. SIGHUP reloads the model files (checked, then swapped in between two \
            batches; [reload] watch = true reloads on a change). Exit status: 0 done, 1 a budget failed or input was bad, 2 bad \
            configuration.

            When stderr is a terminal, a progress line after two seconds: elapsed time, the \
            share of the input taken and the time left at the pace so far, events and signals \
            ([output] progress = false turns it off). Several files are one feed, merged by \
            event time (a k-way merge: the earliest event of any file goes next, the file \
            listed first on a tie); --in-order replays them one after another instead. With \
            --loops (one file, or --in-order), each file is replayed that many times before \
            the next: the engine empties its books at each restart (counted as \
            engine.input_restarts), and event times go on from the last loop's, so the \
            features' time windows see one long session.

            A signals file is written in whole records, flushed whenever the signal ring is \
            empty. A file that already holds records is refused unless --append (check it, cut \
            the torn tail a kill may leave, continue its sequence) or --overwrite is given; \
            `hotpath verify FILE` checks one.
            """
    )

    @Argument(help: "DBN (.dbn, .dbn.zst) or ITCH 5.0 files, merged by event time.")
    var files: [String]

    @Flag(help: "Replay several files one after another instead of merged by event time.")
    var inOrder = false

    @Option(help: "Engine configuration (TOML).")
    var config: String

    @Option(help: "max (as fast as the ring accepts) or recorded (receive-time spacing).")
    var pace: String?

    @Option(help: "Speed factor for --pace recorded.")
    var speed = 1.0

    @Option(
        help:
            "Replay each file this many times in a row (a soak test): each time the books start empty and the clock goes on."
    )
    var loops = 1

    @Option(help: "Write the report JSON here.")
    var report: String?

    @OptionGroup var output: SignalsOptions
    @OptionGroup var sharding: ShardOptions

    @OptionGroup var snapshots: SnapshotOptions

    @Flag(help: "Print the report JSON instead of the table.")
    var json = false

    func validate() throws {
        guard speed > 0, speed.isFinite else { throw ValidationError("--speed must be a positive number") }
        guard !files.isEmpty else { throw ValidationError("give at least one feed file") }
        guard (1...1_000_000).contains(loops) else { throw ValidationError("--loops must be within 1...1000000") }
        guard loops == 1 || files.count == 1 || inOrder else {
            throw ValidationError("--loops with several files needs --in-order (a merged replay is one pass)")
        }
    }

    func run() throws {
        var c = loadConfig(config)
        if let pace {
            switch pace {
            case "max": c.pace = .max
            case "recorded": c.pace = .recorded(speed: speed)
            default: fail("--pace \(pace): expected max or recorded", code: 2)
            }
        }
        output.apply(to: &c)
        sharding.apply(to: &c)
        snapshots.apply(to: &c)
        if let report { c.reportPath = report }
        let feeds: [FeedFile]
        do { feeds = try files.map { path throws(FeedError) in try FeedFile.open(path) } } catch { fail("\(error)") }
        let (report, outcome) = runEngine(c, feeds: feeds, loops: loops, merged: !inOrder)
        printReport(report, config: c, json: json)
        exitOnFailure(report, outcome)
    }
}
