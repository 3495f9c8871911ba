/// Makes the loops of a replay one session in time: from the second loop on, every event's
/// exchange and receive times move forward by as much as puts the loop's first event 1 µs
/// after the latest event so far, so time windows, rates and recorded pacing see time go on
/// instead of jumping back. Costs two adds and a compare per event.
struct LoopTime {
    var shift: UInt64 = 0
    /// The latest exchange time emitted so far (shifted).
    var latest: UInt64 = 0
    /// Set at the start of every loop after the first: the next event fixes the shift.
    var loopStarts = false

    @inline(__always)
    mutating func apply(_ e: inout Event) {
        if _slowPath(loopStarts) {
            loopStarts = false
            if latest > 0 { shift = latest &+ 1_000 &- e.tsEvent }  // ≥ 0: latest ≥ every raw time
        }
        e.tsEvent &+= shift
        if e.tsRecv != 0 && e.tsRecv != UInt64.max { e.tsRecv &+= shift }
        latest = max(latest, e.tsEvent)
    }
}
