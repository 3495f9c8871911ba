import MallocCounter
import Synchronization
import XCTest

@testable import HotPath

final class HistogramTests: XCTestCase {
    func testLayoutMatchesHdrHistogramForOneNanosecondTo60SecondsAt3Digits() {
        XCTAssertEqual(HistogramLayout.bucketCount, 26)
        XCTAssertEqual(HistogramLayout.countsLength, 27_648)
    }

    func testIndexAndValueRoundTrip() {
        for v: UInt64 in [0, 1, 2047, 2048, 2049, 4095, 4096, 1_000_000, 59_999_999_999, 60_000_000_000] {
            let i = HistogramLayout.index(of: v)
            let low = HistogramLayout.value(atIndex: i)
            XCTAssertLessThanOrEqual(low, v)
            XCTAssertGreaterThanOrEqual(HistogramLayout.highestEquivalent(low), v)
            XCTAssertEqual(HistogramLayout.lowestEquivalent(v), low)
        }
        // Below 2048 every value has its own count (1 ns resolution).
        XCTAssertEqual(HistogramLayout.index(of: 1000), 1000)
        // 3 significant digits: the equivalent range is at most 1/1024 of the value.
        XCTAssertEqual(HistogramLayout.sizeOfEquivalentRange(1_000_000), 512)
    }

    func testPercentilesOfAUniformRange() throws {
        let arena = try Arena(bytes: 1 << 20, lock: false)
        defer { withExtendedLifetime(arena) {} }  // what is carved from it holds raw pointers
        let h = try LatencyHistogram(arena: arena)
        for v in UInt64(1)...10_000 { h.record(v) }
        var s = HistogramSnapshot()
        s.add(h)
        XCTAssertEqual(s.totalCount, 10_000)
        XCTAssertEqual(s.value(atPercentile: 50), 5_003)  // 5000 lands in [5000, 5003]
        XCTAssertEqual(s.value(atPercentile: 99), 9_903)
        XCTAssertEqual(s.value(atPercentile: 100), 10_007)
        XCTAssertEqual(s.value(atPercentile: 0), 1)
        XCTAssertEqual(s.minValue, 1)
        XCTAssertEqual(s.maxValue, 10_007)
        XCTAssertEqual(s.meanAndStdDev.mean, 5000.5, accuracy: 5)
    }

    func testValuesAboveTheRangeAreClampedAndCounted() throws {
        let arena = try Arena(bytes: 1 << 20, lock: false)
        defer { withExtendedLifetime(arena) {} }  // what is carved from it holds raw pointers
        let h = try LatencyHistogram(arena: arena)
        h.record(UInt64.max)
        h.record(70_000_000_000)
        h.record(5)
        XCTAssertEqual(h.clamped, 2)
        var s = HistogramSnapshot()
        s.add(h)
        XCTAssertEqual(s.totalCount, 3)
        XCTAssertEqual(s.clamped, 2)
        XCTAssertGreaterThanOrEqual(s.maxValue, HistogramLayout.highestValue)
        XCTAssertTrue(s.json.contains("\"clamped\":2"), s.json)
    }

    func testRecordDoesNotAllocate() throws {
        try requireOptimizedBuild()
        let arena = try Arena(bytes: 1 << 20, lock: false)
        defer { withExtendedLifetime(arena) {} }  // what is carved from it holds raw pointers
        let h = try LatencyHistogram(arena: arena)
        func run(_ n: UInt64) -> UInt64 {
            let before = hp_thread_malloc_count()
            for v in 0..<n { h.record(v &* 7919) }
            return hp_thread_malloc_count() - before
        }
        XCTAssertEqual(run(1_000), run(1_000_000))
    }

    func testPercentileDistributionTextHasHdrHistogramShape() {
        var s = HistogramSnapshot()
        for v in UInt64(1)...1000 { s.record(v * 1000) }
        let text = s.percentileDistribution(scale: 1000)
        let lines = text.split(separator: "\n")
        XCTAssertEqual(lines.first, "       Value     Percentile TotalCount 1/(1-Percentile)")
        XCTAssertTrue(lines.contains { $0.hasSuffix("1.000000000000       1000") }, text)
        XCTAssertTrue(text.contains("#[Mean    ="), text)
        XCTAssertTrue(text.contains("#[Buckets =           26, SubBuckets     =         2048]"), text)
        // Rows are in non-decreasing value and percentile order.
        let rows = lines.dropFirst().filter { !$0.hasPrefix("#") }.map { $0.split(separator: " ") }
        XCTAssertGreaterThan(rows.count, 20)
        let values = rows.map { Double($0[0])! }, pcts = rows.map { Double($0[1])! }
        XCTAssertEqual(values, values.sorted())
        XCTAssertEqual(pcts, pcts.sorted())
    }

    /// The owner keeps recording while a cold thread collects; no value is lost or counted twice.
    func testRecorderHandsCountsToAColdThreadWithoutLoss() throws {
        let arena = try Arena(bytes: 1 << 21, lock: false)
        defer { withExtendedLifetime(arena) {} }  // what is carved from it holds raw pointers
        let recorder = try HistogramRecorder(arena: arena)
        let total = 2_000_000
        let owner = try PinnedThread.start(name: "test-owner", cpu: nil) {
            for i in 0..<total {
                recorder.record(UInt64(i % 5000))
                if i & 255 == 0 { recorder.poll() }
            }
            // Keep answering requests until the test says stop.
            while !RecorderTestFlag.stop.load(ordering: .acquiring) { recorder.poll() }
        }
        var snapshot = HistogramSnapshot()
        var collects = 0
        for _ in 0..<20 {
            if recorder.collect(into: &snapshot) { collects += 1 }
        }
        RecorderTestFlag.stop.store(true, ordering: .releasing)
        owner.join()
        recorder.collectAfterOwnerStopped(into: &snapshot)
        XCTAssertEqual(snapshot.totalCount, UInt64(total))
        XCTAssertGreaterThan(collects, 0)
    }
}

enum RecorderTestFlag {
    static let stop = Atomic<Bool>(false)
}
