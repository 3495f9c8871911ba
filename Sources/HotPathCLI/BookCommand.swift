import ArgumentParser
import CSupport
import HotPath

struct BookCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "book",
        abstract: "Rebuild books from a feed file and print the top levels as JSON lines.",
        discussion: """
            MBO records and ITCH messages build an order-by-order (L3) book; MBP-1/MBP-10 \
            records an L2 book. \
            After each event that closes a batch (DBN F_LAST) the instrument's top levels print as \
            {"ts_recv":…,"instrument_id":…,"bids":[["price",size,count],…],"asks":[…]}. \
            Inconsistent input (cancel of an unknown order, size underflow, a crossed book) is \
            counted and reported on stderr; the book goes on.

            A live MoldUDP64 source is a URL (moldudp64://…, see `decode --help`): the book \
            is built from the session as it arrives, until end of session, --idle-timeout or \
            Ctrl-C, and prints what `book` prints for the same session from a file, except \
            that ts_recv is the kernel's receive time of each message's packet.

            A databento:// URL (see `decode --help`) builds books from the gateway's stream \
            across reconnects. The gateway does not resume a session, so after a reconnect \
            every order-by-order book is emptied and prints "stale":"resubscribed" until the \
            stream clears it (with snapshot=1, an MBO snapshot starts with a clear).

            A wss:// URL (wss://HOST[:PORT]/PATH?venue=coinbase|kalshi|polygon&markets=…\
            [&key_id_env=VAR&key_file=PEM][&key_env=VAR][&ca_file=PEM][&tls=1.2]) builds the venue's L2 books from its WebSocket feed and \
            prints {"product":…,"sequence_num":…,"bids":[["price","size"],…],"asks":[…]} \
            after each book update, "stale":true while a sequence gap or a reconnect waits for \
            its snapshot. --instrument is then the market's index in markets=.
            """
    )

    @Argument(
        help:
            "A DBN file (.dbn or .dbn.zst), an ITCH 5.0 input (pcap, .mold, binary), or a moldudp64://, databento:// or wss:// URL."
    )
    var file: String

    @Option(help: "Live sources: stop when nothing has arrived for this many seconds (default: wait).")
    var idleTimeout: Double?

    @Option(help: "Levels per side (1...50).")
    var depth = 10

    @Option(help: "Only this instrument id.")
    var instrument: UInt32?

    @Option(help: "Capacity of the live-order table.")
    var maxOrders = 1 << 20

    func validate() throws {
        guard (1...50).contains(depth) else { throw ValidationError("--depth must be within 1...50") }
    }

    func run() throws {
        var config = L3Book.Config()
        config.depth = depth
        config.maxOrders = maxOrders
        var out = BufferedWriter(fd: 1)
        let source: SourceURL
        do { source = try SourceURL.parse(file) } catch { fail("\(error)") }
        if case let .databento(options) = source {
            let feed: DatabentoFeed
            do { feed = try DatabentoFeed(options: options) } catch { fail("\(error)", code: 2) }
            feed.idleNs = idleTimeout.map { UInt64(max($0, 0) * 1e9) } ?? 0
            hp_install_stop_handlers()
            do {
                let (result, end) = try BookReplay.run(
                    feed, config: config, instrument: instrument, stop: { hp_stop_signal() != 0 }
                ) { out.line($0.json) }
                out.flush()
                if let problems = result.problems { printError("hotpath: \(options.url): \(problems)") }
                if result.skips.total > 0 { printError("hotpath: \(options.url): \(result.skips.summary)") }
                printError("hotpath: \(options.url): \(end == .idle ? "idle; " : "")\(feed.counts.summary)")
                if end.exitCode != 0 { fail("\(options.url): \(end)", code: end.exitCode) }
            } catch {
                out.flush()
                fail("\(error)")
            }
            return
        }
        if case let .webSocket(options) = source {
            let book = VenueBook(markets: options.markets.count)
            VenueRun.run(options, idleTimeout: idleTimeout, out: &out) { e, out in
                guard book.apply(e), instrument.map({ $0 == e.market }) ?? true else { return }
                let m = Int(e.market)
                out.line(book.json(market: m, name: options.markets[m], sequence: e.sequence, depth: depth))
            }
            if book.overflow > 0 {
                printError("hotpath: \(options.url): \(book.overflow) levels refused: a side was full")
            }
            return
        }
        if case let .moldUDP64(options) = source {
            do {
                let feed = try MoldUDP64Feed(options: options)
                hp_install_stop_handlers()
                let (result, _) = try BookReplay.run(
                    feed, config: config, instrument: instrument,
                    idleNs: idleTimeout.map { UInt64(max($0, 0) * 1e9) } ?? 0,
                    stop: { hp_stop_signal() != 0 }
                ) { out.line($0.json) }
                out.flush()
                printError("hotpath: \(options.url): received with \(feed.receivePath)")
                if let problems = result.problems { printError("hotpath: \(file): \(problems)") }
                printError("hotpath: \(options.url): \(feed.summary)")
            } catch {
                out.flush()
                fail("\(error)")
            }
            return
        }
        do {
            switch try FeedFile.open(file, streamed: true) {
            case let .dbn(dbn):
                let result = try BookReplay.run(dbn, config: config, instrument: instrument) { out.line($0.json) }
                out.flush()
                if let problems = result.problems { printError("hotpath: \(file): \(problems)") }
                if result.skips.total > 0 { printError("hotpath: \(file): \(result.skips.summary)") }
            case let .itch(itch):
                let (result, summary) = try BookReplay.run(itch, config: config, instrument: instrument) {
                    out.line($0.json)
                }
                out.flush()
                if let problems = result.problems { printError("hotpath: \(file): \(problems)") }
                if let notes = summary.notes { printError("hotpath: \(file): \(notes)") }
            }
        } catch {
            out.flush()
            fail("\(error)")
        }
    }
}
