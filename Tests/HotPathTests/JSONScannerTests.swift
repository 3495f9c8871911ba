import Foundation
import MallocCounter
import XCTest

@testable import HotPath

/// The allocation-free JSON scanner: decimals exactly as Python's Decimal has them, members
/// and elements of venue-shaped messages, skipped values, malformed text, no allocation.
final class JSONScannerTests: XCTestCase {
    func scan<R>(_ text: String, _ body: (inout JSONScanner) -> R) -> R {
        var bytes = Array(text.utf8)
        return bytes.withUnsafeMutableBytes { b in
            var s = JSONScanner(UnsafeRawBufferPointer(b))
            return body(&s)
        }
    }

    /// Every text of Tests/Fixtures/json/decimals.tsv (tools/live/make_decimal_fixture.py:
    /// Python's Decimal × 10^9, exact, or refused), as a string and as a bare number.
    func testDecimalsMatchPythonsDecimal() throws {
        let text = try String(contentsOfFile: TestPaths.fixtures + "/json/decimals.tsv", encoding: .utf8)
        var checked = 0
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let cols = line.split(separator: "\t", omittingEmptySubsequences: false)
            let want = cols[1] == "refused" ? nil : Int64(cols[1])
            var raw = Array(cols[0].utf8)
            let got = raw.withUnsafeMutableBufferPointer {
                JSONScanner.decimal(JSONScanner.Text(start: UnsafePointer($0.baseAddress!), count: $0.count), scale: 9)
            }
            XCTAssertEqual(got, want, "\(cols[0])")
            checked += 1
            if let want {
                XCTAssertEqual(scan("\"\(cols[0])\"") { $0.fixedPoint() }, want, "\"\(cols[0])\"")
            }
        }
        XCTAssertEqual(checked, 3000)
    }

    func testMembersAndElementsOfAKalshiSnapshot() {
        let message = """
            {"type":"orderbook_snapshot","sid":2,"seq":7,"msg":{"market_ticker":"FED-23DEC-T3.00","extra":{"a":[1,{"b":null}],"c":true},\
            "yes_dollars_fp":[["0.0800","300.00"],["0.2200","333.50"]],"no_dollars_fp":[["0.5400","20.00"]]}}
            """
        var levels: [(Int64, Int64)] = []
        var seq: Int64 = 0
        var type = ""
        let ok = scan(message) { s in
            s.members { s, key in
                if key.equals("type") { type = s.text()!.string }
                if key.equals("seq") { seq = s.integer()! }
                if key.equals("msg") {
                    s.members { s, key in
                        guard key.equals("yes_dollars_fp") || key.equals("no_dollars_fp") else { return true }
                        s.elements { s in
                            var pair: [Int64] = []
                            s.elements { s in
                                pair.append(s.fixedPoint()!)
                                return true
                            }
                            levels.append((pair[0], pair[1]))
                            return true
                        }
                        return true
                    }
                }
                return true
            } && s.finish()
        }
        XCTAssertTrue(ok)
        XCTAssertEqual(type, "orderbook_snapshot")
        XCTAssertEqual(seq, 7)
        XCTAssertEqual(levels.map(\.0), [80_000_000, 220_000_000, 540_000_000])
        XCTAssertEqual(levels.map(\.1), [300_000_000_000, 333_500_000_000, 20_000_000_000])
    }

    func testMalformedTextFailsWithAnOffsetAndNeverTraps() {
        for bad in [
            "{\"a\":", "{\"a\" 1}", "[1,2", "{\"a\":tru}", "{\"a\":\"x}", "{\"a\":1,}", "[1 2]", "{1:2}",
            String(repeating: "[", count: 100) + String(repeating: "]", count: 100), "{\"a\":[}", "\"a\u{01}\"", "",
        ] {
            let failure = scan(bad) { s -> JSONScanner.Failure? in
                if s.peek() == UInt8(ascii: "{") {
                    s.members { _, _ in true }
                } else {
                    s.skipValue()
                }
                _ = s.finish()
                return s.failure
            }
            XCTAssertNotNil(failure, bad)
        }
        XCTAssertNil(
            scan("  {\"a\": [1, -2.5e3, \"x\", {\"b\": [null, false]}], \"c\": {}} ") { s in
                s.skipValue()
                _ = s.finish()
                return s.failure
            })
    }

    /// Scanning allocates nothing: the same count for 10 and 10,000 messages.
    func testScanningAllocatesNothing() throws {
        try requireOptimizedBuild()
        var bytes = Array(
            #"{"channel":"l2_data","sequence_num":41,"events":[{"type":"update","product_id":"BTC-USD","updates":[{"side":"bid","event_time":"2023-02-09T20:32:50.714964855Z","price_level":"21921.73","new_quantity":"0.06317902"}]}]}"#
                .utf8)
        func mallocs(_ n: Int) -> UInt64 {
            var sum: Int64 = 0
            let before = hp_thread_malloc_count()
            bytes.withUnsafeMutableBytes { b in
                for _ in 0..<n {
                    var s = JSONScanner(UnsafeRawBufferPointer(b))
                    s.members { s, key in
                        guard key.equals("events") else { return true }
                        s.elements { s in
                            s.members { s, key in
                                guard key.equals("updates") else { return true }
                                s.elements { s in
                                    s.members { s, key in
                                        if key.equals("price_level") || key.equals("new_quantity") {
                                            sum &+= s.fixedPoint() ?? 0
                                        }
                                        return true
                                    }
                                    return true
                                }
                                return true
                            }
                            return true
                        }
                        return true
                    }
                }
            }
            XCTAssertEqual(sum, Int64(n) * (21_921_730_000_000 + 63_179_020))
            return hp_thread_malloc_count() - before
        }
        XCTAssertEqual(mallocs(10), mallocs(10_000))
    }
}
