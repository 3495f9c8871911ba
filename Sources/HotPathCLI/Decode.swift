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
        let input: InputFile
        do { input = try InputFile(path: file) } catch { fail("\(error)") }
        let metadata: DBNMetadata
        do { metadata = try DBNMetadata(bytes: input.bytes, file: file) } catch { fail("\(error)") }
        var writer = DBNJSONWriter(metadata: metadata, pretty: !raw)
        var cursor = DBNRecordCursor(bytes: input.bytes, from: metadata.recordsOffset)
        var out = LineWriter()
        var printed = 0, unknown = 0, short = 0
        let tsOutBytes = metadata.tsOut ? 8 : 0
        loop: while limit.map({ printed < $0 }) ?? true {
            let step = cursor.next()
            switch step {
            case .end:
                break loop
            case .zeroLength, .truncated:
                out.flush()
                fail("\(FeedError(file: file, offset: cursor.offset, reason: cursor.explain(step)))")
            case .record:
                let rec = cursor.record
                guard let layout = DBNLayout.forRecord(rtype: rec.load(fromByteOffset: 1, as: UInt8.self), version: metadata.version) else {
                    unknown += 1
                    continue
                }
                guard cursor.length >= layout.size + tsOutBytes else {
                    short += 1
                    continue
                }
                out.line(writer.line(rec, layout: layout))
                printed += 1
            }
        }
        out.flush()
        if unknown + short > 0 {
            printError("hotpath: \(file): skipped \(unknown) record(s) of unknown type and \(short) shorter than their type")
        }
    }
}
