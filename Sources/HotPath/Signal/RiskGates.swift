import Synchronization

/// The checks a non-WEAK signal passes before it leaves the engine, in this order; the first
/// that fails suppresses the signal and names the reason the engine counts:
///
/// | reason | suppresses when |
/// |---|---|
/// | `kill_switch` | the kill-switch file exists (polled by the output thread, not here) |
/// | `halted` | the instrument's trading is halted (ITCH `H`, DBN status) until it resumes |
/// | `stale_book` | the book is marked stale (unknown order, underflow, crossed, …) |
/// | `sequence_gap` | the event carries the feed's gap flag (DBN `F_MAYBE_BAD_BOOK`) |
/// | `data_age` | ts_recv − ts_event is over `maxAgeNs` (deterministic in replay) |
/// | `non_finite_feature` | a feature the model saw, or its output, is NaN or infinite |
/// | `latency_budget` | a latency budget is breaching now and `suppressOnBudgetBreach` |
/// | `rate_limit` | `maxSignalsPerSecond` signals already left within the last second of event time |
/// | `position_limit` | the signal's lot would take |position| over `maxPosition` |
/// | `notional_limit` | |position| × mid × `contractMultiplier` would exceed `maxNotional` |
///
/// Positions: without `[fills]` each emitted signal is assumed to fill `orderSize` lots; with
/// `[fills]` (`positionsFromFills`) only fills move them (`FillsInput`, applied by the engine
/// thread), so the position gate suppresses when the filled position plus the signal's lot
/// would pass the limit. A fill comes a round trip after its signal, and the signals made
/// meanwhile are checked against the older position: the filled position can pass the limit
/// by what is in flight (`max_signals_per_s` bounds that). All state is preallocated; `check` allocates nothing and takes no
/// lock.
public struct RiskGates: @unchecked Sendable {
    public struct Limits: Sendable, Equatable {
        public var maxAgeNs: UInt64 = 0  // 0 = off
        public var maxPosition: Int64 = 0  // lots; 0 = off
        public var orderSize: Int64 = 1
        public var maxNotional: Double = 0  // 0 = off
        public var contractMultiplier: Double = 1
        public var maxSignalsPerSecond = 0  // 0 = off
        public var suppressOnBudgetBreach = false
        /// `[fills]` configured: positions come from fills, not from emitted signals.
        public var positionsFromFills = false
        public init() {}
    }

    public enum Reason: Int, CaseIterable, Sendable {
        case killSwitch = 1, staleBook, sequenceGap, dataAge, nonFiniteFeature, latencyBudget, rateLimit, positionLimit,
            notionalLimit,
            /// The ensemble's rules (seed 004), checked before the gates: its confidence below
            /// `[signal] min_confidence`, or fewer than `min_agreement` members on its side.
            lowConfidence, disagreement,
            /// `[drift] action = "suppress"`: within `suppress_ms` of a detected drift.
            drift,
            halted
        public var name: String {
            switch self {
            case .killSwitch: "kill_switch"
            case .staleBook: "stale_book"
            case .sequenceGap: "sequence_gap"
            case .dataAge: "data_age"
            case .nonFiniteFeature: "non_finite_feature"
            case .latencyBudget: "latency_budget"
            case .rateLimit: "rate_limit"
            case .positionLimit: "position_limit"
            case .notionalLimit: "notional_limit"
            case .lowConfidence: "low_confidence"
            case .disagreement: "disagreement"
            case .drift: "drift"
            case .halted: "halted"
            }
        }
    }

    /// DBN's "an unrecoverable gap was detected in the channel" flag.
    public static let gapFlag: UInt8 = 0x04

    public let limits: Limits
    /// Set by cold threads: a kill-switch file exists; a latency budget is breaching.
    public let killSwitch: UnsafeMutablePointer<Atomic<Bool>>
    public let breaching: UnsafeMutablePointer<Atomic<Bool>>
    /// Lots per book slot.
    @usableFromInline let positions: UnsafeMutablePointer<Int64>
    /// Per book slot: trading halted (set by the engine thread from status events).
    public let halted: UnsafeMutablePointer<Bool>
    /// The event times of the last `maxSignalsPerSecond` emitted signals (a ring).
    @usableFromInline let recent: UnsafeMutablePointer<UInt64>
    @usableFromInline let recentHead: UnsafeMutablePointer<Int>

    public init(limits: Limits, books: Int, arena: Arena) throws(ArenaError) {
        self.limits = limits
        killSwitch = try arena.allocate(Atomic<Bool>.self, count: 1, alignment: 128)
        killSwitch.initialize(to: Atomic(false))
        breaching = try arena.allocate(Atomic<Bool>.self, count: 1, alignment: 128)
        breaching.initialize(to: Atomic(false))
        positions = try arena.allocate(Int64.self, count: max(books, 1))
        positions.initialize(repeating: 0, count: max(books, 1))
        halted = try arena.allocate(Bool.self, count: max(books, 1))
        halted.initialize(repeating: false, count: max(books, 1))
        recent = try arena.allocate(UInt64.self, count: max(limits.maxSignalsPerSecond, 1))
        recent.initialize(repeating: 0, count: max(limits.maxSignalsPerSecond, 1))
        recentHead = try arena.allocate(Int.self, count: 1)
        recentHead.initialize(to: 0)
    }

    public func position(book: Int) -> Int64 { positions[book] }

    /// A fill of `lots` (+ bought, − sold) on book `book` (the engine thread).
    @inline(__always)
    func fill(book: Int, lots: Int64) { positions[book] &+= lots }

    /// nil when the signal may leave; then its position and rate are booked. `maxPosition` and
    /// `orderSize`: the configured limits, or those of the instrument's regime (`[regimes]`).
    @inlinable @inline(__always)
    public func check(
        _ s: Signal, book: Int, event e: Event, stale: Bool, finite: Bool, maxPosition: Int64, orderSize: Int64
    ) -> Reason? {
        if killSwitch.pointee.load(ordering: .relaxed) { return .killSwitch }
        if halted[book] { return .halted }
        if stale { return .staleBook }
        if e.flags & Self.gapFlag != 0 { return .sequenceGap }
        if limits.maxAgeNs != 0, e.tsRecv != UInt64.max, e.tsRecv > e.tsEvent, e.tsRecv - e.tsEvent > limits.maxAgeNs {
            return .dataAge
        }
        if !finite || !s.edge.isFinite { return .nonFiniteFeature }
        if limits.suppressOnBudgetBreach && breaching.pointee.load(ordering: .relaxed) { return .latencyBudget }
        let now = e.tsRecv != UInt64.max && e.tsRecv != 0 ? e.tsRecv : e.tsEvent
        let n = limits.maxSignalsPerSecond
        if n > 0, recent[recentHead.pointee] != 0, now &- recent[recentHead.pointee] < 1_000_000_000 {
            return .rateLimit
        }
        let lot = s.side == Event.Side.bid ? orderSize : -orderSize
        let next = positions[book] + lot
        if maxPosition > 0 && abs(next) > maxPosition { return .positionLimit }
        if limits.maxNotional > 0
            && Double(abs(next)) * Double(s.mid) / 1e9 * limits.contractMultiplier > limits.maxNotional
        {
            return .notionalLimit
        }
        if !limits.positionsFromFills { positions[book] = next }
        if n > 0 {
            recent[recentHead.pointee] = now
            recentHead.pointee = recentHead.pointee + 1 == n ? 0 : recentHead.pointee + 1
        }
        return nil
    }
}
