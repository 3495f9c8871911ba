import MallocCounter
import XCTest

@testable import HotPath

final class CountersTests: XCTestCase {
    func testCountersAreNamedAndReadable() {
        let registry = CounterRegistry()
        let feed = registry.makeGroup(thread: "feed", names: ["frames_rejected", "gaps"])
        let engine = registry.makeGroup(thread: "engine", names: ["signals_suppressed"])
        feed.counter("gaps")!.increment(by: 3)
        engine[0].increment()
        XCTAssertNil(feed.counter("nope"))
        XCTAssertEqual(registry.snapshot().map(\.value), [0, 3, 1])
        XCTAssertEqual(registry.json(), "{\"feed.frames_rejected\":0,\"feed.gaps\":3,\"engine.signals_suppressed\":1}")
    }

    func testGroupsDoNotShareCacheLines() {
        let registry = CounterRegistry()
        let a = registry.makeGroup(thread: "a", names: ["x"])
        let b = registry.makeGroup(thread: "b", names: ["y"])
        let pa = UInt(bitPattern: a.slots), pb = UInt(bitPattern: b.slots)
        XCTAssertEqual(pa % 128, 0)
        XCTAssertEqual(pb % 128, 0)
        XCTAssertGreaterThanOrEqual(max(pa, pb) - min(pa, pb), 128)
    }

    func testIncrementDoesNotAllocate() throws {
        try requireOptimizedBuild()
        let registry = CounterRegistry()
        let c = registry.makeGroup(thread: "t", names: ["n"])[0]
        func run(_ n: Int) -> UInt64 {
            let before = hp_thread_malloc_count()
            for _ in 0..<n { c.increment() }
            return hp_thread_malloc_count() - before
        }
        XCTAssertEqual(run(1_000), run(1_000_000))
        XCTAssertEqual(c.value, 1_001_000)
    }
}
