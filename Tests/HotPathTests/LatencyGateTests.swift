import Foundation
import XCTest

@testable import HotPath

/// The latency gate's three kinds: the relative A/B comparison, instruction budgets, and the
/// host-hiccup measure behind `host_hiccup.*` and `tune jitter`.
final class LatencyGateTests: XCTestCase {
    /// A report whose every gated metric is `ns` (inference p99 `tail`).
    func report(_ ns: UInt64, tail: UInt64? = nil) -> RunReport {
        var r = RunReport()
        for stage in Stage.allCases {
            var s = LatencySummary()
            s.count = 1_000
            s.p50 = ns
            s.p99 = stage == .inference ? (tail ?? 2 * ns) : 2 * ns
            r.stages.append((stage.name, s))
        }
        return r
    }

    func row(_ rows: [ABGate.Row], _ name: String) -> ABGate.Row { rows.first { $0.metric.name == name }! }

    func testABGateHoldsWhenBothBuildsMeasureAlike() throws {
        let head = [1_000, 1_100, 900, 1_000, 1_050].map { report(UInt64($0)) }
        let rows = try ABGate().compare(head: head, base: head)
        XCTAssertTrue(rows.allSatisfy(\.ok))
        XCTAssertEqual(
            rows.map(\.metric.name),
            [
                "decode p50", "book p50", "features p50", "inference p50", "signal p50", "tick_to_signal p50",
                "inference p99",
            ])
        XCTAssertTrue(rows.allSatisfy { $0.median == 1 })
    }

    /// The host's drift moves both builds of a pair alike and cancels in the pair's ratio.
    func testABGateCancelsDriftThatSlowsBothBuildsOfAPair() throws {
        let speeds = [1.0, 2.5, 1.3, 3.0, 1.0]
        let base = speeds.map { report(UInt64(400 * $0)) }
        let head = speeds.map { report(UInt64(420 * $0)) }
        XCTAssertTrue(try ABGate().compare(head: head, base: base).allSatisfy(\.ok))
    }

    func testABGateFailsAMedianSlowDownOverTheTolerance() throws {
        let base = (0..<5).map { _ in report(1_000) }
        let head = (0..<5).map { _ in report(1_250) }
        let rows = try ABGate().compare(head: head, base: base)
        XCTAssertFalse(row(rows, "inference p50").ok)
        XCTAssertEqual(row(rows, "inference p50").median, 1.25, accuracy: 1e-12)
    }

    func testOneDisturbedPairDoesNotDecide() throws {
        let base = (0..<5).map { _ in report(1_000) }
        let head = [1_000, 3_000, 1_000, 1_020, 990].map { report(UInt64($0)) }
        XCTAssertTrue(try ABGate().compare(head: head, base: base).allSatisfy(\.ok))
    }

    /// Stages under the floor read in clock steps (10 → 20 ns is one step, not a 2× slow-down).
    func testValuesUnderTheFloorCompareAsTheFloor() throws {
        let base = (0..<3).map { _ in report(10) }
        let head = (0..<3).map { _ in report(20) }
        XCTAssertTrue(try ABGate().compare(head: head, base: base).allSatisfy(\.ok))
        var noFloor = ABGate()
        noFloor.floorNs = 0
        XCTAssertFalse(try noFloor.compare(head: head, base: base).allSatisfy(\.ok))
    }

    func testTailHasItsOwnTolerance() throws {
        let base = (0..<3).map { _ in report(1_000, tail: 2_000) }
        let head = (0..<3).map { _ in report(1_000, tail: 2_300) }
        let rows = try ABGate().compare(head: head, base: base)
        XCTAssertTrue(row(rows, "inference p50").ok)
        XCTAssertTrue(row(rows, "inference p99").ok, "+15 % within the 25 % tail tolerance")
        let worse = (0..<3).map { _ in report(1_000, tail: 2_600) }
        XCTAssertFalse(row(try ABGate().compare(head: worse, base: base), "inference p99").ok)
    }

    func testABGateRefusesUnpairedOrIncompleteReports() {
        XCTAssertThrowsError(try ABGate().compare(head: [report(1)], base: []))
        var partial = report(1_000)
        partial.stages.removeAll { $0.0 == "signal" }
        XCTAssertThrowsError(try ABGate().compare(head: [partial], base: [report(1_000)])) { error in
            XCTAssertTrue("\(error)".contains("signal p50"), "\(error)")
        }
    }

