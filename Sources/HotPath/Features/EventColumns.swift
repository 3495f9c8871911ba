#if canImport(Glibc)
import Glibc
#endif

/// The configured per-event columns of the feature vector: features the seeds name that the
/// fixed vector lacks, computed only when `[features] vector` names them.
///
/// Over the instrument's last N published book views (N from the name, 2…100,000):
/// - `spread_mean(N)`, `spread_std(N)` (population): of the spread;
/// - `spread_pct(N)`: the share of those N spreads at or below the current one (0…1], the
///   current one included, compared as integer nanos (a 3-tick spread equals every other 3-tick
///   spread, whichever prices made it); O(N) a view, so N is at most 4,096;
/// - `obi_momentum(N)`: the L1 order-book imbalance less its mean over the last N views.
/// On each view, without a window:
/// - `microprice_delta`: the microprice's change since the previous view that had one;
/// - `microprice_mid`: microprice − mid.
/// On each trade (book events carry the last value):
/// - `tick_direction`: the tick rule, +1 for a trade above the last different trade price,
///   −1 below, the previous sign at an equal price (NaN before the first trade, 0 until a
///   price has changed);
/// - `effective_spread_bps`: 2·|price − mid| / mid in bps, against the last published mid.
/// The fixed vector's windowed features at other windows (over the feature clock, as there):
/// - `return(S)`: log mid now − log mid at or before now − S (`return_1s` at S = 1s);
/// - `realized_vol(S)`: sqrt(Σ r²) of the per-view log mid returns over the last S
///   (`realized_vol_60s` at S = 60s);
/// - `imbalance(Lk)`: bid depth / (bid + ask depth) over the top k levels (`imbalance_l5` at k = 5
///   with `levels = 5`), k in 1…64.
/// The session clock, from the calendar `[features] session_*` sets (`SessionCalendar`), at
/// each view's exchange time: `minutes_since_open` and `minutes_to_close` (negative outside the
/// session's hours, NaN on a closed day).
/// Arrival rates, per second over the last S of the feature clock (S from the name: 500ms, 1s,
/// 5s, 1m; each book event evicts what has left the window):
/// - `buy_rate(S)`, `sell_rate(S)`: trades by aggressor side (DBN/ITCH side B, A);
/// - `cancel_rate(S)`: order cancels (action C) of the instrument's order book.
///
/// Inputs are the fixed vector's values just written into the row (spread, imbalance_l1, mid,
/// microprice), so the columns follow its definitions and clock. Undefined inputs (an empty
/// side) are not pushed into a window; an empty window gives NaN. Spreads are windowed as
/// integer nanos with exact sums; the imbalance's running sum is recomputed every N pushes.
/// Per instrument, one slot per column in arena memory, sized at start; nothing allocates.
public enum EventColumns {
    public enum Kind: String, CaseIterable, Sendable {
        case spreadMean = "spread_mean", spreadStd = "spread_std", spreadPct = "spread_pct"
        case obiMomentum = "obi_momentum", micropriceDelta = "microprice_delta", micropriceMid = "microprice_mid"
        case tickDirection = "tick_direction", effectiveSpreadBps = "effective_spread_bps"
        case buyRate = "buy_rate", sellRate = "sell_rate", cancelRate = "cancel_rate"
        case logReturn = "return", realizedVol = "realized_vol", imbalance = "imbalance"
        case minutesSinceOpen = "minutes_since_open", minutesToClose = "minutes_to_close"

        /// Whether the name takes a time span, `kind(1s)`.
        var takesSpan: Bool { rateLane != nil || self == .logReturn || self == .realizedVol }

        /// Whether the name takes a time span, `kind(1s)`; its lane in the rate windows.
        var rateLane: Int? {
            switch self {
            case .buyRate: 0
            case .sellRate: 1
            case .cancelRate: 2
            default: nil
            }
        }

        /// Whether the name takes a window, `kind(N)`, and its largest N.
        var maxWindow: Int? {
            switch self {
            case .spreadMean, .spreadStd, .obiMomentum: 100_000
            case .spreadPct: 4_096
            default: nil
            }
        }
    }

    public struct Column: Sendable, Equatable {
        public var name: String
        public var kind: Kind
        public var window: Int
        /// A rate's time span, ns (0 for the others).
        public var span: UInt64 = 0
    }

    public struct Config: Sendable, Equatable {
        public var columns: [Column] = []
        /// The session the session-clock columns read (set before they are added).
        public var session: SessionCalendar? = nil
        public init() {}

