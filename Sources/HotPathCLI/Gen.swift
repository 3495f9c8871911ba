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
                the order flow (what the demo model learns). --regimes writes a market in three \
                volatility regimes (calm, normal, volatile: the centres move 5, 20 and 80 times a \
                second) held for 10 to 30 s each, and --truth writes which regime held when, as \
                CSV start_ns,end_ns,regime,name: what a regime detector is scored against. Same \
                options, same bytes.
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

        @Flag(help: "A market in three volatility regimes (2 instruments); --instruments and --seed still apply.")
        var regimes = false

        @Option(help: "With --regimes: the regime schedule's CSV.")
        var truth: String?

        func run() throws {
            guard messages > 0, (1...65_000).contains(instruments ?? 1) else {
                throw ValidationError("--messages must be positive and --instruments within 1...65000")
            }
            guard !(demo && regimes) else { throw ValidationError("--demo and --regimes are two markets: give one") }
            guard truth == nil || regimes else { throw ValidationError("--truth needs --regimes") }
            var generator = demo ? ITCHGenerator.demoSession : regimes ? ITCHGenerator.regimeSession : ITCHGenerator()
            if let instruments { generator.instruments = instruments }
            if let seed { generator.seed = seed }
            var last: UInt64 = 0
            do { last = try generator.write(messages: messages, to: out) } catch { fail("\(error)") }
            if let truth {
                let segments = generator.regimeSchedule(until: last)
                var text = "start_ns,end_ns,regime,name\n"
                for (i, s) in segments.enumerated() {
                    let end = i + 1 < segments.count ? "\(segments[i + 1].startNs)" : ""
                    text += "\(s.startNs),\(end),\(s.regime),\(generator.regimes[s.regime].name)\n"
                }
                guard SystemFile.write(truth, text) else { fail("\(truth): cannot write the file") }
            }
            print("\(out): \(messages) ITCH messages")
        }
    }
}
