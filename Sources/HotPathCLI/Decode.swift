import ArgumentParser
import CSupport
import HotPath

struct Decode: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print feed records as JSON lines.",
        discussion: """
            Any input may be zstd- or gzip-compressed (told by its magic bytes, not its name). \
            DBN files (versions 1–3) print exactly as Databento's official \
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

            A live MoldUDP64 source is a URL: \
            moldudp64://GROUP_OR_HOST:PORT?interface=IP&rerequest=HOST:PORT[&session=NAME]\
            [&io=uring|recvmmsg][&from=SEQ][&rcvbuf=BYTES][&window=PACKETS][&wait_us=N]\
            [&timeout_ms=N][&retries=N]. It prints what decoding the same session from a file \
            prints, in sequence order with gaps filled by re-requests, until end of session, \
            --idle-timeout or Ctrl-C; the session's counters go to stderr.
            """
    )

    @Argument(help: "The feed file, or a live source's URL (moldudp64://…).")
    var file: String

    @Option(help: "Live sources: stop when nothing has arrived for this many seconds (default: wait).")
    var idleTimeout: Double?

    @Option(help: "Print at most N records.")
    var limit: Int?

    @Flag(help: "Integer prices and timestamps, no symbols (the Transcoder's pretty_px/pretty_ts/map_symbols off).")
    var raw = false

    func run() throws {
        var out = BufferedWriter(fd: 1)
        let source: SourceURL
        do { source = try SourceURL.parse(file) } catch { fail("\(error)") }
        if case let .moldUDP64(options) = source { return decodeLive(options, out: &out) }
        do {
            switch try FeedFile.open(file, streamed: true) {
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

extension Decode {
    func decodeLive(_ options: MoldUDP64Options, out: inout BufferedWriter) {
        let feed: MoldUDP64Feed
        do {
            feed = try MoldUDP64Feed(options: options)
            try feed.start()
        } catch { fail("\(error)") }
        printError("hotpath: \(options.url): receiving with \(feed.receivePath)")
        hp_install_stop_handlers()
        let end = feed.drain(
            idleNs: idleTimeout.map { UInt64(max($0, 0) * 1e9) } ?? 0, limit: limit,
            stop: { hp_stop_signal() != 0 }, idle: { out.flush() }
        ) { m in
            if let line = ITCHJSON.line(m) { out.line(line) }
        }
        out.flush()
        let why: String
        switch end {
        case .endOfSession: why = "end of session"
        case .idle: why = "idle for \(idleTimeout ?? 0) s"
        case .stopped: why = "stopped"
        case .limit: why = "limit reached"
        case let .failed(errno): fail("\(options.url): receive failed: \(SystemError.text(errno))")
        }
        printError("hotpath: \(options.url): \(why): \(feed.summary)")
    }
}
