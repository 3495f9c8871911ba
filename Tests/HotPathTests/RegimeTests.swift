import Foundation
import MallocCounter
import XCTest

@testable import HotPath

/// The Gaussian HMM filter against hmmlearn 0.3.3 (the last row of predict_proba on every
/// prefix) and GARCH(1,1) against arch 8.0.0's one-step forecasts
/// (tools/adaptive/make_regime_fixtures.py).
final class RegimeTests: XCTestCase {
    let dir = TestPaths.fixtures + "/adaptive/"

    func rows(_ name: String) throws -> [[Double]] {
        try XCTUnwrap(readText(dir + name)).split(separator: "\n").dropFirst().map {
            $0.split(separator: ",").map { Double($0)! }
        }
    }

    func testTheHMMFilterMatchesHmmlearnOnEveryPrefix() throws {
        var hmm = try GaussianHMMFilter.load(path: dir + "regime-hmm.json")
        let bars = try rows("regime-bars.csv"), ref = try rows("regime-hmm.ref.csv")
        XCTAssertEqual(bars.count, ref.count)
        var p = [Double](repeating: 0, count: hmm.states)
        var worst = 0.0
        for (t, bar) in bars.enumerated() {
            hmm.update(Array(bar.prefix(4)), into: &p)
            for k in 0..<hmm.states { worst = max(worst, abs(p[k] - ref[t][k])) }
        }
        XCTAssertLessThanOrEqual(worst, 1e-9)
    }

    func testGARCHMatchesArchsOneStepForecasts() throws {
        var garch = try GARCH11.load(path: dir + "regime-garch.json")
        let bars = try rows("regime-bars.csv"), ref = try rows("regime-garch.ref.csv")
        var worst = 0.0
        for (t, bar) in bars.enumerated() { worst = max(worst, abs(garch.update(bar[0]) - ref[t][0])) }
        XCTAssertLessThanOrEqual(worst, 1e-9)
    }

    /// A new state takes over only after holding ≥ p for m bars in a row.
    func testTheRegimeChangesOnlyAfterTheNewStateHolds() {
        var regime = RegimeHysteresis(hold: 0.65, bars: 3)
        func step(_ p: [Double]) -> Int { p.withUnsafeBufferPointer { regime.update($0.baseAddress!, states: 2) } }
        XCTAssertEqual(step([0.9, 0.1]), 0)
        XCTAssertEqual(step([0.2, 0.8]), 0)
        XCTAssertEqual(step([0.3, 0.7]), 0)
        XCTAssertEqual(step([0.4, 0.6]), 0, "below the hold: the run starts again")
        XCTAssertEqual(step([0.2, 0.8]), 0)
        XCTAssertEqual(step([0.2, 0.8]), 0)
        XCTAssertEqual(step([0.2, 0.8]), 1)
        XCTAssertEqual(regime.switches, 1)
    }

    func testFilterUpdatesAllocateNothing() throws {
        try requireOptimizedBuild()
        var hmm = try GaussianHMMFilter.load(path: dir + "regime-hmm.json")
        var garch = try GARCH11.load(path: dir + "regime-garch.json")
        let x = [0.1, 0.5, 1.2, 6.5]
        var p = [0.0, 0.0, 0.0]
        func run(_ n: Int) -> UInt64 {
            x.withUnsafeBufferPointer { xb in
                p.withUnsafeMutableBufferPointer { pb in
                    let before = hp_thread_malloc_count()
                    for _ in 0..<n {
                        hmm.update(xb.baseAddress!, into: pb.baseAddress!)
                        _ = garch.update(xb[0])
                    }
                    return hp_thread_malloc_count() - before
                }
            }
        }
        XCTAssertEqual(run(100), run(10_000))
    }
}
