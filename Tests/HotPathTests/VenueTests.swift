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
final class VenueTests: XCTestCase {
    static let dir = TestPaths.fixtures + "/venues"

    func lines(_ name: String) throws -> [String] {
        try String(contentsOfFile: Self.dir + "/" + name, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    func books(_ messages: [String], via next: (() -> UnsafeRawBufferPointer?)? = nil) -> ([String], CoinbaseAdapter) {
        let names = ["BTC-USD", "ETH-USD"]
        var adapter = CoinbaseAdapter(products: names)
        let book = VenueBook(markets: 2)
        var out: [String] = []
        for text in messages {
            var bytes = Array(text.utf8)
            bytes.withUnsafeMutableBytes { b in
                adapter.take(UnsafeRawBufferPointer(b), book: book) { m, seq in
                    out.append(book.json(market: m, name: names[m], sequence: seq))
                }
            }
        }
        return (out, adapter)
    }

    func testCoinbaseBooksEqualTheReferenceAfterEveryMessage() throws {
        let session = try lines("coinbase.session.jsonl"), want = try lines("coinbase.books.jsonl")
        let (got, adapter) = books(session)
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
        let (got, adapter) = books(session)
        XCTAssertEqual(adapter.counts.malformed, 1)
        XCTAssertEqual(adapter.counts.unknownProduct, 1)
        XCTAssertEqual(adapter.counts.badQuantity, 2)
        XCTAssertEqual(adapter.counts.unknownChannel, 1)
        XCTAssertGreaterThanOrEqual(adapter.counts.gaps, 1)
        XCTAssertTrue(got.last!.hasSuffix(",\"stale\":true}"), "no snapshot after the gap: the books stay stale")
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
            adapter.take(bytes, book: book) { m, seq in
                got.append(book.json(market: m, name: names[m], sequence: seq))
            }
        }
        XCTAssertEqual(got.count, want.count)
        XCTAssertTrue(got == want, "books over the WebSocket differ from the reference")
        XCTAssertEqual(ws.counts.pings, 30)
        XCTAssertGreaterThan(ws.counts.fragmented, 100)
    }

    /// Applying messages allocates nothing: the same count for 300 and 2,900 messages.
    func testCoinbaseAdapterAllocatesNothingPerMessage() throws {
        try requireOptimizedBuild()
        let session = try lines("coinbase.session.jsonl").map { Array($0.utf8) }
        func mallocs(_ n: Int) -> UInt64 {
            var adapter = CoinbaseAdapter(products: ["BTC-USD", "ETH-USD"])
            let book = VenueBook(markets: 2)
            var touched = 0
            let before = hp_thread_malloc_count()
            for i in 0..<n {
                session[i].withUnsafeBytes { adapter.take($0, book: book) { _, _ in touched += 1 } }
            }
            return hp_thread_malloc_count() - before
        }
        XCTAssertEqual(mallocs(300), mallocs(2_900))
    }

    static let kalshiMarkets = ["KXFED-26DEC-T4.00", "KXBTC-26DEC31-B99500"]

    func kalshiBooks(_ messages: [String]) -> ([String], KalshiAdapter, Int) {
        var adapter = KalshiAdapter(markets: Self.kalshiMarkets)
        let book = VenueBook(markets: 2)
        var out: [String] = []
        var resyncs = 0
        for text in messages {
            var bytes = Array(text.utf8)
            bytes.withUnsafeMutableBytes { b in
                adapter.take(
                    UnsafeRawBufferPointer(b), book: book,
                    touched: { m, seq in out.append(book.json(market: m, name: Self.kalshiMarkets[m], sequence: seq)) },
                    resync: { resyncs += 1 })
            }
        }
        return (out, adapter, resyncs)
    }

    /// The YES book (asks = 1 − no bids) after every snapshot and delta equals the reference.
    func testKalshiBooksEqualTheReferenceAfterEveryMessage() throws {
        let session = try lines("kalshi.session.jsonl"), want = try lines("kalshi.books.jsonl")
        let (got, adapter, resyncs) = kalshiBooks(session)
        XCTAssertEqual(got.count, want.count)
        for (i, (g, w)) in zip(got, want).enumerated() where g != w {
            return XCTFail("book \(i) differs:\n got \(g)\nwant \(w)")
        }
        XCTAssertEqual(adapter.counts.gaps, 0)
        XCTAssertEqual(resyncs, 0)
        XCTAssertGreaterThan(adapter.counts.trades, 100)
        // A gap: the book is stale, the gap counted, a resync asked for.
        var gapped = session
        gapped.remove(at: 40)
        let (after, gappedAdapter, asked) = kalshiBooks(gapped)
        XCTAssertEqual(gappedAdapter.counts.gaps, 1)
        XCTAssertEqual(asked, 1)
        XCTAssertTrue(after.last!.hasSuffix(",\"stale\":true}") || after.contains { $0.hasSuffix(",\"stale\":true}") })
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
            adapter.take(bytes, book: book) { m, seq in
                got.append(book.json(market: m, name: Self.kalshiMarkets[m], sequence: seq))
            }
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
}
