import ArgumentParser
import HotPath

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The latency harness.",
        subcommands: [Core.self]
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
}
