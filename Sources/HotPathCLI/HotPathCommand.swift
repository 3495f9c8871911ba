import ArgumentParser
import HotPath

#if canImport(Glibc)
import Glibc
#endif

@main
struct HotPathCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hotpath",
        abstract: "HotPath: a low-latency market-data → features → model → signal engine.",
        discussion: """
            One binary for colocated deployment, benchmark runs and latency regression gating. \
            Every subcommand prints machine-readable output with --json and exits non-zero \
            with a one-line reason on bad input.
            """,
        subcommands: [
            Demo.self, Replay.self, Decode.self, BookCommand.self, Indicators.self, FeaturesCommand.self, Predict.self,
            Learn.self, Drift.self, Regime.self, Bench.self, ReportCommand.self, Verify.self, Gate.self, Tune.self,
            Gen.self,
            Serve.self, Run.self,
            Listen.self,
            FillsSim.self,
            Fleet.self,
        ]
    )
}

/// Prints one line to stderr and exits with `code`: the CLI's only way to fail.
func fail(_ message: String, code: Int32 = 1) -> Never {
    printError("hotpath: \(message)")
    exit(code)
}
