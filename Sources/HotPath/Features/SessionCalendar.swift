#if canImport(Glibc)
import Glibc
#endif

/// An exchange's trading session for the session-clock columns (`minutes_since_open`,
/// `minutes_to_close`): an open and a close time in a time zone, and the days it is closed.
///
/// The zone's offsets come from its TZif file (RFC 8536, version 2 or later, 64-bit
/// transitions) under /usr/share/zoneinfo, read once at load; a file whose transitions end
/// within a year of now (a "slim" build, which leaves later years to a rule string) is refused
/// rather than extended by guess; a zone whose rule has no daylight time keeps its last offset.
/// Closed days are local dates ("2026-12-25") and weekdays
/// ("sat", "sun"; the default), on which both columns are NaN. Times are the events' exchange
/// times, so a replay and a live run of a day give the same values. Looking a time up is a
/// binary search over the zone's transitions and the closed dates, in memory sized at load.
public struct SessionCalendar: Sendable, Equatable {
    /// Minutes after local midnight.
    public var open: Int, close: Int
    public var zone: String
    /// UTC seconds of each offset change, and the offset (seconds east of UTC) from it on.
    var transitions: [Int64] = [], offsets: [Int32] = []
    /// The offset before the first transition.
    var initialOffset: Int32 = 0
    /// Local days (since 1970-01-01) closed, sorted; weekdays closed (bit 0 = Sunday).
    var closedDays: [Int64] = []
    var closedWeekdays: UInt8 = 0b0100_0001

    /// Reads the zone and parses the times and closed days. The reason on a refusal names the
    /// part that is wrong.
    public init(
        open: String, close: String, zone: String, closed: [String]? = nil,
        zoneinfo: String = "/usr/share/zoneinfo", now: Int64 = Int64(time(nil))
    ) throws(IndicatorColumns.Refusal) {
        guard let o = Self.minutes(open) else { throw .init("\"\(open)\" is not HH:MM", key: "session_open") }
        guard let c = Self.minutes(close) else { throw .init("\"\(close)\" is not HH:MM", key: "session_close") }
        guard o < c else { throw .init("\(open) is not before the close, \(close)", key: "session_open") }
        (self.open, self.close, self.zone) = (o, c, zone)
        guard !zone.isEmpty, !zone.hasPrefix("/"), !zone.contains(".."),
            let bytes = SystemFile.readBytes(zoneinfo + "/" + zone, limit: 1 << 20)
        else { throw .init("no time zone \"\(zone)\" under \(zoneinfo)") }
        let changesLater = try readTZif(bytes, zone: zone)
        guard !changesLater || (transitions.last ?? .min) > now + 365 * 86_400 else {
            throw .init(
                "the zone file for \(zone) lists offsets only to \(transitions.last.map { "\($0 / 31_556_952 + 1970)" } ?? "none"); a build with transitions to 2037 (tzdata's \"fat\" files) is needed"
            )
        }
        if let closed {
            closedWeekdays = 0
            let names = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
            for text in closed {
                if let d = names.firstIndex(of: text.lowercased()) {
                    closedWeekdays |= 1 << UInt8(d)
                } else if let day = Self.day(text) {
                    closedDays.append(day)
                } else {
                    throw .init("\"\(text)\" is neither YYYY-MM-DD nor a weekday (sun … sat)", key: "session_closed")
                }
            }
            closedDays.sort()
        }
    }

    /// "HH:MM" → minutes after midnight.
    static func minutes(_ s: String) -> Int? {
        let p = s.split(separator: ":")
        guard p.count == 2, p[0].count == 2, p[1].count == 2, let h = Int(p[0]), let m = Int(p[1]),
            (0...24).contains(h), (0...59).contains(m), h * 60 + m <= 1_440
        else { return nil }
        return h * 60 + m
    }

