/// Measures the time the host takes from a thread while it spins idle, as jHiccup and
/// sysjitter do: a spinning thread reads the clock over and over, so a gap between two
/// consecutive reads longer than `thresholdTicks` is time the CPU spent elsewhere (an
/// interrupt, another task, the hypervisor). Each such gap is recorded, in nanoseconds.
///
/// The owner calls `spin(at:)` on every idle turn with a clock read it takes anyway, and
/// `busy()` when it does real work, so the work between two idle turns is never taken for a
/// hiccup. A value over raw pointers carved at start-up: `spin` is a subtract, a compare and
/// a store unless a gap crosses the threshold.
public struct HiccupMeter: @unchecked Sendable {
    /// The default threshold: 1 µs, far above an idle turn's cost and below any preemption.
    public static let defaultThresholdNs: UInt64 = 1_000

    public let thresholdTicks: UInt64
    public let clock: Clock
    public let recorder: HistogramRecorder
    /// The previous idle turn's clock read; 0 after work (no gap to measure yet).
    @usableFromInline let last: UnsafeMutablePointer<UInt64>

    public init(thresholdNs: UInt64, clock: Clock, arena: Arena) throws(ArenaError) {
        self.clock = clock
        thresholdTicks = max(1, UInt64((Double(thresholdNs) * clock.ticksPerSecond / 1e9).rounded()))
        recorder = try HistogramRecorder(arena: arena)
        last = try arena.allocate(UInt64.self, count: 1)
        last.initialize(to: 0)
    }

    /// One idle turn whose clock read is `ticks`.
    @inlinable @inline(__always)
    public func spin(at ticks: UInt64) {
        let previous = last.pointee
        last.pointee = ticks
        if _slowPath(previous != 0 && ticks &- previous > thresholdTicks && ticks > previous) {
            recorder.record(clock.nanoseconds(ticks: ticks &- previous))
        }
    }

    /// The owner did work since its last idle turn: the next turn starts a new gap.
    @inlinable @inline(__always)
    public func busy() { last.pointee = 0 }
}

/// The threads whose hiccups a run reports, each as a `host_hiccup.<thread>` histogram beside
/// the stages. The feed and engine threads measure gaps between idle turns (`HiccupMeter`);
/// the output thread sleeps instead of spinning, so it records how late its wake-ups come.
public enum HiccupThread: Int, CaseIterable, Sendable {
    case feed, engine, output

    public var reportName: String { "host_hiccup." + String(describing: self) }
}
