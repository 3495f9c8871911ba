import Foundation
import MallocCounter
import XCTest

@testable import HotPath

/// Venue adapters against sessions generated from the venues' documented shapes, and the
/// books a Python reference (Decimal arithmetic) computes after every message:
/// tools/live/make_coinbase_session.py --messages 3000 --seed 1
///   Tests/Fixtures/venues/coinbase.session.jsonl Tests/Fixtures/venues/coinbase.books.jsonl
/// tools/live/make_kalshi_session.py --messages 3000 --seed 1
///   Tests/Fixtures/venues/kalshi.session.jsonl Tests/Fixtures/venues/kalshi.books.jsonl
/// tools/live/make_polygon_session.py --messages 3000 --seed 1
///   Tests/Fixtures/venues/polygon.session.jsonl Tests/Fixtures/venues/polygon.books.jsonl
/// The tests over `VenueFeed` generate their sessions (drops, gaps) with the same scripts.
final class VenueTests: XCTestCase {
    static let dir = TestPaths.fixtures + "/venues"

    /// The book after each `updated` event, as `hotpath book` prints it.
    static func show(_ e: VenueEvent, _ book: VenueBook, _ names: [String], _ out: inout [String]) {
        if book.apply(e) {
            out.append(book.json(market: Int(e.market), name: names[Int(e.market)], sequence: e.sequence))
        }
    }

