import CSupport

#if canImport(Glibc)
import Glibc
#endif

/// Nanosecond time for the hot path.
///
/// Design: where the CPU has an invariant TSC (`constant_tsc` and `nonstop_tsc` in
/// /proc/cpuinfo), time is `rdtsc` scaled by a fixed-point factor measured once at start-up
/// against `CLOCK_MONOTONIC`; the conversion is one 64×64→128 multiply and a shift, no
/// syscall, no vDSO. Elsewhere (no TSC, or a TSC that stops or drifts) it falls back to
/// `clock_gettime(CLOCK_MONOTONIC)`. `HOTPATH_CLOCK=monotonic` forces the fallback.
///
/// Stages stamp raw `ticks()` and convert differences with `nanoseconds(ticks:)`, which keeps
/// the per-stamp cost to one `rdtsc`.
///
/// A plain `rdtsc` does not wait for earlier instructions, so a stamp that ends a stage can
/// be taken while the stage's last work is still in flight: a stage shorter than the CPU's
/// reorder window reads low. Ordered stamps (`rdtscp`) were measured and not kept: they cost
/// the path the stamps exist to guard (BENCHMARKS.md, "Design measurements"). Stage figures are therefore
/// attribution within a tick, and tick-to-signal (stamped at the feed and after the signal
/// push) is the figure to trust. Benchmarks that time one call fence both sides
/// (`orderedTicks()`).
public struct Clock: Sendable, CustomStringConvertible {
    public enum Source: String, Sendable {
        case tsc
        case monotonic
    }

    public let source: Source
    /// Whether /proc/cpuinfo reports an invariant TSC (both constant_tsc and nonstop_tsc).
    public let invariantTSC: Bool
    /// Ticks per second: the calibrated TSC frequency, or 1e9 for the monotonic fallback.
    public let ticksPerSecond: Double
    /// How long the calibration window was, in nanoseconds (0 for the fallback).
    public let calibrationWindowNs: UInt64
    /// Why the fallback was chosen, when it was.
    public let note: String?

    /// ns = baseNs + (Δticks · mult) >> 32.
    @usableFromInline let mult: UInt64
    @usableFromInline let baseTicks: UInt64
    @usableFromInline let baseNs: UInt64

    /// Calibrates against CLOCK_MONOTONIC over `window` nanoseconds (cold path: it sleeps).
    public static func calibrated(windowNs: UInt64 = 20_000_000) -> Clock {
        let invariant = Self.cpuHasInvariantTSC()
        var reason: String? = nil
        if hp_has_tsc() == 0 {
            reason = "this CPU architecture has no TSC"
        } else if !invariant {
            reason = "/proc/cpuinfo lacks constant_tsc or nonstop_tsc"
        } else if let forced = getenv("HOTPATH_CLOCK"), String(cString: forced) == "monotonic" {
            reason = "HOTPATH_CLOCK=monotonic"
        }
        if let reason {
            return Clock(
                source: .monotonic, invariantTSC: invariant, ticksPerSecond: 1e9,
                calibrationWindowNs: 0, note: reason, mult: 1 << 32, baseTicks: 0, baseNs: 0)
        }
        let (t0, n0) = pairedReading()
        var req = timespec(tv_sec: Int(windowNs / 1_000_000_000), tv_nsec: Int(windowNs % 1_000_000_000))
        var rem = timespec()
        while nanosleep(&req, &rem) != 0 && errno == EINTR { req = rem }
        let (t1, n1) = pairedReading()
        let hz = Double(t1 &- t0) / Double(n1 &- n0) * 1e9
        let mult = UInt64((1e9 / hz * 4294967296.0).rounded())
        return Clock(
            source: .tsc, invariantTSC: true, ticksPerSecond: hz,
            calibrationWindowNs: n1 &- n0, note: nil, mult: mult, baseTicks: t1, baseNs: n1)
    }

    /// Raw ticks: the TSC, or monotonic nanoseconds in the fallback. Cheapest stamp.
    @inlinable @inline(__always)
    public func ticks() -> UInt64 {
        source == .tsc ? hp_rdtsc() : Clock.monotonicNs()
    }

    /// Ticks read after every earlier instruction has completed (`lfence; rdtsc`; the
    /// fallback's clock_gettime is ordered already): for timing one call, where the end stamp
    /// must include all of the call's work. Costs ~20 ns a pair here, against ~10 for `ticks()`.
    @inlinable @inline(__always)
    public func orderedTicks() -> UInt64 {
        source == .tsc ? hp_rdtsc_ordered() : Clock.monotonicNs()
    }

    /// Converts a tick difference into nanoseconds.
    @inlinable @inline(__always)
    public func nanoseconds(ticks delta: UInt64) -> UInt64 {
        let (hi, lo) = delta.multipliedFullWidth(by: mult)
        return (hi << 32) | (lo >> 32)
    }

    /// Nanoseconds on the CLOCK_MONOTONIC time line.
    @inlinable @inline(__always)
    public func now() -> UInt64 {
        source == .tsc ? baseNs &+ nanoseconds(ticks: hp_rdtsc() &- baseTicks) : Clock.monotonicNs()
    }

    @inlinable @inline(__always)
    public static func monotonicNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    public var description: String {
        switch source {
        case .tsc:
            let mhz = (ticksPerSecond / 1e4).rounded() / 100
            return
                "tsc (invariant, \(mhz) MHz, calibrated over \(calibrationWindowNs / 1_000_000) ms against CLOCK_MONOTONIC)"
        case .monotonic:
            return "clock_gettime(CLOCK_MONOTONIC) (\(note ?? "fallback"))"
        }
    }

    /// Reads the TSC and CLOCK_MONOTONIC as close together as possible: of several tries,
    /// keeps the one whose bracketing TSC reads are nearest, and pairs the clock with their
    /// midpoint.
    static func pairedReading() -> (ticks: UInt64, ns: UInt64) {
        var best = (ticks: UInt64(0), ns: UInt64(0)), bestSpan = UInt64.max
        for _ in 0..<64 {
            let a = hp_rdtscp(nil)
            let ns = monotonicNs()
            let b = hp_rdtscp(nil)
            if b &- a < bestSpan {
                bestSpan = b &- a
                best = (a &+ (b &- a) / 2, ns)
            }
        }
        return best
    }

    static func cpuHasInvariantTSC(cpuinfo: String? = SystemFile.read("/proc/cpuinfo", limit: 1 << 16)) -> Bool {
        guard let text = cpuinfo,
            let flags = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return false }
        let words = Set(flags.split(separator: " ").map(String.init))
        return words.contains("constant_tsc") && words.contains("nonstop_tsc")
    }
}
