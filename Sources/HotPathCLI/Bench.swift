import ArgumentParser
import HotPath

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The latency harness.",
        subcommands: [Core.self, Feed.self]
    )

    struct Core: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure the core primitives: clock read, histogram record, SPSC ring.",
            discussion: """
                The ring runs between the first and last CPU this process may use, each thread
                pinned. Clock cost is shown beside clock_gettime measured in the same run;
                round trips are per-operation samples in HotPath's own histogram.
                """
        )

        @Option(help: "Items pushed through the ring per throughput run.")
        var items = 20_000_000

        @Option(help: "Batch size for the batched throughput run.")
        var batch = 64

        @Option(help: "Round trips sampled.")
        var roundTrips = 200_000

        @Flag(help: "Print one JSON object.")
        var json = false

        func validate() throws {
            guard items > 0, batch > 0, batch <= 4096, roundTrips > 0 else {
                throw ValidationError("--items, --round-trips must be positive and --batch within 1...4096")
            }
        }

        func run() throws {
            var bench = CoreBench()
            bench.items = items
            bench.batch = batch
            bench.roundTrips = roundTrips
            do {
                let result = try bench.run()
                print(json ? result.json : result.text, terminator: json ? "\n" : "")
            } catch {
                fail("bench core: \(error)")
            }
        }
    }

    struct Feed: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decode (and with --book, build books from) a DBN or ITCH file held in memory, looped.",
            discussion: """
                The file is read and decompressed once; the timed loop runs on one pinned thread.
                Prints {"records","seconds","records_per_s","ns_per_record",…}.
                """
        )

        @Argument(help: "A DBN file (.dbn or .dbn.zst) or an ITCH 5.0 input (pcap, .mold, binary; `hotpath gen itch` makes one).")
        var file: String

        @Flag(help: "Also apply every event to the L3/L2 book and publish the top 10 after each F_LAST record.")
        var book = false

        @Option(help: "Times to replay the file.")
        var loops = 20

        @Option(help: "Capacity of the live-order table (a power of two; size it to the session's peak live orders × 2).")
        var maxOrders = 1 << 16

        @Flag(help: "Print one JSON object.")
        var json = false

        func validate() throws {
            guard loops > 0 else { throw ValidationError("--loops must be positive") }
        }

        func run() throws {
            do {
                var bench = FeedBench(file: try FeedFile.open(file))
                bench.book = book
                bench.loops = loops
                bench.config.maxOrders = maxOrders
                let r = try bench.run()
                if json {
                    print(r.json)
                } else {
                    print("\(file): \(r.records) records in \(r.seconds) s: \(Int(r.recordsPerSecond / 1e6)) M records/s, "
                        + "\((r.nsPerRecord * 100).rounded() / 100) ns/record (\(book ? "decode + book + top-10 publish" : "decode only"), cpu \(r.cpu))")
                }
            } catch {
                fail("bench feed: \(error)")
            }
        }
    }
}