    func lines(_ name: String) throws -> [String] {
        try String(contentsOfFile: Self.dir + "/" + name, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    /// The books `hotpath book` prints for `messages` of `venue`, and the adapter after them.
    func books(_ venue: String, _ messages: [String]) throws -> ([String], VenueAdapter) {
        let names = Self.markets[venue]!
        guard
            case let .webSocket(options) = try SourceURL.parse(
                "wss://venue.example/ws?venue=\(venue)&markets=\(names.joined(separator: ","))")
        else { throw XCTSkip("not a wss:// URL") }
        var adapter = VenueAdapter(options)
        let book = VenueBook(markets: names.count)
        var out: [String] = []
        for text in messages {
            Array(text.utf8).withUnsafeBytes { b in adapter.take(b) { Self.show($0, book, names, &out) } }
        }
        return (out, adapter)
    }

    func testCoinbaseBooksEqualTheReferenceAfterEveryMessage() throws {
        let session = try lines("coinbase.session.jsonl"), want = try lines("coinbase.books.jsonl")
        let (got, venue) = try books("coinbase", session)
        let adapter = venue.coinbase
        XCTAssertEqual(got.count, want.count)
        for (i, (g, w)) in zip(got, want).enumerated() where g != w {
            return XCTFail("book \(i) differs:\n got \(g)\nwant \(w)")
        }
        XCTAssertEqual(adapter.counts.gaps, 0)
        XCTAssertEqual(adapter.counts.malformed, 0)
        XCTAssertGreaterThan(adapter.counts.trades, 100)
    }

    /// A gap in sequence_num flags every book until its next snapshot; bad input is counted.
    func testCoinbaseGapsAndBadInputAreCounted() throws {
        var session = try lines("coinbase.session.jsonl")
        session.remove(at: 10)
        session.insert(#"{"channel":"l2_data","sequence_num":"#, at: 20)  // truncated JSON
        session.insert(
            #"{"channel":"l2_data","sequence_num":20,"events":[{"type":"update","product_id":"DOGE-USD","updates":[]}]}"#,
            at: 21)
        session.insert(
            #"{"channel":"l2_data","sequence_num":21,"events":[{"type":"update","product_id":"BTC-USD","updates":[{"side":"bid","price_level":"1.00","new_quantity":"-3"},{"side":"bid","price_level":"1.00","new_quantity":"NaN"}]}]}"#,
            at: 22)
        session.insert(#"{"channel":"status","sequence_num":22,"events":[]}"#, at: 23)
        let (got, venue) = try books("coinbase", session)
        let adapter = venue.coinbase
        XCTAssertEqual(adapter.counts.malformed, 1)
        XCTAssertEqual(adapter.counts.unknownProduct, 1)
        XCTAssertEqual(adapter.counts.badQuantity, 2)
        XCTAssertEqual(adapter.counts.unknownChannel, 1)
        XCTAssertGreaterThanOrEqual(adapter.counts.gaps, 1)
        XCTAssertTrue(got.last!.hasSuffix(",\"stale\":true}"), "no snapshot after the gap: the books stay stale")
    }

    /// A message that breaks off inside its updates: the levels before the break are out,
    /// so the market is made stale and the message counted as malformed, once.
    func testCoinbaseMessageBrokenInsideItsUpdates() throws {
        var adapter = CoinbaseAdapter(products: ["BTC-USD"])
        var events: [VenueEvent] = []
        let text =
            #"{"channel":"l2_data","sequence_num":0,"events":[{"type":"update","product_id":"BTC-USD","updates":[{"side":"bid","price_level":"1.00","new_quantity":"3"},{"side":"#
        Array(text.utf8).withUnsafeBytes { adapter.take($0) { events.append($0) } }
        XCTAssertEqual(events.map(\.kind), [.level, .stale, .updated])
        XCTAssertEqual(adapter.counts.malformed, 1)
    }

    /// The same session over TLS WebSocket from the Python `websockets` peer, fragmented
    /// at random, with pings: the same books.
    func testCoinbaseOverTLSWebSocket() throws {
        let session = try lines("coinbase.session.jsonl"), want = try lines("coinbase.books.jsonl")
        let peer = try WebSocketTests.peer(session, ["--fragment", "5", "--ping-every", "100", "--wait-subscribe"])
        defer { peer.process.terminate() }
        var o = WebSocketTests.options(peer)
        o.maxMessage = 1 << 16
        let ws = try WebSocketClient(o)
        let names = ["BTC-USD", "ETH-USD"]
        var adapter = CoinbaseAdapter(products: names)
        for line in adapter.subscriptions() { XCTAssertTrue(ws.send(text: line)) }
        let book = VenueBook(markets: 2)
        var got: [String] = []
        WebSocketTests.eachMessage(ws) { bytes in
            adapter.take(bytes) { Self.show($0, book, names, &got) }
        }
        XCTAssertEqual(got.count, want.count)
        XCTAssertTrue(got == want, "books over the WebSocket differ from the reference")
        XCTAssertEqual(ws.counts.pings, 30)
        XCTAssertGreaterThan(ws.counts.fragmented, 100)
    }

    /// Each venue's messages into events and books allocate nothing: the same count for 300
    /// and 2,900 messages.
    func testAdaptersAllocateNothingPerMessage() throws {
        try requireOptimizedBuild()
        for (venue, markets) in Self.markets {
            guard
                case let .webSocket(options) = try SourceURL.parse(
                    "wss://venue.example/ws?venue=\(venue)&markets=\(markets.joined(separator: ","))")
            else { return XCTFail("not a wss:// URL") }
            let session = try lines("\(venue).session.jsonl").map { Array($0.utf8) }
            func mallocs(_ n: Int) -> UInt64 {
                var adapter = VenueAdapter(options)
                let book = VenueBook(markets: markets.count)
                var updated = 0
                let before = hp_thread_malloc_count()
                for i in 0..<n {
                    session[i].withUnsafeBytes {
                        adapter.take($0, emit: { if book.apply($0) { updated += 1 } })
                    }
                }
                return hp_thread_malloc_count() - before
            }
            XCTAssertEqual(mallocs(300), mallocs(2_900), venue)
        }
    }

    static let kalshiMarkets = ["KXFED-26DEC-T4.00", "KXBTC-26DEC31-B99500"]

    /// `decode wss://` prints each event normalised: a NO delta as a YES-book ask change at
    /// 1 − p, a trade with its aggressor.
    func testKalshiEventsAsDecodePrintsThem() throws {
        var adapter = KalshiAdapter(markets: Self.kalshiMarkets)
        var events: [String] = []
        for text in [
            #"{"type":"orderbook_delta","sid":1,"seq":5,"msg":{"market_ticker":"KXFED-26DEC-T4.00","price_dollars":"0.3100","delta_fp":"-12.50","side":"no"}}"#,
            #"{"type":"trade","sid":1,"seq":6,"msg":{"market_ticker":"KXFED-26DEC-T4.00","yes_price_dollars":"0.69","count_fp":"3.00","taker_side":"yes"}}"#,
        ] {
            Array(text.utf8).withUnsafeBytes { b in
                adapter.take(
                    b,
                    emit: {
                        if $0.kind != .updated { events.append($0.json(venue: "kalshi", markets: Self.kalshiMarkets)) }
                    })
            }
        }
        XCTAssertEqual(
            events,
            [
                #"{"venue":"kalshi","market":"KXFED-26DEC-T4.00","seq":5,"event":"change","side":"ask","price":"0.690000000","delta":"-12.500000000"}"#,
                #"{"venue":"kalshi","market":"KXFED-26DEC-T4.00","seq":6,"event":"trade","side":"bid","price":"0.690000000","size":"3.000000000"}"#,
            ])
    }

    /// The YES book (asks = 1 − no bids) after every snapshot and delta equals the reference.
    func testKalshiBooksEqualTheReferenceAfterEveryMessage() throws {
        let session = try lines("kalshi.session.jsonl"), want = try lines("kalshi.books.jsonl")
        let (got, venue) = try books("kalshi", session)
        let adapter = venue.kalshi
        XCTAssertEqual(got.count, want.count)
        for (i, (g, w)) in zip(got, want).enumerated() where g != w {
            return XCTFail("book \(i) differs:\n got \(g)\nwant \(w)")
        }
        XCTAssertEqual(adapter.counts.gaps, 0)
        XCTAssertFalse(adapter.wantsResync)
        XCTAssertGreaterThan(adapter.counts.trades, 100)
        // A gap: the book is stale, the gap counted, a resync asked for.
        var gapped = session
        gapped.remove(at: 40)
        let (after, venueAfterGap) = try books("kalshi", gapped)
        var gappedAdapter = venueAfterGap.kalshi
        XCTAssertEqual(gappedAdapter.counts.gaps, 1)
        XCTAssertTrue(gappedAdapter.wantsResync)
        XCTAssertTrue(after.last!.hasSuffix(",\"stale\":true}") || after.contains { $0.hasSuffix(",\"stale\":true}") })
        // The resync: every subscription seen is retired, a new one asked for; late
        // messages of the old one are dropped and counted.
        XCTAssertEqual(
            gappedAdapter.resubscription(),
            [
                #"{"id":2,"cmd":"unsubscribe","params":{"sids":[1]}}"#,
                #"{"id":3,"cmd":"subscribe","params":{"channels":["orderbook_delta","trade"],"market_tickers":["KXFED-26DEC-T4.00","KXBTC-26DEC31-B99500"]}}"#,
            ])
        XCTAssertFalse(gappedAdapter.wantsResync)
        var late: [VenueEvent] = []
        Array(session[100].utf8).withUnsafeBytes { gappedAdapter.take($0) { late.append($0) } }
        XCTAssertEqual(late, [])
        XCTAssertEqual(gappedAdapter.counts.retired, 1)
        let snapshot = session[0].replacingOccurrences(of: #""sid":1,"#, with: #""sid":2,"#)
        Array(snapshot.utf8).withUnsafeBytes { gappedAdapter.take($0) { late.append($0) } }
        XCTAssertEqual(late.first?.kind, .clear)
    }

    func testKalshiOverTLSWebSocket() throws {
        let session = try lines("kalshi.session.jsonl"), want = try lines("kalshi.books.jsonl")
        let peer = try WebSocketTests.peer(session, ["--fragment", "9", "--ping-every", "70", "--wait-subscribe"])
        defer { peer.process.terminate() }
        let ws = try WebSocketClient(WebSocketTests.options(peer))
        var adapter = KalshiAdapter(markets: Self.kalshiMarkets)
        XCTAssertTrue(ws.send(text: adapter.subscription()))
        let book = VenueBook(markets: 2)
        var got: [String] = []
        WebSocketTests.eachMessage(ws) { bytes in
            adapter.take(bytes, emit: { Self.show($0, book, Self.kalshiMarkets, &got) })
        }
        XCTAssertTrue(got == want, "\(got.count) books, \(want.count) in the reference")
    }

    /// The request signature verifies with the public key in Python (`cryptography`,
    /// RSA-PSS, MGF1-SHA256, salt length = digest length).
    func testKalshiSignatureVerifiesInPython() throws {
        let python = try WebSocketTests.python()
        let dir = NSTemporaryDirectory() + "hotpath-kalshi-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func py(_ script: String, _ args: [String]) throws -> (Int32, String) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: python)
            p.arguments = ["-c", script] + args
            let out = Pipe()
            p.standardOutput = out
            p.standardError = out
            try p.run()
            p.waitUntilExit()
            return (
                p.terminationStatus, String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            )
        }
        _ = try py(
            """
            import sys
            from cryptography.hazmat.primitives.asymmetric import rsa
            from cryptography.hazmat.primitives import serialization
            k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            open(sys.argv[1] + "/key.pem", "wb").write(k.private_bytes(serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
            open(sys.argv[1] + "/pub.pem", "wb").write(k.public_key().public_bytes(serialization.Encoding.PEM,
                serialization.PublicFormat.SubjectPublicKeyInfo))
            """, [dir])
        let path = "/trade-api/ws/v2"
        let headers = try KalshiAuth.headers(
            keyID: "key-id-1", keyFile: dir + "/key.pem", path: path, timestampMs: 1_764_849_600_123)
        XCTAssertEqual(headers.map(\.0), ["KALSHI-ACCESS-KEY", "KALSHI-ACCESS-TIMESTAMP", "KALSHI-ACCESS-SIGNATURE"])
        let (status, output) = try py(
            """
            import sys, base64
            from cryptography.hazmat.primitives import hashes, serialization
            from cryptography.hazmat.primitives.asymmetric import padding
            pub = serialization.load_pem_public_key(open(sys.argv[1] + "/pub.pem", "rb").read())
            pub.verify(base64.b64decode(sys.argv[3]), (sys.argv[2] + "GET" + sys.argv[4]).encode(),
                padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH), hashes.SHA256())
            print("verified")
            """, [dir, headers[1].1, headers[2].1, path])
        XCTAssertEqual(status, 0, output)
        XCTAssertEqual(output, "verified\n")
        XCTAssertThrowsError(
            try KalshiAuth.headers(keyID: "k", keyFile: dir + "/missing.pem", path: path, timestampMs: 1))
    }

    static let polygonSymbols = ["AAPL", "MSFT", "SNDL"]

    /// Quotes from JSON numbers (trailing zeros, sub-dollar ticks, an empty bid side) give
    /// the reference's top of book after every quote.
    func testPolygonBooksEqualTheReferenceAfterEveryQuote() throws {
        let session = try lines("polygon.session.jsonl"), want = try lines("polygon.books.jsonl")
        let (got, venue) = try books("polygon", session)
        let adapter = venue.polygon
        XCTAssertEqual(got.count, want.count)
        for (i, (g, w)) in zip(got, want).enumerated() where g != w {
            return XCTFail("book \(i) differs:\n got \(g)\nwant \(w)")
        }
        XCTAssertEqual(adapter.counts.malformed + adapter.counts.badNumber + adapter.counts.unknownEvent, 0)
        XCTAssertGreaterThan(adapter.counts.trades, 100)
    }

    /// Statuses drive the handshake; bad input is counted and skipped, never fatal.
    func testPolygonStatusesAndBadInput() throws {
        let (got, venue) = try books(
            "polygon",
            [
                #"[{"ev":"status","status":"connected","message":"Connected Successfully"}]"#,
                #"[{"ev":"status","status":"auth_success","message":"authenticated"}]"#,
                #"[{"ev":"Q","sym":"AAPL","bp":1.5,"bs":-2,"ap":1.6,"as":3,"q":1}]"#,  // negative size
                #"[{"ev":"Q","sym":"AAPL","bp":NaN,"bs":2,"ap":1.6,"as":3,"q":2}]"#,  // not JSON
                #"[{"ev":"Q","sym":"AAPL","bp":"x","bs":2,"ap":1.6,"as":3,"q":3}]"#,  // not a number
                #"[{"ev":"Q","sym":"TSLA","bp":1.5,"bs":2,"ap":1.6,"as":3,"q":4}]"#,  // not subscribed
                #"[{"ev":"LULD","sym":"AAPL"}]"#, #"[{"sym":"AAPL"}]"#, #"[{"ev":"Q""#,
                #"[{"ev":"Q","sym":"AAPL","bp":1.5e2,"bs":2,"ap":150.01,"as":3,"q":5}]"#,
            ])
        let adapter = venue.polygon
        XCTAssertTrue(adapter.wantsSubscription)
        XCTAssertEqual(adapter.counts.badNumber, 2)
        XCTAssertEqual(adapter.counts.unknownSymbol, 1)
        XCTAssertEqual(adapter.counts.unknownEvent, 1)
        XCTAssertEqual(adapter.counts.malformed, 3)
        XCTAssertEqual(
            got,
            [
                #"{"product":"AAPL","sequence_num":5,"bids":[["150.000000000","2.000000000"]],"asks":[["150.010000000","3.000000000"]]}"#
            ])
        XCTAssertNil(adapter.refusal)
        var refused = adapter
        Array(#"[{"ev":"status","status":"auth_failed","message":"authentication failed"}]"#.utf8).withUnsafeBytes {
            refused.take($0) { _ in }
        }
        XCTAssertEqual(refused.refusal, "auth_failed: authentication failed")
    }

    /// Kalshi and Polygon read messages in their documented layout by position; a space
    /// after each object's brace sends them the general way. Both ways give the same events
    /// and counters for every fixture message and for bad values in the documented layout.
    func testLaidOutAndGeneralReadingsAgree() throws {
        let extra = [
            #"{"type":"orderbook_delta","sid":1,"seq":1,"msg":{"market_ticker":"KXFED-26DEC-T4.00","market_id":"x","price_dollars":"1.5","delta_fp":"-3","side":"yes","ts":"t"}}"#,
            #"{"type":"orderbook_delta","sid":1,"seq":2,"msg":{"market_ticker":"KX-OTHER","market_id":"x","price_dollars":"0.5","delta_fp":"-3","side":"yes","ts":"t"}}"#,
            #"{"type":"trade","sid":1,"seq":4,"msg":{"market_ticker":"KXFED-26DEC-T4.00","yes_price_dollars":"0.5","count_fp":"-1","taker_side":"maybe","ts":5}}"#,
            #"[{"ev":"Q","sym":"AAPL","bx":1,"bp":1.5,"bs":-2,"ax":1,"ap":1.6,"as":3,"c":1,"i":[0],"t":1,"q":7,"z":1}]"#,
            #"[{"ev":"Q","sym":"TSLA","bx":1,"bp":1.5,"bs":2,"ax":1,"ap":1.6,"as":3,"c":1,"i":[0],"t":1,"q":8,"z":1}]"#,
            #"[{"ev":"T","sym":"SNDL","x":1,"i":"9","z":1,"p":0.81234567891,"s":5,"c":[0],"t":1,"q":9}]"#,
        ]
        for venue in ["kalshi", "polygon"] {
            let names = Self.markets[venue]!
            guard
                case let .webSocket(options) = try SourceURL.parse(
                    "wss://venue.example/ws?venue=\(venue)&markets=\(names.joined(separator: ","))")
            else { return XCTFail("not a wss:// URL") }
            let messages =
                try lines("\(venue).session.jsonl") + extra.filter { $0.hasPrefix(venue == "kalshi" ? "{" : "[") }
            func read(_ spaced: Bool) -> ([VenueEvent], [(String, Int)]) {
                var adapter = VenueAdapter(options)
                var events: [VenueEvent] = []
                for text in messages {
                    let t = spaced ? text.replacingOccurrences(of: "{\"", with: "{ \"") : text
                    Array(t.utf8).withUnsafeBytes { adapter.take($0, emit: { events.append($0) }) }
                }
                return (events, adapter.counts)
            }
            let (fast, fastCounts) = read(false), (general, generalCounts) = read(true)
            XCTAssertEqual(fast.count, general.count, venue)
            XCTAssertTrue(fast == general, venue)
            XCTAssertEqual(fastCounts.map { "\($0.0)=\($0.1)" }, generalCounts.map { "\($0.0)=\($0.1)" }, venue)
            XCTAssertGreaterThan(fastCounts.first { $0.0.hasSuffix("bad_number") }!.1, 0, venue)
        }
    }

    /// A session from tools/live/make_VENUE_session.py with `args`, into `dir`.
    func generate(_ venue: String, _ args: [String], in dir: String) throws -> (session: String, books: [String]) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try WebSocketTests.python())
        let session = dir + "/\(venue).session.jsonl", books = dir + "/\(venue).books.jsonl"
        p.arguments = [TestPaths.root + "/tools/live/make_\(venue)_session.py"] + args + [session, books]
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        return (session, try String(contentsOfFile: books, encoding: .utf8).split(separator: "\n").map(String.init))
    }

    static let markets = ["coinbase": ["BTC-USD", "ETH-USD"], "kalshi": kalshiMarkets, "polygon": polygonSymbols]

    /// The books `VenueFeed` builds from `url`'s feed until it goes quiet, and the feed.
    func feedBooks(_ url: String) throws -> ([String], VenueFeed, VenueAdapter, VenueFeed.End) {
        guard case let .webSocket(options) = try SourceURL.parse(url) else { throw XCTSkip("not a wss:// URL") }
        let feed = VenueFeed(options: options)
        feed.idleNs = 1_500_000_000
        feed.note = { _ in }
        var adapter = VenueAdapter(options)
        let book = VenueBook(markets: options.markets.count)
        var got: [String] = []
        let deadline = Clock.monotonicNs() + 120_000_000_000
        let end = feed.run(adapter: &adapter, stop: { Clock.monotonicNs() > deadline }) {
            Self.show($0, book, options.markets, &got)
        }
        return (got, feed, adapter, end)
    }

    /// Each venue through `VenueFeed` with two dropped connections, random fragmentation and
    /// pings: after each reconnect the venue's snapshots (Polygon: its next quotes) make the
    /// books whole again, and every book printed equals the reference. scripts/test.sh runs
    /// the same with 100,000 messages through `hotpath book`.
    func testEveryVenueRecoversFromTwoDroppedConnections() throws {
        setenv("HOTPATH_TEST_POLYGON_KEY", "pk-test-1", 1)
        for venue in ["coinbase", "kalshi", "polygon"] {
            let dir = try WebSocketTests.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let (session, want) = try generate(
                venue, ["--messages", "3000", "--seed", "7", "--drops", "1000,2000"], in: dir)
            let handshake = venue == "polygon" ? ["--polygon-key", "pk-test-1"] : ["--wait-subscribe"]
            let peer = try WebSocketTests.peer(
                file: session, certs: dir,
                handshake + ["--fragment", "3", "--ping-every", "40", "--connections", "3", "--hold"])
            defer { peer.process.terminate() }
            let (got, feed, adapter, end) = try feedBooks(
                "wss://127.0.0.1:\(peer.port)/ws?venue=\(venue)&markets=\(Self.markets[venue]!.joined(separator: ","))"
                    + "&ca_file=\(peer.caFile)&key_env=HOTPATH_TEST_POLYGON_KEY")
            XCTAssertEqual(end, .idle, venue)
            XCTAssertEqual(feed.counts.reconnects, 2, venue)
            XCTAssertEqual(feed.counts.connects, 3, venue)
            XCTAssertEqual(got.count, want.count, venue)
            for (i, (g, w)) in zip(got, want).enumerated() where g != w {
                XCTFail("\(venue): book \(i) differs:\n got \(g)\nwant \(w)")
                break
            }
            XCTAssertGreaterThan(feed.client.pings, 50, venue)
            XCTAssertGreaterThan(feed.client.fragmented, 500, venue)
            XCTAssertFalse(adapter.counts.contains { $0.0.hasSuffix("malformed") && $0.1 != 0 }, venue)
        }
    }

    /// A peer that stops sending but keeps the connection open: the watchdog closes it,
    /// counts it and connects again; the run then ends idle.
    /// A venue that sends more levels than a side holds: each one past the capacity is
    /// counted as overflow and refused; the book keeps its start-up size.
    func testAFloodOfLevelsIsCountedAndRefused() {
        let book = VenueBook(markets: 1, levelsPerSide: 8)
        for p in 1...100 { book.set(market: 0, bid: true, price: Int64(p), size: 1) }
        XCTAssertEqual(book.count(market: 0, bid: true), 8)
        XCTAssertEqual(book.overflow, 92)
        XCTAssertFalse(book.apply(VenueEvent(.level, market: 5, side: .bid, price: 1, size: 1)), "no such market")
    }

    func testTheWatchdogReconnectsASilentConnection() throws {
        let session = Array(try lines("coinbase.session.jsonl").prefix(50))
        let peer = try WebSocketTests.peer(session, ["--wait-subscribe", "--hold", "--connections", "2"])
        defer { peer.process.terminate() }
        guard
            case let .webSocket(options) = try SourceURL.parse(
                "wss://127.0.0.1:\(peer.port)/ws?venue=coinbase&markets=BTC-USD,ETH-USD&ca_file=\(peer.caFile)")
        else { return XCTFail("not a wss:// URL") }
        let feed = VenueFeed(options: options)
        feed.watchdogNs = 400_000_000
        feed.idleNs = 2_000_000_000
        var said: [String] = []
        feed.note = { said.append($0) }
        var adapter = VenueAdapter(options)
        var events = 0
        let deadline = Clock.monotonicNs() + 30_000_000_000
        let end = feed.run(adapter: &adapter, stop: { Clock.monotonicNs() > deadline }) { _ in events += 1 }
        XCTAssertEqual(end, .idle)
        XCTAssertGreaterThanOrEqual(feed.counts.watchdogTimeouts, 1)
        XCTAssertGreaterThanOrEqual(feed.counts.reconnects, 1)
        XCTAssertGreaterThan(events, 0)
        XCTAssertTrue(said.contains { $0.contains("nothing received for 0.4 s") }, "\(said)")
    }

    /// A Kalshi `seq` gap: the books go stale, the feed subscribes again on the same
    /// connection, and the new subscription's snapshots make them equal the reference.
    func testKalshiResubscribesAfterASequenceGap() throws {
        let dir = try WebSocketTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (session, want) = try generate(
            "kalshi", ["--messages", "2000", "--seed", "3", "--gaps", "700,1400"], in: dir)
        let peer = try WebSocketTests.peer(
            file: session, certs: dir, ["--wait-subscribe", "--hold", "--fragment", "2", "--log-client", dir + "/sent"])
        defer { peer.process.terminate() }
        let (got, feed, adapter, end) = try feedBooks(
            "wss://127.0.0.1:\(peer.port)/ws?venue=kalshi&markets=\(Self.kalshiMarkets.joined(separator: ","))"
                + "&ca_file=\(peer.caFile)")
        XCTAssertEqual(end, .idle)
        XCTAssertEqual(feed.counts.reconnects, 0)
        XCTAssertEqual(adapter.kalshi.counts.gaps, 2)
        XCTAssertTrue(got == want, "\(got.count) books, \(want.count) in the reference")
        // Each resync retired the subscriptions seen and asked for a new one.
        let sent = try String(contentsOfFile: dir + "/sent", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(sent.count, 5)
        XCTAssertEqual(sent[1], #"{"id":2,"cmd":"unsubscribe","params":{"sids":[1]}}"#)
        XCTAssertEqual(sent[3], #"{"id":4,"cmd":"unsubscribe","params":{"sids":[2]}}"#)
        XCTAssertTrue(sent[4].hasPrefix(#"{"id":5,"cmd":"subscribe""#))
    }

    /// A wrong Polygon key: one refusal, named, and no reconnect.
    func testPolygonWrongKeyIsRefusedWithoutRetrying() throws {
        setenv("HOTPATH_TEST_POLYGON_BAD_KEY", "pk-wrong", 1)
        let peer = try WebSocketTests.peer(try lines("polygon.session.jsonl"), ["--polygon-key", "pk-right"])
        defer { peer.process.terminate() }
        let (got, feed, _, end) = try feedBooks(
            "wss://127.0.0.1:\(peer.port)/ws?venue=polygon&markets=AAPL&ca_file=\(peer.caFile)"
                + "&key_env=HOTPATH_TEST_POLYGON_BAD_KEY")
        XCTAssertEqual(
            end, .failed(.refused(peer: "127.0.0.1:\(peer.port)", reason: "auth_failed: authentication failed")))
        XCTAssertFalse(end.description.contains("pk-wrong"))
        XCTAssertEqual(feed.counts.reconnects, 0)
        XCTAssertTrue(got.isEmpty)
    }
}
