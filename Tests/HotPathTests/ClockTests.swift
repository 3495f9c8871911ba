import XCTest

@testable import HotPath

#if canImport(Glibc)
import Glibc
#endif

final class ClockTests: XCTestCase {
    func testInvariantTSCNeedsBothFlags() {
        XCTAssertTrue(
            Clock.cpuHasInvariantTSC(cpuinfo: "processor: 0\nflags\t\t: fpu tsc constant_tsc nonstop_tsc rdtscp\n"))
        XCTAssertFalse(Clock.cpuHasInvariantTSC(cpuinfo: "flags\t\t: fpu tsc constant_tsc rdtscp\n"))
        XCTAssertFalse(Clock.cpuHasInvariantTSC(cpuinfo: nil))
    }

    func testCalibratedClockTracksMonotonicTime() {
        let clock = Clock.calibrated()
        let a = clock.now(), m0 = Clock.monotonicNs()
        usleep(30_000)
        let b = clock.now(), m1 = Clock.monotonicNs()
        XCTAssertGreaterThan(b, a)
        // Elapsed time agrees with CLOCK_MONOTONIC within 0.5 ms + 1 %.
        let elapsed = Double(b - a), reference = Double(m1 - m0)
        XCTAssertEqual(elapsed, reference, accuracy: 500_000 + reference * 0.01, "\(clock)")
        // And the time line itself is CLOCK_MONOTONIC's.
        XCTAssertEqual(Double(clock.now()), Double(Clock.monotonicNs()), accuracy: 2_000_000)
    }

    func testTickDifferencesConvertToNanoseconds() {
        let clock = Clock.calibrated()
        let t0 = clock.ticks(), m0 = Clock.monotonicNs()
        usleep(20_000)
        let t1 = clock.ticks(), m1 = Clock.monotonicNs()
        XCTAssertEqual(Double(clock.nanoseconds(ticks: t1 - t0)), Double(m1 - m0), accuracy: 500_000)
    }

    /// Both stamps, under both sources, convert with the clock's own factor: a bench that read
    /// the TSC but converted with the fallback's factor reported ticks as nanoseconds.
    func testOrderedAndPlainTicksConvertUnderEitherSource() {
        setenv("HOTPATH_CLOCK", "monotonic", 1)
        let fallback = Clock.calibrated()
        unsetenv("HOTPATH_CLOCK")
        XCTAssertEqual(fallback.source, .monotonic)
        for clock in [Clock.calibrated(), fallback] {
            for stamp in [clock.ticks, clock.orderedTicks] {
                let m0 = Clock.monotonicNs(), t0 = stamp()
                usleep(20_000)
                let t1 = stamp(), m1 = Clock.monotonicNs()
                // The stamps sit inside the reference's reads: never longer (beyond the
                // calibration's error), and shorter only by the reads between them.
                let inner = Double(clock.nanoseconds(ticks: t1 - t0)), outer = Double(m1 - m0)
                XCTAssertLessThanOrEqual(inner, outer * 1.01, "\(clock)")
                XCTAssertGreaterThan(inner, outer - 1_000_000, "\(clock)")
            }
        }
    }

    func testDescriptionSaysWhichSourceIsUsed() {
        let clock = Clock.calibrated()
        let text = "\(clock)"
        switch clock.source {
        case .tsc: XCTAssertTrue(text.hasPrefix("tsc (invariant,"), text)
        case .monotonic: XCTAssertTrue(text.contains("CLOCK_MONOTONIC"), text)
        }
    }
}
