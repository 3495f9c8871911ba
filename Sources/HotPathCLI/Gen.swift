import ArgumentParser
import HotPath
#if canImport(Glibc)
import Glibc
#endif

struct Gen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate synthetic feed files.",
        subcommands: [ITCH.self]
    )

    struct ITCH: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "itch",
            abstract: "A deterministic synthetic TotalView-ITCH 5.0 session in Nasdaq binary framing.",
            discussion: "Adds near a random-walk mid, cancels, executions, deletes, replaces and trades over live orders of several instruments. Same --seed, same bytes."
        )

        @Option(help: "Messages to write.")
        var messages = 1_000_000

        @Option(help: "Instruments (stock locates 1…N).")
        var instruments = 8

        @Option(help: "Random seed.")
        var seed: UInt64 = 0x5EED

        @Option(help: "Output file.")
        var out: String

        func run() throws {
            guard messages > 0, (1...65_000).contains(instruments) else {
                throw ValidationError("--messages must be positive and --instruments within 1...65000")
            }
            var generator = ITCHGenerator()
            generator.instruments = instruments
            generator.seed = seed
            let bytes = generator.generate(messages: messages)
            guard let f = fopen(out, "wb") else { fail("\(out): cannot create: \(String(cString: strerror(errno)))") }
            defer { fclose(f) }
            guard fwrite(bytes, 1, bytes.count, f) == bytes.count else { fail("\(out): write failed") }
            print("\(out): \(messages) ITCH messages, \(bytes.count) bytes")
        }
    }
}
