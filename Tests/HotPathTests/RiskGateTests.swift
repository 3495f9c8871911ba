import XCTest

@testable import HotPath

#if canImport(Glibc)
import Glibc
#endif

/// The kill switch, the data-age gate and the latency-budget gate, each on and off, and the
/// kill switch's file watch.
final class RiskGateTests: XCTestCase {
    func gates(_ limits: RiskGates.Limits) throws -> (RiskGates, Arena) {
        let arena = try Arena(bytes: 1 << 20)
        return (try RiskGates(limits: limits, books: 2, arena: arena), arena)
    }

    func signal() -> Signal {
        var s = Signal()
        s.side = Event.Side.bid
        s.edge = 0.5
        s.mid = 100_000_000_000
        return s
    }

    func event(age ns: UInt64) -> Event {
        var e = Event()
        e.tsEvent = 1_000_000_000_000
        e.tsRecv = e.tsEvent + ns
        return e
    }

    func testTheKillSwitchSuppressesEverythingWhileSet() throws {
        let (g, arena) = try gates(.init())
        defer { withExtendedLifetime(arena) {} }
        XCTAssertNil(g.check(signal(), book: 0, event: event(age: 0), stale: false, finite: true))
        g.killSwitch.pointee.store(true, ordering: .relaxed)
        XCTAssertEqual(g.check(signal(), book: 0, event: event(age: 0), stale: false, finite: true), .killSwitch)
        // First among the gates: a stale book with a non-finite feature still reads kill_switch.
        XCTAssertEqual(g.check(signal(), book: 0, event: event(age: 0), stale: true, finite: false), .killSwitch)
        g.killSwitch.pointee.store(false, ordering: .relaxed)
        XCTAssertNil(g.check(signal(), book: 0, event: event(age: 0), stale: false, finite: true))
    }

    func testDataOlderThanMaxAgeIsSuppressed() throws {
        var limits = RiskGates.Limits()
        limits.maxAgeNs = 1_000_000
        let (g, arena) = try gates(limits)
        defer { withExtendedLifetime(arena) {} }
        XCTAssertEqual(g.check(signal(), book: 0, event: event(age: 2_000_000), stale: false, finite: true), .dataAge)
        XCTAssertNil(g.check(signal(), book: 0, event: event(age: 500_000), stale: false, finite: true))
        var unknown = event(age: 0)
        unknown.tsRecv = .max  // no receive time: no age to judge
        XCTAssertNil(g.check(signal(), book: 1, event: unknown, stale: false, finite: true))
        let (off, arena2) = try gates(.init())
        defer { withExtendedLifetime(arena2) {} }
        XCTAssertNil(off.check(signal(), book: 0, event: event(age: 10_000_000_000), stale: false, finite: true))
    }

    func testABreachingBudgetSuppressesOnlyWhenConfigured() throws {
        var limits = RiskGates.Limits()
        limits.suppressOnBudgetBreach = true
        let (g, arena) = try gates(limits)
        defer { withExtendedLifetime(arena) {} }
        g.breaching.pointee.store(true, ordering: .relaxed)
        XCTAssertEqual(g.check(signal(), book: 0, event: event(age: 0), stale: false, finite: true), .latencyBudget)
        g.breaching.pointee.store(false, ordering: .relaxed)
        XCTAssertNil(g.check(signal(), book: 0, event: event(age: 0), stale: false, finite: true))
        let (off, arena2) = try gates(.init())
        defer { withExtendedLifetime(arena2) {} }
        off.breaching.pointee.store(true, ordering: .relaxed)
        XCTAssertNil(off.check(signal(), book: 0, event: event(age: 0), stale: false, finite: true))
    }

    /// The output thread sees the kill-switch file appear and go through inotify, not a poll:
    /// a wait far longer than the test returns as soon as the file is created.
    func testTheKillSwitchFileIsWatched() throws {
        let dir = NSTemporaryDirectory() + "hotpath-kill-\(getpid())"
        mkdir(dir, 0o700)
        defer { rmdir(dir) }
        let path = dir + "/kill"
        let watch = DirectoryWatch(files: [path])
        defer { watch.close() }
        XCTAssertTrue(watch.watching)
        XCTAssertFalse(watch.drain())
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: nil))
        watch.wait(ms: 60_000)
        XCTAssertTrue(watch.drain())
        XCTAssertTrue(SystemFile.exists(path))
        unlink(path)
        watch.wait(ms: 60_000)
        XCTAssertTrue(watch.drain())
        XCTAssertFalse(SystemFile.exists(path))
        XCTAssertFalse(DirectoryWatch(files: ["/nonexistent-dir/kill"]).watching)
    }
}

extension RiskGates {
    /// `check` with the configured limits (no regimes).
    func check(_ s: Signal, book: Int, event e: Event, stale: Bool, finite: Bool) -> Reason? {
        check(
            s, book: book, event: e, stale: stale, finite: finite, maxPosition: limits.maxPosition,
            orderSize: limits.orderSize)
    }
}
