import ArgumentParser
import HotPath

@main
struct HotPathCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hotpath",
        abstract: "HotPath: a low-latency market-data → features → model → signal engine.",
        subcommands: []
    )
}
