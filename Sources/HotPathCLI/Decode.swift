import ArgumentParser
import HotPath

struct Decode: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print feed records as JSON lines.",
        discussion: """
            DBN files (.dbn or .dbn.zst, versions 1–3) print exactly as Databento's official \
            Transcoder prints them: pretty prices and ISO timestamps with symbols mapped, or \
            with --raw integer prices and nanosecond timestamps without symbols. Older \
            versions are upgraded to the current record layouts, as the Transcoder does. \
            Records of an unknown type, or shorter than their type, are skipped and counted \
            on stderr; a record whose length cannot frame the stream stops the decode with \
            the file and byte offset.

            ITCH 5.0 input — a pcap of MoldUDP64 over UDP, a MoldUDP64 stream (.mold) or a \
            Nasdaq binary file (u16 length-prefixed messages) — prints one JSON object per \
            message: message_type, the specification's fields in snake_case, prices as \
            decimal strings, and the MoldUDP64 sequence. Sequence gaps, duplicates, \
            heartbeats and skipped frames are counted on stderr.
            """
    )

    @Argument(help: "The feed file.")
    var file: String

    @Option(help: "Print at most N records.")
    var limit: Int?

    @Flag(help: "Integer prices and timestamps, no symbols (the Transcoder's pretty_px/pretty_ts/map_symbols off).")
    var raw = false

    func run() throws {
        var out = BufferedWriter(fd: 1)
        do {
            switch try FeedFile.open(file) {
            case let .dbn(dbn):
                let skips = try dbn.jsonLines(raw: raw, limit: limit) { out.line($0) }
                out.flush()
                if skips.total > 0 { printError("hotpath: \(file): \(skips.summary)") }
            case let .itch(itch):
                let summary = try itch.jsonLines(limit: limit) { out.line($0) }
                out.flush()
                if let notes = summary.notes { printError("hotpath: \(file): \(notes)") }
            }
        } catch {
            out.flush()
            fail("\(error)")
        }
    }
}
