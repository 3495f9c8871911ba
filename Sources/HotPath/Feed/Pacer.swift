import CSupport

#if canImport(Glibc)
import Glibc
#endif

/// Holds events back to their recorded spacing (scaled by the speed factor), or to a fixed
/// rate.
struct Pacer {
    let pace: FileReplay.Pace
    let clock: Clock
    /// Fed every clock read of the fixed-rate spin.
    let hiccups: HiccupMeter?
    var firstFeedNs: UInt64 = 0
    var startNs: UInt64 = 0
    let inverseSpeed: Double
    /// Fixed rate: the next event's due time in TSC ticks, and the spacing.
    var dueTicks = 0.0
    let intervalTicks: Double

    init(pace: FileReplay.Pace, clock: Clock, hiccups: HiccupMeter? = nil) {
        self.pace = pace
        self.clock = clock
        self.hiccups = hiccups
        if case let .recorded(speed) = pace { inverseSpeed = 1 / max(speed, 1e-9) } else { inverseSpeed = 0 }
        if case let .rate(perSecond) = pace {
            intervalTicks = clock.ticksPerSecond / max(perSecond, 1e-9)
        } else {
            intervalTicks = 0
        }
    }

    /// Waits until `e` is due. At a fixed rate, returns its due time (TSC ticks), which is the
    /// event's stamp even when the wait found it already late.
    @inline(__always)
    mutating func wait(for e: Event) -> UInt64? {
        switch pace {
        case .max: return nil
        case .rate:
            if dueTicks == 0 { dueTicks = Double(clock.ticks()) }
            let due = UInt64(dueTicks)
            dueTicks += intervalTicks
            while true {
                let now = clock.ticks()
                hiccups?.spin(at: now)
                if now >= due { break }
                hp_cpu_relax()
            }
            hiccups?.busy()
            return due
        case .recorded:
            waitRecorded(e)
            return nil
        }
    }

    @inline(__always)
    mutating func waitRecorded(_ e: Event) {
        let t = e.tsRecv != 0 && e.tsRecv != UInt64.max ? e.tsRecv : e.tsEvent
        if startNs == 0 {
            firstFeedNs = t
            startNs = clock.now()
            return
        }
        guard t > firstFeedNs else { return }
        let target = startNs &+ UInt64(Double(t &- firstFeedNs) * inverseSpeed)
        while true {
            let now = clock.now()
            if now >= target { return }
            let left = target &- now
            if left > 200_000 {
                var ts = timespec(tv_sec: 0, tv_nsec: Int(min(left - 100_000, 100_000_000)))
                nanosleep(&ts, nil)
            } else {
                hp_cpu_relax()
            }
        }
    }
}