        /// Whether any column counts order cancels (the path then looks up each cancel's book).
        public var countsCancels: Bool { columns.contains { $0.kind == .cancelRate } }

        /// Whether `text` names an event column (`spread_mean(20)`, `tick_direction`, …).
        public static func names(_ text: String) -> Bool {
            let base = text.split(separator: "(", maxSplits: 1).first.map(String.init) ?? text
            return Kind(rawValue: base.trimmingSpaces()) != nil
        }

        /// Adds the column `text`; its index is the count before.
        public mutating func add(_ text: String) throws(IndicatorColumns.Refusal) {
            let spec = text.filter { $0 != " " }
            let open = spec.firstIndex(of: "(")
            let base = String(spec[..<(open ?? spec.endIndex)])
            guard let kind = Kind(rawValue: base) else {
                throw .init("unknown feature \"\(text)\"")
            }
            var window = 0
            if kind == .minutesSinceOpen || kind == .minutesToClose, session == nil {
                throw .init("\(base) needs a session: session_open, session_close and session_zone under [features]")
            }
            if kind == .imbalance {
                guard let open, spec.last == ")",
                    spec[spec.index(after: open)...].first.map({ $0 == "L" || $0 == "l" }) == true,
                    let k = Int(spec[spec.index(open, offsetBy: 2)..<spec.index(before: spec.endIndex)]),
                    (1...64).contains(k)
                else { throw .init("imbalance takes the top k levels, k in 1...64, as in \"imbalance(L3)\"") }
                columns.append(Column(name: text, kind: kind, window: k))
                return
            }
            if kind.takesSpan {
                guard let open, spec.last == ")",
                    case let .time(seconds) = IndicatorColumns.barMode(
                        String(spec[spec.index(after: open)..<spec.index(before: spec.endIndex)])),
                    seconds <= 3_600
                else { throw .init("\(base) takes a time span of 1ms...1h, as in \"\(base)(1s)\"") }
                columns.append(Column(name: text, kind: kind, window: 0, span: UInt64((seconds * 1e9).rounded())))
                return
            } else if let limit = kind.maxWindow {
                guard let open, spec.last == ")",
                    let n = Int(spec[spec.index(after: open)..<spec.index(before: spec.endIndex)])
                else { throw .init("\(base) takes a window of N book events, as in \"\(base)(20)\"") }
                guard n >= 2 && n <= limit else { throw .init("\(base): window \(n) is not in 2...\(limit)") }
                window = n
            } else if open != nil {
                throw .init("\(base) takes no parameters")
            }
            columns.append(Column(name: text, kind: kind, window: window))
        }
    }

    /// The last `capacity` spreads in integer nanos (the fixed vector's spread × 1e9, rounded:
    /// prices are integer nanos), with exact 128-bit sums of them and their squares, so the mean
    /// and the deviation are the window's to a rounding or two (a constant window's is exactly 0).
    /// The nanos are stored as Doubles (exact: under 2^53), which SSE2 compares two at a time
    /// for `share`; 64-bit integer lanes need AVX-512 to compare or shift.
    struct SpreadWindow {
        let values: UnsafeMutablePointer<Double>
        let capacity: Int
        var head = 0, count = 0
        var sum: Int128 = 0, sumSq: Int128 = 0

        init(capacity: Int, arena: Arena) throws(ArenaError) {
            self.capacity = capacity
            values = try arena.allocate(Double.self, count: max(capacity, 1))
            values.initialize(repeating: 0, count: max(capacity, 1))
        }

        mutating func push(_ x: Int64) {
            if count == capacity {
                let old = Int128(Int64(values[head]))
                sum -= old
                sumSq -= old * old
            } else {
                count += 1
            }
            values[head] = Double(x)
            head = head + 1 == capacity ? 0 : head + 1
            sum += Int128(x)
            sumSq += Int128(x) * Int128(x)
        }

        var mean: Double { count > 0 ? Self.double(sum) / Double(count) / 1e9 : .nan }
        /// Population deviation: sqrt(n·Σx² − (Σx)²) / n, the radicand exact until converted.
        var std: Double {
            guard count > 0 else { return .nan }
            let n = Int128(count)
            return Self.double(n * sumSq - sum * sum).squareRoot() / Double(count) / 1e9
        }

