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
            discussion: """
                Adds near each instrument's centre, cancels, executions, deletes, replaces and \
                trades over live orders of several instruments. --demo writes the demo's market \
                instead: centres that move with a persistent hidden pressure which also tilts \
                the order flow (what the demo model learns). Same options, same bytes.
                """
        )

        @Option(help: "Messages to write.")
        var messages = 1_000_000

        @Option(help: "Instruments (stock locates 1…N); default 8, or 4 with --demo.")
        var instruments: Int?

        @Option(help: "Random seed.")
        var seed: UInt64?

        @Option(help: "Output file.")
        var out: String

        @Flag(
            help: "The demo's market (4 instruments, moving centres); --instruments and --seed still apply when given.")
        var demo = false

        func run() throws {
            guard messages > 0, (1...65_000).contains(instruments ?? 1) else {
                throw ValidationError("--messages must be positive and --instruments within 1...65000")
            }
            var generator = demo ? ITCHGenerator.demoSession : ITCHGenerator()
            if let instruments { generator.instruments = instruments }
            if let seed { generator.seed = seed }
            do { try generator.write(messages: messages, to: out) } catch { fail("\(error)") }
            print("\(out): \(messages) ITCH messages")
        }
    }
}
