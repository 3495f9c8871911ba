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
        if case let .databento(options) = source { return decodeDatabento(options, out: &out) }
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
    /// file. Heartbeats are counted, not printed; a gateway ErrorMsg is printed and counted.
    /// A close or a heartbeat time-out reconnects with exponential back-off and jitter and
    /// subscribes again; the gateway does not resume, so the new session's records follow
    /// (a replaying emulator sends its file again) and stderr says where. A refused key ends
    /// the run with the gateway's words and exit 2. The key is never printed.
    func decodeDatabento(_ options: DatabentoOptions, out: inout BufferedWriter) {
        let key: String
        do { key = try options.key() } catch { fail("\(error)", code: 2) }
        hp_install_stop_handlers()
        let idleNs = idleTimeout.map { UInt64(max($0, 0) * 1e9) } ?? 0
        var counts = (records: 0, heartbeats: 0, gatewayErrors: 0, reconnects: 0, timeouts: 0)
        var printed = 0
        var attempts = 0
        var lastData = Clock.monotonicNs()
        func backOff(_ why: DatabentoError) {
            attempts += 1
            guard attempts <= 8 else {
                fail("\(DatabentoAuth.redact(why.description, key: key)); gave up after 8 attempts")
            }
            let delay = min(0.1 * Double(1 << attempts), 10) * Double.random(in: 0.5...1)
            printError(
                "hotpath: \(DatabentoAuth.redact(why.description, key: key)); reconnecting in \(format("%.2f", delay)) s"
            )
            counts.reconnects += 1
            usleep(UInt32(delay * 1e6))
        }
        while hp_stop_signal() == 0 {
            let session: DatabentoSession
            let metadata: DBNMetadata
            do {
                session = try DatabentoSession(options: options, key: key)
                metadata = try session.metadata()
            } catch {
                if !error.isTransient { fail(DatabentoAuth.redact(error.description, key: key), code: 2) }
                backOff(error)
                continue
            }
            attempts = 0
            if counts.reconnects > 0 {
                printError(
                    "hotpath: \(options.url): session \(session.sessionID) after \(counts.records) records: the gateway does not resume, what follows is the new session's stream"
                )
            }
            var cursor = session.cursor()
            let (skips, end) = DBNFile.jsonLines(
                metadata: metadata, cursor: &cursor, refill: { session.refill(&$0) }, raw: raw, limit: limit,
                printed: &printed,
                control: { c in
                    if hp_stop_signal() != 0 { return .stop }
                    let rtype = c.record.load(fromByteOffset: 1, as: UInt8.self)
                    let now = Clock.monotonicNs()
                    if rtype == DBNRType.system && DBNFile.isHeartbeat(c.record, length: c.length) {
                        counts.heartbeats += 1
                        return idleNs > 0 && now &- lastData >= idleNs ? .stop : .skip
                    }
                    if rtype == DBNRType.error { counts.gatewayErrors += 1 }
                    lastData = now
                    counts.records += 1
                    return .emit
                }
            ) { out.line($0) }
            out.flush()
            if skips.total > 0 { printError("hotpath: \(options.url): \(skips.summary)") }
            if end == .stopped { break }
            if let error = end.error(file: options.url) { fail("\(error)") }
            let failure = session.failure ?? .closed(gateway: session.gateway)
            if case .heartbeatTimeout = failure { counts.timeouts += 1 }
            if !failure.isTransient { fail(DatabentoAuth.redact(failure.description, key: key)) }
            backOff(failure)
        }
        out.flush()
        printError(
            "hotpath: \(options.url): \(counts.records) records, \(counts.heartbeats) heartbeats, "
                + "\(counts.reconnects) reconnects, \(counts.timeouts) heartbeat_timeouts, \(counts.gatewayErrors) gateway_errors"
        )
    }
}