        /// Int128 to Double from its two halves (within an ulp; 0 stays 0): the standard
        /// library's generic conversion was most of these columns' cost (BENCHMARKS.md).
        @inline(__always)
        static func double(_ v: Int128) -> Double {
            let high = Int64(truncatingIfNeeded: v >> 64), low = UInt64(truncatingIfNeeded: v)
            if high == Int64(bitPattern: low) >> 63 { return Double(Int64(bitPattern: low)) }  // fits in 64 bits
            return Double(high) * 0x1p64 + Double(low)
        }

        /// The share of the window at or below `x`, eight values at a time.
        func share(atOrBelow x: Int64) -> Double {
            guard count > 0 else { return .nan }
            let bound = SIMD8<Double>(repeating: Double(x))
            var lanes = SIMD8<Double>(), i = 0
            while i + 8 <= count {
                let v = UnsafeRawPointer(values + i).loadUnaligned(as: SIMD8<Double>.self)
                lanes += SIMD8<Double>().replacing(with: 1, where: v .<= bound)
                i += 8
            }
            var n = lanes.sum()
            while i < count {
                if values[i] <= bound[0] { n += 1 }
                i += 1
            }
            return n / Double(count)
        }
    }

    /// The last `capacity` values and their running sum, recomputed from the window every
    /// `capacity` pushes so rounding cannot drift without bound.
    struct MeanWindow {
        let values: UnsafeMutablePointer<Double>
        let capacity: Int
        var head = 0, count = 0, sincePass = 0
        var sum = 0.0

        init(capacity: Int, arena: Arena) throws(ArenaError) {
            self.capacity = capacity
            values = try arena.allocate(Double.self, count: max(capacity, 1))
            values.initialize(repeating: 0, count: max(capacity, 1))
        }

        mutating func push(_ x: Double) {
            if count == capacity { sum -= values[head] } else { count += 1 }
            values[head] = x
            head = head + 1 == capacity ? 0 : head + 1
            sum += x
            sincePass += 1
            if sincePass == capacity {
                sincePass = 0
                sum = 0
                for i in 0..<count { sum += values[i] }
            }
        }

        var mean: Double { count > 0 ? sum / Double(count) : .nan }
    }

    struct Slot {
        let kind: Kind
        /// Where the value goes in the instrument's row.
        let out: Int
        /// Its window among the state's spread or imbalance windows (one per distinct N).
        let window: Int
    }

    /// One instrument's columns. Columns that take the same series over the same N share a
    /// window (`spread_mean(50)` and `spread_std(50)`), so each value is pushed once per N.
    public struct State: @unchecked Sendable {
        let slots: UnsafeMutablePointer<Slot>
        let count: Int
        let spreads: UnsafeMutablePointer<SpreadWindow>
        let imbalances: UnsafeMutablePointer<MeanWindow>
        let spreadWindows: Int, imbalanceWindows: Int
        /// One per distinct span: counts of buys, sells and cancels in its lanes 0, 1, 2.
        let rates: UnsafeMutablePointer<TimeWindowSums>
        let rateWindows: Int
        /// `return(S)`: the log mid's changes and a cursor per distinct S; `realized_vol(S)`: a
        /// window of squared returns per distinct S.
        var logMids: SeriesRing
        let lags: UnsafeMutablePointer<LaggedCursor>
        let vols: UnsafeMutablePointer<TimeWindowSum>
        let returnSpans: Int, volSpans: Int
        var previousLogMid = Double.nan
        let session: SessionClock?
        var previousMicroprice = Double.nan
        var lastTradePrice = Double.nan
        var tickSign = 0.0

        /// The distinct windows of the spread columns and of `obi_momentum`, and the distinct
        /// spans of the rates.
        static func windows(_ c: Config) -> (spreads: [Int], imbalances: [Int], spans: [UInt64]) {
            var spreads: [Int] = [], imbalances: [Int] = [], spans: [UInt64] = []
            for col in c.columns where col.kind.rateLane != nil && !spans.contains(col.span) { spans.append(col.span) }
            for col in c.columns where col.window > 0 && col.kind != .imbalance {
                if col.kind == .obiMomentum {
                    if !imbalances.contains(col.window) { imbalances.append(col.window) }
                } else if !spreads.contains(col.window) {
                    spreads.append(col.window)
                }
            }
            return (spreads, imbalances, spans)
        }

        /// The distinct spans of `return(S)` and of `realized_vol(S)`.
        static func timeSpans(_ c: Config) -> (returns: [UInt64], vols: [UInt64]) {
            var returns: [UInt64] = [], vols: [UInt64] = []
            for col in c.columns where col.kind == .logReturn && !returns.contains(col.span) {
                returns.append(col.span)
            }
            for col in c.columns where col.kind == .realizedVol && !vols.contains(col.span) { vols.append(col.span) }
            return (returns, vols)
        }