    /// "YYYY-MM-DD" → days since 1970-01-01 (proleptic Gregorian).
    static func day(_ s: String) -> Int64? {
        let p = s.split(separator: "-")
        guard p.count == 3, p[0].count == 4, p[1].count == 2, p[2].count == 2, let y = Int64(p[0]),
            let m = Int64(p[1]), let d = Int64(p[2]), (1...12).contains(m), (1...31).contains(d)
        else { return nil }
        // Days from civil (Howard Hinnant's algorithm).
        let yy = m <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The version 2+ block of a TZif file: its 64-bit transitions and their offsets. Returns
    /// whether the footer's rule changes the offset after the last transition (daylight time).
    mutating func readTZif(_ b: [UInt8], zone: String) throws(IndicatorColumns.Refusal) -> Bool {
        func refuse(_ why: String) -> IndicatorColumns.Refusal { .init("time zone \(zone): \(why)") }
        func be(_ at: Int, _ n: Int) -> Int64 {
            var v: Int64 = 0
            for i in 0..<n { v = v << 8 | Int64(b[at + i]) }
            return n == 4 ? Int64(Int32(truncatingIfNeeded: v)) : v
        }
        func counts(_ at: Int) -> [Int]? {
            guard b.count >= at + 44, b[at] == 0x54, b[at + 1] == 0x5A, b[at + 2] == 0x69, b[at + 3] == 0x66 else {
                return nil
            }
            return (0..<6).map { Int(UInt32(truncatingIfNeeded: be(at + 20 + 4 * $0, 4))) }
        }
        guard let v1 = counts(0) else { throw refuse("not a TZif file") }
        guard b[4] >= 0x32 else { throw refuse("a version 1 TZif file (64-bit transitions needed)") }
        // Skip the 32-bit block: isut, isstd, leap, time, type, char counts.
        let skip = 44 + v1[3] * 5 + v1[4] * 6 + v1[5] + v1[2] * 8 + v1[1] + v1[0]
        guard let c = counts(skip) else { throw refuse("no version 2 header") }
        let (leaps, times, types) = (c[2], c[3], c[4])
        let at = skip + 44
        guard types > 0, b.count >= at + times * 9 + types * 6 + leaps * 12 else { throw refuse("truncated") }
        var typeOffsets: [Int32] = []
        for k in 0..<types { typeOffsets.append(Int32(truncatingIfNeeded: be(at + times * 9 + k * 6, 4))) }
        for i in 0..<times {
            let type = Int(b[at + times * 8 + i])
            guard type < types else { throw refuse("transition \(i) names type \(type) of \(types)") }
            transitions.append(be(at + i * 8, 8))
            offsets.append(typeOffsets[type])
        }
        guard zip(transitions, transitions.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw refuse("transitions out of order")
        }
        initialOffset = typeOffsets[0]
        // The footer, "\n<POSIX TZ>\n": a rule with a comma has daylight time.
        let footer = at + times * 9 + types * 6 + c[5] + leaps * 12 + c[1] + c[0]
        guard footer < b.count, b[footer] == 0x0A else { return true }
        return b[(footer + 1)...].prefix { $0 != 0x0A }.contains(UInt8(ascii: ","))
    }

    /// Bytes `SessionClock.init` carves.
    var arenaBytes: Int {
        Arena.footprint(Int64.self, count: transitions.count + 1)
            + Arena.footprint(Int32.self, count: offsets.count + 1)
            + Arena.footprint(Int64.self, count: closedDays.count + 1)
    }
}

/// A `SessionCalendar` in arena memory, for the engine thread: raw pointers and counts, no
/// arrays (whose reads could retain).
struct SessionClock {
    let transitions: UnsafeMutablePointer<Int64>, offsets: UnsafeMutablePointer<Int32>
    let closedDays: UnsafeMutablePointer<Int64>
    let transitionCount: Int, closedCount: Int
    let open: Double, close: Double
    let initialOffset: Int64
    let closedWeekdays: UInt8

    init(_ c: SessionCalendar, arena: Arena) throws(ArenaError) {
        transitionCount = c.transitions.count
        closedCount = c.closedDays.count
        transitions = try arena.allocate(Int64.self, count: transitionCount + 1)
        transitions.initialize(from: c.transitions, count: transitionCount)
        offsets = try arena.allocate(Int32.self, count: transitionCount + 1)
        offsets.initialize(from: c.offsets, count: transitionCount)
        closedDays = try arena.allocate(Int64.self, count: closedCount + 1)
        closedDays.initialize(from: c.closedDays, count: closedCount)
        (open, close) = (Double(c.open), Double(c.close))
        initialOffset = Int64(c.initialOffset)
        closedWeekdays = c.closedWeekdays
    }

    /// Minutes since the open and to the close at UTC time `ns`; NaN on a closed day.
    func clock(at ns: UInt64) -> (sinceOpen: Double, toClose: Double) {
        let utc = Int64(ns / 1_000_000_000)
        // The last transition at or before `utc`.
        var lo = 0, hi = transitionCount
        while lo < hi {
            let mid = (lo + hi) / 2
            if transitions[mid] <= utc { lo = mid + 1 } else { hi = mid }
        }
        let offset = lo == 0 ? initialOffset : Int64(offsets[lo - 1])
        let localNs = Int64(ns % 1_000_000_000) + (utc + offset) * 1_000_000_000
        let dayNs: Int64 = 86_400_000_000_000
        let day = localNs >= 0 ? localNs / dayNs : (localNs + 1) / dayNs - 1
        let weekday = ((day % 7) + 7 + 4) % 7  // 1970-01-01 was a Thursday
        if closedWeekdays & (1 << UInt8(weekday)) != 0 { return (.nan, .nan) }
        var a = 0, z = closedCount
        while a < z {
            let m = (a + z) / 2
            if closedDays[m] < day { a = m + 1 } else { z = m }
        }
        if a < closedCount && closedDays[a] == day { return (.nan, .nan) }
        let minute = Double(localNs - day * dayNs) / 60e9
        return (minute - open, close - minute)
    }
}
