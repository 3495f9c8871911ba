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

            A venue's WebSocket feed is a URL: \
            wss://HOST[:PORT]/PATH?venue=coinbase|kalshi|polygon&markets=A,B[&channels=…]\
            [&key_id_env=VAR&key_file=PEM][&key_env=VAR][&ca_file=PEM][&insecure=1][&tls=1.2]. \
            It prints the venue's messages as normalised events, one JSON object each: \
            {"venue","market","seq","event"} with event clear (a snapshot or quote begins), \
            level (side, price, size: the level's new size, 0 removes it), change (side, \
            price, delta: Kalshi's deltas), trade (side: the aggressor's, as the venue says; \
            price, size) or stale (messages were missed: the book waits for a snapshot). \
            Prices and sizes are decimal strings with 9 places. Kalshi's YES book is \
            printed: a NO bid at p is an ask at 1 − p. Reconnects, pings and skipped \
            messages are counted on stderr.
            """
    )

    @Argument(help: "The feed file, or a live source's URL (moldudp64://, databento://, wss://).")
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
        if case let .databento(options) = source { return decodeDatabento(options, out: &out) }
        if case let .webSocket(options) = source {
            var printed = 0
            let venue = options.venue.rawValue
            return VenueRun.run(
                options, idleTimeout: idleTimeout, out: &out, done: { limit.map { printed >= $0 } ?? false }
            ) {
                e, out in
                guard e.kind != .updated, limit.map({ printed < $0 }) ?? true else { return }
                out.line(e.json(venue: venue, markets: options.markets))
                printed += 1
            }
        }
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

extension Decode {
    /// `decode databento://…`: the gateway's records as the Transcoder's JSON lines, as for a
    /// file, across reconnects (`DatabentoFeed`). Heartbeats are counted, not printed; a
    /// gateway ErrorMsg prints as its JSON line and is said on stderr. The gateway does not
    /// resume, so after a reconnect the new session's records follow (a replaying emulator
    /// sends its file again) and stderr says after how many. A refused key ends the run with
    /// the gateway's words and exit 2. The key is never printed.
    func decodeDatabento(_ options: DatabentoOptions, out: inout BufferedWriter) {
        let feed: DatabentoFeed
        do { feed = try DatabentoFeed(options: options) } catch { fail("\(error)", code: 2) }
        feed.idleNs = idleTimeout.map { UInt64(max($0, 0) * 1e9) } ?? 0
        hp_install_stop_handlers()
        let stop = { hp_stop_signal() != 0 }
        var printed = 0
        var skips = DBNFile.Skips()
        let end = feed.run(stop: stop) { session, metadata in
            var cursor = session.cursor()
            let (s, end) = DBNFile.jsonLines(
                metadata: metadata, cursor: &cursor, refill: { feed.refill(session, &$0, stop: stop) }, raw: raw,
                limit: limit, printed: &printed, control: feed.admit
            ) { out.line($0) }
            out.flush()
            skips.add(s)
            return end
        }
        out.flush()
        if skips.total > 0 { printError("hotpath: \(options.url): \(skips.summary)") }
        printError("hotpath: \(options.url): \(end == .idle ? "idle; " : "")\(feed.counts.summary)")
        if end.exitCode != 0 { fail("\(options.url): \(end)", code: end.exitCode) }
    }
}