        /// `capacity`: entries per time window (`MicrostructureFeatures.Config.historyCapacity`).
        static func arenaBytes(_ c: Config, capacity: Int) -> Int {
            let (s, m, spans) = windows(c)
            let rate = WindowMemory.arenaBytes { memory throws(ArenaError) in
                try TimeWindowSums(span: 1, capacity: capacity, memory: memory)
            }
            let (r, v) = timeSpans(c)
            let ring = WindowMemory.arenaBytes { memory throws(ArenaError) in
                try SeriesRing(capacity: r.isEmpty ? 1 : capacity, memory: memory)
            }
            let vol = WindowMemory.arenaBytes { memory throws(ArenaError) in
                try TimeWindowSum(span: 1, capacity: capacity, memory: memory)
            }
            return Arena.footprint(TimeWindowSums.self, count: spans.count) + spans.count * rate + ring
                + (c.session?.arenaBytes ?? 0)
                + Arena.footprint(LaggedCursor.self, count: r.count)
                + Arena.footprint(TimeWindowSum.self, count: v.count) + v.count * vol
                + Arena.footprint(Slot.self, count: c.columns.count)
                + Arena.footprint(SpreadWindow.self, count: s.count) + Arena.footprint(MeanWindow.self, count: m.count)
                + (s + m).reduce(0) { $0 + Arena.footprint(Double.self, count: $1) }
        }

        init(_ c: Config, offset: Int, capacity: Int, arena: Arena) throws(ArenaError) {
            let (s, m, spans) = Self.windows(c), (r, v) = Self.timeSpans(c)
            (returnSpans, volSpans) = (r.count, v.count)
            session = try c.session.map { s throws(ArenaError) in try SessionClock(s, arena: arena) }
            logMids = try SeriesRing(capacity: r.isEmpty ? 1 : capacity, memory: .arena(arena))
            lags = try arena.allocate(LaggedCursor.self, count: max(r.count, 1))
            for (k, span) in r.enumerated() { (lags + k).initialize(to: LaggedCursor(lag: span)) }
            vols = try arena.allocate(TimeWindowSum.self, count: max(v.count, 1))
            for (k, span) in v.enumerated() {
                (vols + k).initialize(to: try TimeWindowSum(span: span, capacity: capacity, memory: .arena(arena)))
            }
            rateWindows = spans.count
            rates = try arena.allocate(TimeWindowSums.self, count: max(spans.count, 1))
            for (k, span) in spans.enumerated() {
                (rates + k).initialize(to: try TimeWindowSums(span: span, capacity: capacity, memory: .arena(arena)))
            }
            (spreadWindows, imbalanceWindows) = (s.count, m.count)
            spreads = try arena.allocate(SpreadWindow.self, count: max(s.count, 1))
            for (k, n) in s.enumerated() { (spreads + k).initialize(to: try SpreadWindow(capacity: n, arena: arena)) }
            imbalances = try arena.allocate(MeanWindow.self, count: max(m.count, 1))
            for (k, n) in m.enumerated() { (imbalances + k).initialize(to: try MeanWindow(capacity: n, arena: arena)) }
            count = c.columns.count
            slots = try arena.allocate(Slot.self, count: max(count, 1))
            for (i, col) in c.columns.enumerated() {
                let window: Int
                switch col.kind {
                case .buyRate, .sellRate, .cancelRate: window = spans.firstIndex(of: col.span)!
                case .logReturn: window = r.firstIndex(of: col.span)!
                case .realizedVol: window = v.firstIndex(of: col.span)!
                case .imbalance: window = col.window
                case .obiMomentum: window = m.firstIndex(of: col.window)!
                case .spreadMean, .spreadStd, .spreadPct: window = s.firstIndex(of: col.window)!
                default: window = -1
                }
                (slots + i).initialize(to: Slot(kind: col.kind, out: offset + i, window: window))
            }
        }

