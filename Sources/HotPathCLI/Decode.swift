import ArgumentParser
import HotPath

struct Decode: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print feed records as JSON lines.",
        discussion: """
            DBN files (.dbn or .dbn.zst, versions 1–3) print exactly as Databento's official
            Transcoder prints them: pretty prices and ISO timestamps with symbols mapped, or
            with --raw integer prices and nanosecond timestamps without symbols. Older
            versions are upgraded to the current record layouts, as the Transcoder does.
            Records of an unknown type, or shorter than their type, are skipped and counted
            on stderr; a record whose length cannot frame the stream stops the decode with
            the file and byte offset.
            """
    )

    @Argument(help: "The feed file.")
    var file: String

    @Option(help: "Print at most N records.")
    var limit: Int?

    @Flag(help: "Integer prices and timestamps, no symbols (the Transcoder's pretty_px/pretty_ts/map_symbols off).")
    var raw = false

    func run() throws {
        var out = LineWriter()
        do {
            let dbn = try DBNFile(path: file)
            let skips = try dbn.jsonLines(raw: raw, limit: limit) { out.line($0) }
            out.flush()
            if skips.total > 0 { printError("hotpath: \(file): \(skips.summary)") }
        } catch {
            out.flush()
            fail("\(error)")
        }
    }
}