    // MARK: Instruction budgets

    func counts(_ perUnit: [InstructionWork.Stage: Double]) -> InstructionCount {
        var c = InstructionCount()
        c.stages = InstructionWork.Stage.allCases.map {
            ($0, .init(instructions: UInt64((perUnit[$0] ?? 0) * 10_000), units: 10_000))
        }
        return c
    }

    func testAFivePercentInstructionRegressionInAnyStageFails() throws {
        let budgets = try GateBudgets.load(path: TestPaths.root + "/.ci/budgets.toml").instructions
        XCTAssertEqual(
            Set(budgets.perUnit.keys), Set(InstructionWork.Stage.allCases), ".ci/budgets.toml budgets every stage")
        XCTAssertTrue(budgets.check(counts(budgets.perUnit)).allSatisfy(\.ok))
        for stage in InstructionWork.Stage.allCases {
            var grown = budgets.perUnit
            grown[stage]! *= 1.05
            let rows = budgets.check(counts(grown))
            XCTAssertEqual(rows.filter { !$0.ok }.map(\.stage), [stage])
        }
    }

    func testInstructionCountsRoundTripAndReadCallgrindAnnotate() throws {
        let listing = """
            132,572,283 (100.0%)  ???:$s7HotPath15InstructionWorkO3run [/tmp/hp]
            104,045,444 (78.48%)  ???:hp_stage_inference [/tmp/hp]
             16,592,511 (12.52%)  ???:hp_stage_features [/tmp/hp]
              9,823,483 ( 7.41%)  ???:hp_stage_decode_book [/tmp/hp]
              2,110,845 ( 1.59%)  ???:hp_stage_signal [/tmp/hp]
            """
        let c = try InstructionCount.parse(
            unitsJSON: "{\"records\":22330,\"updates\":22000,\"evaluations\":21747}\n",
            annotated: listing, messages: 20_000)
        XCTAssertEqual(c.entry(.inference)?.instructions, 104_045_444)
        XCTAssertEqual(c.entry(.decodeBook)?.units, 22_330)
        XCTAssertEqual(c.entry(.features)?.units, 22_000)
        XCTAssertEqual(c.entry(.signal)?.units, 21_747)
        let path = temporaryFile(Array(c.json.utf8), suffix: ".json")
        defer { unlink(path) }
        XCTAssertEqual(try InstructionCount.load(path: path), c)
        XCTAssertThrowsError(try InstructionCount.parse(unitsJSON: "{}", annotated: listing, messages: 1))
    }

    // MARK: Host hiccups

    func testHiccupMeterRecordsOnlyIdleGapsOverTheThreshold() throws {
        let arena = try Arena(bytes: 1 << 20, lock: false)
        let clock = Clock.calibrated()
        let meter = try HiccupMeter(thresholdNs: 1_000, clock: clock, arena: arena)
        let tick = UInt64(clock.ticksPerSecond / 1e9 * 100)  // ~100 ns
        var t: UInt64 = 1_000_000
        meter.spin(at: t)
        for _ in 0..<100 { t += tick; meter.spin(at: t) }  // short turns: no hiccup
        t += 50 * tick; meter.spin(at: t)  // ~5 µs taken: one hiccup
        meter.busy()
        t += 1_000 * tick; meter.spin(at: t)  // after work: not a gap
        t += tick; meter.spin(at: t)
        var h = HistogramSnapshot()
        meter.recorder.collectAfterOwnerStopped(into: &h)
        XCTAssertEqual(h.totalCount, 1)
        XCTAssertEqual(Double(h.maxValue), 5_000, accuracy: 100)
        withExtendedLifetime(arena) {}
    }

    func testJitterProbeSpinsOnEachCPU() throws {
        let cpus = PinnedThread.currentAffinity().cpus
        var probe = JitterProbe(cpus: cpus)
        probe.seconds = 0.05
        let results = try probe.run()
        XCTAssertEqual(results.map(\.cpu), cpus)
        for r in results {
            XCTAssertGreaterThanOrEqual(r.spunNs, 50_000_000)
            XCTAssertLessThan(r.stolenShare, 1)
        }
        let json =
            try JSONSerialization.jsonObject(with: Data(JitterProbe.json(results, thresholdNs: 1_000).utf8))
            as? [String: Any]
        XCTAssertEqual((json?["cpus"] as? [[String: Any]])?.count, cpus.count)
    }
}