        /// A published view at feature-clock time `t`: its fixed vector is in `row`.
        /// `exchangeTime`: the view's exchange time, for the session clock.
        mutating func book(row: UnsafeMutablePointer<Double>, view: BookView, at t: UInt64, exchangeTime: UInt64) {
            typealias F = MicrostructureFeatures.Feature
            let spread = row[F.spread.rawValue], imbalance = row[F.imbalanceL1.rawValue]
            let mid = row[F.mid.rawValue], micro = row[F.microprice.rawValue]
            // Windowed as nanos; n·Σx² stays within Int128 for spreads under 100,000 units.
            let spreadDefined = spread.isFinite && abs(spread) < 100_000
            let nanos = spreadDefined ? Int64((spread * 1e9).rounded()) : 0
            if spreadDefined { for k in 0..<spreadWindows { spreads[k].push(nanos) } }
            if imbalance.isFinite { for k in 0..<imbalanceWindows { imbalances[k].push(imbalance) } }
            for k in 0..<rateWindows { rates[k].evict(before: t) }
            // Log mid and its return since the previous view, as the fixed vector forms them.
            var logMid = Double.nan, r2 = 0.0
            if returnSpans + volSpans > 0 {
                logMid = mid.isFinite && mid > 0 ? log(mid) : .nan
                if returnSpans > 0 && logMid.isFinite && logMid != previousLogMid { logMids.add(logMid, at: t) }
                let r = logMid - previousLogMid
                r2 = r.isFinite ? r * r : 0
                for k in 0..<volSpans {
                    if r2 != 0 { vols[k].add(r2, at: t) } else { vols[k].evict(before: t) }
                }
                if logMid.isFinite { previousLogMid = logMid }
            }
            for i in 0..<count {
                let out = slots[i].out, w = slots[i].window
                switch slots[i].kind {
                case .spreadMean: row[out] = spreads[w].mean
                case .spreadStd: row[out] = spreads[w].std
                case .spreadPct: row[out] = spreadDefined ? spreads[w].share(atOrBelow: nanos) : .nan
                case .obiMomentum: row[out] = imbalance - imbalances[w].mean
                case .micropriceDelta: row[out] = micro - previousMicroprice
                case .micropriceMid: row[out] = micro - mid
                case .buyRate, .sellRate, .cancelRate:
                    row[out] = rates[w].sums[slots[i].kind.rateLane!] * 1e9 / Double(rates[w].span)
                case .logReturn:
                    row[out] = lags[w].value(in: logMids, now: t).map { logMid - $0 } ?? .nan
                case .realizedVol: row[out] = max(vols[w].sum, 0).squareRoot()
                case .imbalance: row[out] = Self.imbalance(view, levels: w)
                case .minutesSinceOpen: row[out] = session?.clock(at: exchangeTime).sinceOpen ?? .nan
                case .minutesToClose: row[out] = session?.clock(at: exchangeTime).toClose ?? .nan
                case .tickDirection, .effectiveSpreadBps: break  // trades set them
                }
            }
            if micro.isFinite { previousMicroprice = micro }
        }

        /// A trade at `price` by aggressor `side` at time `t`; the row's mid is the last
        /// published one.
        mutating func trade(price: Double, side: UInt8, at t: UInt64, row: UnsafeMutablePointer<Double>) {
            if rateWindows > 0 {
                let lane = SIMD4<Double>(side == Event.Side.bid ? 1 : 0, side == Event.Side.ask ? 1 : 0, 0, 0)
                for k in 0..<rateWindows { rates[k].add(lane, at: t) }
            }
            guard price.isFinite else { return }
            if !lastTradePrice.isNaN && price != lastTradePrice { tickSign = price > lastTradePrice ? 1 : -1 }
            lastTradePrice = price
            let mid = row[MicrostructureFeatures.Feature.mid.rawValue]
            for i in 0..<count {
                switch slots[i].kind {
                case .tickDirection: row[slots[i].out] = tickSign
                case .effectiveSpreadBps: row[slots[i].out] = mid > 0 ? 2 * abs(price - mid) / mid * 1e4 : .nan
                default: break
                }
            }
        }

        /// Bid depth over bid and ask depth, top `k` levels each (integer sums, as the fixed
        /// vector's).
        static func imbalance(_ view: BookView, levels k: Int) -> Double {
            let h = view.header.pointee
            var sb: UInt64 = 0, sa: UInt64 = 0
            for r in 0..<min(k, Int(h.bidLevels)) { sb &+= UInt64(view.bid(r).size) }
            for r in 0..<min(k, Int(h.askLevels)) { sa &+= UInt64(view.ask(r).size) }
            let db = Double(sb), da = Double(sa)
            return db + da > 0 ? db / (db + da) : .nan
        }

        /// An order cancel of the instrument's book at time `t`.
        mutating func cancel(at t: UInt64) {
            for k in 0..<rateWindows { rates[k].add(SIMD4(0, 0, 1, 0), at: t) }
        }
    }
}
