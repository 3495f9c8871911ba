import Foundation
import MallocCounter
import XCTest

@testable import HotPath

/// Venue adapters against sessions generated from the venues' documented shapes, and the
/// books a Python reference (Decimal arithmetic) computes after every message:
/// tools/live/make_coinbase_session.py --messages 3000 --seed 1
///   Tests/Fixtures/venues/coinbase.session.jsonl Tests/Fixtures/venues/coinbase.books.jsonl
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
        let deadline = Clock.monotonicNs() + 60_000_000_000
        loop: while Clock.monotonicNs() < deadline {
            switch ws.next() {
            case let .message(bytes, _):
                adapter.take(bytes, book: book) { m, seq in
                    got.append(book.json(market: m, name: names[m], sequence: seq))
                }
            case .quiet: continue
            case .ended: break loop
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
}
