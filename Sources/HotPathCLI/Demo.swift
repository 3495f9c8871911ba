import ArgumentParser
import HotPath

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The demo (to come).")
    func run() throws {}
}
