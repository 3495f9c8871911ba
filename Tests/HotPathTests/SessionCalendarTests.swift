import XCTest

@testable import HotPath

#if canImport(Glibc)
import Glibc
#endif

/// The session clock against Python's zoneinfo: Tests/Fixtures/session/cases.csv, made by
/// `python3 scripts/session_cases.py` (four zones, 2024-2030, clustered round each offset
/// change), bit for bit.
final class SessionCalendarTests: XCTestCase {
    func testTheClockMatchesZoneinfo() throws {
        guard SystemFile.exists("/usr/share/zoneinfo/America/New_York") else {
            throw XCTSkip("no /usr/share/zoneinfo (the tzdata package)")
        }
        let text = try XCTUnwrap(SystemFile.read(TestPaths.fixtures + "/session/cases.csv", limit: 1 << 22))
        let arena = try Arena(bytes: 1 << 20, lock: false)
        var clocks: [String: SessionClock] = [:]
        var compared = 0, closed = 0
        for line in text.split(separator: "\n").dropFirst() {
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            if clocks[f[0]] == nil {
                let calendar = try SessionCalendar(
                    open: f[1], close: f[2], zone: f[0], closed: ["sat", "sun", "2025-07-04", "2026-12-25"])
                clocks[f[0]] = try SessionClock(calendar, arena: arena)
            }
            let (since, to) = clocks[f[0]]!.clock(at: UInt64(f[3])!)
            if f[4].isEmpty {
                XCTAssertTrue(since.isNaN && to.isNaN, "\(line): a closed day, yet \(since)")
                closed += 1
                continue
            }
            XCTAssertEqual(since.bitPattern, Double(f[4])!.bitPattern, "\(line): \(since)")
            XCTAssertEqual(to.bitPattern, Double(f[5])!.bitPattern, "\(line): \(to)")
            compared += 1
        }
        XCTAssertGreaterThan(compared, 1_000)
        XCTAssertGreaterThan(closed, 400)
    }

    /// Through the engine's path: the columns at a book event's exchange time.
    func testTheColumnsReadTheEventsExchangeTime() throws {
        let text = """
            [engine]
            max_instruments = 2
            max_orders = 1024
            [features]
            session_open = "09:30"
            session_close = "16:00"
            session_zone = "America/New_York"
            vector = ["minutes_since_open", "minutes_to_close"]
            """
        let file = temporaryFile(Array(text.utf8), suffix: ".toml")
        defer { unlink(file) }
        let c = try EngineConfig.load(path: file)
        let arena = try Arena(bytes: EventPath.arenaBytes(book: c.book, features: c.features), lock: false)
        defer { withExtendedLifetime(arena) {} }
        let path = try EventPath(book: c.book, features: c.features, arena: arena)
        defer { path.release() }
        var add = Event()
        (add.kind, add.action, add.side, add.instrumentId, add.price, add.size, add.flags, add.orderId) =
            (.order, Event.Action.add, Event.Side.bid, 3, 1_000_000_000, 1, 0x80, 1)
        add.tsEvent = 1_783_949_400_000_000_000 + 90 * 60_000_000_000  // 2026-07-13 13:30 UTC (09:30 EDT) + 90 min
        add.tsRecv = add.tsEvent + 1_000_000_000_000  // the receive time is not the session clock's
        XCTAssertEqual(path.move(add), 0)
        path.updateFeatures(book: 0, event: add)
        let i = c.featureIndices
        XCTAssertEqual(path.rows[i[0]], 90)
        XCTAssertEqual(path.rows[i[1]], 300)
    }

    func testBadSessionsAreRefusedByName() {
        let cases: [(String, String, String)] = [
            (
                "session_open = \"9:30\"\nsession_close = \"16:00\"\nsession_zone = \"America/New_York\"",
                "features.session_open", "\"9:30\" is not HH:MM"
            ),
            (
                "session_open = \"09:30\"\nsession_close = \"16:00\"\nsession_zone = \"Mars/Olympus\"",
                "features.session_zone", "no time zone \"Mars/Olympus\""
            ),
            (
                "session_open = \"09:30\"\nsession_close = \"16:00\"", "features.session_zone",
                "needs session_open, session_close and session_zone"
            ),
            (
                "session_open = \"16:30\"\nsession_close = \"16:00\"\nsession_zone = \"UTC\"", "features.session_open",
                "is not before the close"
            ),
            (
                "session_open = \"09:30\"\nsession_close = \"16:00\"\nsession_zone = \"UTC\"\nsession_closed = [\"someday\"]",
                "features.session_closed", "neither YYYY-MM-DD nor a weekday"
            ),
            ("vector = [\"minutes_since_open\"]", "features.vector[0]", "minutes_since_open needs a session"),
        ]
        for (text, key, reason) in cases {
            let path = temporaryFile(Array("[features]\n\(text)\n".utf8), suffix: ".toml")
            defer { unlink(path) }
            XCTAssertThrowsError(try EngineConfig.load(path: path), text) { error in
                XCTAssertEqual((error as? ConfigError)?.key, key, text)
                XCTAssertTrue("\(error)".contains(reason), "\(text): \(error)")
            }
        }
    }
}
