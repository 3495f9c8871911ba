/// One side of an L3 book aggregated by price, indexed by tick: level lookup is one division,
/// adding or emptying a level never moves another, and the best levels are found by scanning
/// an occupancy bitmap. Measured against the sorted array (`PriceLevels`) on the ESH4 session,
/// where 40 % of updates land below the 4th level of ~670: see BENCHMARKS.md.
///
/// The tick is learned from the prices themselves: the first `learnAfter` adds go to a sorted
/// overflow array while the greatest common difference of their prices is taken; then a
/// window of `slots` ticks is laid around them and they move into it. A later price off that
/// grid refines the tick and lays the window again; a price outside the window lives in the
/// overflow array. Either way the side stays exact whatever arrives; the top N merges both.
/// Slots are numbered so that a higher slot is always a better price (bids: higher; asks:
/// lower), which lets both sides share one scan.
public struct PriceLadder: @unchecked Sendable {
    public typealias Level = PriceLevels.Level

    /// The side's description lives in arena memory and the ladder is a one-word handle to
    /// it: the book passes ladders around by value, and an 88-byte value was copied on every
    /// access (~20 instructions each, several per event: callgrind).
    /// The 16 control words sit just before it in the same allocation, so reaching one is
    /// an offset from the handle, not a load of a pointer first (BENCHMARKS.md, "Design measurements").
    @usableFromInline struct Storage {
        @usableFromInline var slots: UnsafeMutablePointer<Level>
        @usableFromInline var bits: UnsafeMutablePointer<UInt64>
        /// Per slot: its rank in the last published top N (valid only for the levels that
        /// were in it), so the one level that changed is patched there without a search.
        @usableFromInline var ranks: UnsafeMutablePointer<UInt8>
        /// The top N as the batch in progress left it, rank by rank (`maxDepth` levels): see
        /// `patch`.
        @usableFromInline var shadow: UnsafeMutablePointer<Level>
        @usableFromInline var overflow: PriceLevels
        @usableFromInline var capacity: Int
        @usableFromInline var sign: Int64
        @usableFromInline var learnAfter: Int
    }
    @usableFromInline let storage: UnsafeMutablePointer<Storage>

    @_transparent @usableFromInline var slots: UnsafeMutablePointer<Level> { storage.pointee.slots }
    @_transparent @usableFromInline var bits: UnsafeMutablePointer<UInt64> { storage.pointee.bits }
    @_transparent @usableFromInline var ranks: UnsafeMutablePointer<UInt8> { storage.pointee.ranks }
    @_transparent @usableFromInline var shadow: UnsafeMutablePointer<Level> { storage.pointee.shadow }
    /// The deepest top N a ladder publishes (its ranks are bits of one word).
    public static var maxDepth: Int { 64 }
    /// Control words: see the `Ctl` indices.
    @_transparent @usableFromInline var ctl: UnsafeMutablePointer<Int64> {
        UnsafeMutableRawPointer(storage).advanced(by: -Self.ctlBytes).assumingMemoryBound(to: Int64.self)
    }
    @usableFromInline static var ctlBytes: Int { 16 * 8 }
    @_transparent public var overflow: PriceLevels { storage.pointee.overflow }
    @_transparent public var capacity: Int { storage.pointee.capacity }
    @_transparent @usableFromInline var sign: Int64 { storage.pointee.sign }
    @_transparent public var learnAfter: Int { storage.pointee.learnAfter }

    @usableFromInline enum Ctl {
        @usableFromInline static var tick: Int { 0 }  // 0 while learning
        @usableFromInline static var base: Int { 1 }  // price of grid position 0
        @usableFromInline static var best: Int { 2 }  // best occupied slot, -1 when none
        @usableFromInline static var ladderCount: Int { 3 }  // occupied slots
        @usableFromInline static var first: Int { 4 }  // first price seen (learning)
        @usableFromInline static var gcd: Int { 5 }  // gcd of differences (learning)
        @usableFromInline static var seen: Int { 6 }  // distinct prices seen (learning)
        @usableFromInline static var published: Int { 8 }  // levels in the last top-N
        /// Key of the worst level published (Int64.min while fewer than N are), or
        /// Int64.max when a level entered or left the top N and the next publish recomputes
        /// it: then no key is "in" it, so `patch` and `touch` need only this one compare.
        @usableFromInline static var worst: Int { 9 }
        @usableFromInline static var inverseTick: Int { 10 }  // 1/tick as Double bits
        /// Key (price × sign) of the window's worst slot: an overflow level whose key is below
        /// it is worse than every ladder level.
        @usableFromInline static var windowLowKey: Int { 11 }
        /// Where the last recompute wrote the top N (the view's levels), as an address.
        @usableFromInline static var view: Int { 12 }
        /// 1 while the record being applied does not close its batch, else 0 (`L3Book`).
        @usableFromInline static var staging: Int { 13 }
        /// Bit r: rank r was resized by a record that did not close its batch, and waits in
        /// `shadow` for the publish.
        @usableFromInline static var stagedRanks: Int { 14 }
    }

    /// Slots for a window of at least `slots` ticks: a power of two, at least 64.
    static func slotCount(_ slots: Int) -> Int {
        var c = 64
        while c < slots { c <<= 1 }
        return c
    }

    /// Arena bytes `init(slots:overflowLevels:…)` carves.
    public static func arenaBytes(slots: Int, overflowLevels: Int) -> Int {
        let c = slotCount(slots)
        return Arena.footprint(UInt8.self, count: ctlBytes + MemoryLayout<Storage>.stride)
            + Arena.footprint(UInt8.self, count: c)
            + Arena.footprint(Level.self, count: maxDepth)
            + Arena.footprint(Level.self, count: c) + Arena.footprint(UInt64.self, count: c / 64)
            + PriceLevels.arenaBytes(capacity: overflowLevels)
    }

    public init(
        slots: Int = 4096, overflowLevels: Int = 4096, learnAfter: Int = 16, isBid: Bool, arena: Arena
    ) throws(ArenaError) {
        let c = Self.slotCount(slots)
        let raw = try arena.allocateBytes(Self.ctlBytes + MemoryLayout<Storage>.stride)
        raw.initializeMemory(as: Int64.self, repeating: 0, count: Self.ctlBytes / 8)
        storage = (raw + Self.ctlBytes).bindMemory(to: Storage.self, capacity: 1)
        let ranks = try arena.allocate(UInt8.self, count: c)
        let shadow = try arena.allocate(Level.self, count: Self.maxDepth)
        storage.initialize(
            to: Storage(
                slots: try arena.allocate(Level.self, count: c), bits: try arena.allocate(UInt64.self, count: c / 64),
                ranks: ranks, shadow: shadow,
                overflow: try PriceLevels(capacity: overflowLevels, isBid: isBid, arena: arena),
                capacity: c, sign: isBid ? 1 : -1, learnAfter: learnAfter))
        ctl[Ctl.best] = -1
        needRecompute()
        ctl[Ctl.windowLowKey] = Int64.max
    }

    /// Levels on this side.
    @inlinable public var count: Int { Int(ctl[Ctl.ladderCount]) &+ overflow.count }

    @usableFromInline static var roundingBias: Double { 0x1.8p52 }

    /// The slot of `price`, or -1 when it is off the grid, outside the window, or the tick is
    /// not learnt yet.
    @inlinable @inline(__always)
    func slot(_ price: Int64) -> Int {
        let tick = ctl[Ctl.tick]
        if tick == 0 { return -1 }
        let d = price &- ctl[Ctl.base]
        // d / tick by a multiply (an integer divide costs ~40 cycles here), rounded to an
        // integer by adding 1.5 × 2^52 (the sum's low mantissa bits are then the nearest
        // integer, for |quotient| < 2^51), which unlike Int64(_:) has no range checks to
        // branch on. Whatever q is, the product check below admits only a slot whose price is
        // exactly base + q × tick, so the answer is exact.
        let x = Double(d) * Double(bitPattern: UInt64(bitPattern: ctl[Ctl.inverseTick])) + Self.roundingBias
        let q = Int64(bitPattern: x.bitPattern) &- Int64(bitPattern: Self.roundingBias.bitPattern)
        if q &* tick != d || q < 0 || q >= Int64(capacity) { return -1 }
        return sign > 0 ? Int(q) : capacity &- 1 &- Int(q)
    }

    /// `slot(price)`, skipping the division when `hint` (the slot the book kept with an order
    /// when it was added) still holds the level of `price`: a relayout may have moved it.
    @inlinable @inline(__always)
    public func slot(_ price: Int64, hint: Int) -> Int {
        if hint >= 0 && bits[hint >> 6] & (1 << UInt64(hint & 63)) != 0 && slots[hint].price == price { return hint }
        return slot(price)
    }

    /// The top N must be recomputed at the next publish (see `Ctl.worst`).
    @inlinable @inline(__always)
    func needRecompute() { ctl[Ctl.worst] = Int64.max }

    /// A level appeared or vanished at `price`: the top N must be recomputed if it is in it.
    @inlinable @inline(__always)
    func touch(_ price: Int64) {
        if price &* sign >= ctl[Ctl.worst] { needRecompute() }
    }

    /// The level in slot `s` changed size or count. If it is in the published top N, its
    /// new value goes to its rank (`ranks`): straight into the view when the record closes
    /// its batch (the publish follows before anyone can read), else into `shadow`, the rank
    /// marked for the publish to copy. The view thus changes only at a publish: a reader
    /// between two (the engine's deferred evaluations) sees the last batch's book, never
    /// half of the next one. The common record closes its batch, so publishing rarely has
    /// anything to copy; remembering the slot instead and asking at every publish whether one
    /// was pending cost a mispredicted branch on a third of them (BENCHMARKS.md, "Design measurements").
    @inlinable @inline(__always)
    func patch(_ price: Int64, slot s: Int) {
        if price &* sign < ctl[Ctl.worst] { return }  // also when a recompute is due
        let r = Int(ranks[s])
        // One store, to the view or to `shadow`, chosen without a branch; a rank written to
        // the view is no longer staged (its newer value must not be overwritten at publish).
        let staged = ctl[Ctl.staging] != 0
        let base = staged ? Int64(Int(bitPattern: shadow)) : ctl[Ctl.view]
        UnsafeMutablePointer<Level>(bitPattern: Int(base &+ Int64(r &* MemoryLayout<Level>.stride))).unsafelyUnwrapped
            .pointee = slots[s]
        let bit = Int64(1) << Int64(r), marks = ctl[Ctl.stagedRanks]
        ctl[Ctl.stagedRanks] = staged ? marks | bit : marks & ~bit
    }

    /// Whether the record being applied closes its batch (`L3Book.apply` says so first).
    @inlinable @inline(__always)
    public func setClosesBatch(_ closes: Bool) { ctl[Ctl.staging] = closes ? 0 : 1 }

    @inlinable @inline(__always)
    public func add(price: Int64, size: UInt32, orders: UInt32 = 1) -> Bool {
        add(price: price, size: size, orders: orders, at: slot(price))
    }

    /// `add` with the slot already known (`slot(price)`, which the book keeps with the order).
    @inlinable @inline(__always)
    public func add(price: Int64, size: UInt32, orders: UInt32, at s: Int) -> Bool {
        if _slowPath(s < 0) { return addOverflow(price: price, size: size, orders: orders) }
        let l = slots + s
        if bits[s >> 6] & (1 << UInt64(s & 63)) != 0 {
            l.pointee.size &+= size
            l.pointee.count &+= orders
            patch(price, slot: s)
            return true
        }
        touch(price)
        l.pointee = Level(price: price, size: size, count: orders)
        bits[s >> 6] |= 1 << UInt64(s & 63)
        ctl[Ctl.ladderCount] &+= 1
        if s > Int(ctl[Ctl.best]) { ctl[Ctl.best] = Int64(s) }
        return true
    }

    /// `@_transparent` like the book's actions (the optimiser kept it a call in the feed
    /// loop); doing the same to `add` or to `remove(slot:)` measured slower (BENCHMARKS.md, "Design measurements").
    @_transparent
    public func remove(price: Int64, size: UInt32, orders: UInt32, hint: Int = -1) -> Bool {
        let s = slot(price, hint: hint)
        if _slowPath(s < 0) {
            touch(price)
            return overflow.remove(price: price, size: size, orders: orders)
        }
        if _slowPath(bits[s >> 6] & (1 << UInt64(s & 63)) == 0) { return false }
        let l = slots + s
        var ok = true
        if _slowPath(l.pointee.size < size || l.pointee.count < orders) {
            ok = false
            l.pointee.size = 0
            l.pointee.count = 0
        } else {
            l.pointee.size &-= size
            l.pointee.count &-= orders
        }
        if l.pointee.count == 0 {
            touch(price)
            bits[s >> 6] &= ~(1 << UInt64(s & 63))
            ctl[Ctl.ladderCount] &-= 1
            if s == Int(ctl[Ctl.best]) { ctl[Ctl.best] = Int64(nextOccupied(below: s)) }
        } else {
            patch(price, slot: s)
        }
        return ok
    }

    /// The highest occupied slot below `s`, or -1.
    @inlinable @inline(__always)
    func nextOccupied(below s: Int) -> Int {
        if s <= 0 { return -1 }
        var w = (s &- 1) >> 6
        var word = bits[w] & (UInt64.max >> UInt64(63 &- ((s &- 1) & 63)))
        while true {
            if word != 0 { return w << 6 | (63 &- word.leadingZeroBitCount) }
            if w == 0 { return -1 }
            w &-= 1
            word = bits[w]
        }
    }

    /// Learning the tick, or a price outside the window: the sorted overflow array. A price
    /// off the grid means the tick is finer than learnt: the window is laid again on the finer
    /// grid (at most a few times a session, each O(levels)).
    @usableFromInline @inline(never)
    func addOverflow(price: Int64, size: UInt32, orders: UInt32) -> Bool {
        touch(price)
        let tick = ctl[Ctl.tick]
        if tick == 0 {
            if ctl[Ctl.seen] == 0 { ctl[Ctl.first] = price }
            let d = (price &- ctl[Ctl.first]).magnitude
            if d != 0 { ctl[Ctl.gcd] = Int64(Self.gcd(UInt64(ctl[Ctl.gcd]), d)) }
            ctl[Ctl.seen] &+= 1
            let ok = overflow.add(price: price, size: size, orders: orders)
            if ctl[Ctl.seen] >= learnAfter && ctl[Ctl.gcd] > 0 { relayout(tick: ctl[Ctl.gcd], around: ctl[Ctl.first]) }
            return ok
        }
        let offGrid = (price &- ctl[Ctl.base]) % tick
        if offGrid != 0 {
            relayout(tick: Int64(Self.gcd(UInt64(tick), offGrid.magnitude)), around: price)
            return add(price: price, size: size, orders: orders)
        }
        return overflow.add(price: price, size: size, orders: orders)
    }

    static func gcd(_ a: UInt64, _ b: UInt64) -> UInt64 {
        var (x, y) = (a, b)
        while y != 0 { (x, y) = (y, x % y) }
        return x
    }

    /// Lays the window on a grid of `tick` centred on `price` (which is on it): every ladder
    /// level moves to the overflow array, then every overflow level that fits the new window
    /// moves into it; the rest stay, still sorted.
    @usableFromInline func relayout(tick: Int64, around price: Int64) {
        var s = Int(ctl[Ctl.best])
        while s >= 0 {
            _ = overflow.add(price: slots[s].price, size: slots[s].size, orders: slots[s].count)
            bits[s >> 6] &= ~(1 << UInt64(s & 63))
            s = nextOccupied(below: s)
        }
        ctl[Ctl.best] = -1
        ctl[Ctl.ladderCount] = 0
        ctl[Ctl.tick] = tick
        ctl[Ctl.inverseTick] = Int64(bitPattern: (1.0 / Double(tick)).bitPattern)
        ctl[Ctl.base] = price &- Int64(capacity / 2) &* tick
        let lowest = sign > 0 ? ctl[Ctl.base] : ctl[Ctl.base] &+ Int64(capacity &- 1) &* tick
        ctl[Ctl.windowLowKey] = lowest &* sign
        var kept = 0
        let n = overflow.count
        for i in 0..<n {
            let l = overflow.levels[i]
            if slot(l.price) >= 0 {
                _ = add(price: l.price, size: l.size, orders: l.count)
            } else {
                overflow.levels[kept] = l
                kept += 1
            }
        }
        overflow.countPointer.pointee = kept
        overflow.countPointer[1] = 0
        needRecompute()
    }

    /// The top `depth` of the ladder and the overflow array merged.
    @usableFromInline @inline(never)
    func mergedTop(into out: UnsafeMutablePointer<Level>, depth: Int) -> Int {
        var n = 0
        var s = Int(ctl[Ctl.best])
        var r = 0
        let o = overflow.count
        while n < depth {
            let haveLadder = s >= 0, haveOverflow = r < o
            if !haveLadder && !haveOverflow { break }
            if haveLadder && (!haveOverflow || slots[s].price &* sign >= overflow.level(rank: r).price &* sign) {
                out[n] = slots[s]
                ranks[s] = UInt8(truncatingIfNeeded: n)
                s = nextOccupied(below: s)
            } else {
                out[n] = overflow.level(rank: r)
                r &+= 1
            }
            n &+= 1
        }
        return n
    }

    /// Empties the side (the learnt tick and window stay).
    public func removeAll() {
        var s = Int(ctl[Ctl.best])
        while s >= 0 {
            bits[s >> 6] &= ~(1 << UInt64(s & 63))
            s = nextOccupied(below: s)
        }
        ctl[Ctl.best] = -1
        ctl[Ctl.ladderCount] = 0
        overflow.removeAll()
        needRecompute()
    }

    /// The best level, if any (for the crossed-book check).
    @inlinable @inline(__always)
    public var best: Level? {
        let s = Int(ctl[Ctl.best])
        if s >= 0 && overflowIsBelowWindow { return slots[s] }
        let o = overflow.count
        if s < 0 { return o > 0 ? overflow.level(rank: 0) : nil }
        let a = slots[s], b = overflow.level(rank: 0)
        return a.price &* sign >= b.price &* sign ? a : b
    }

    /// Whether every overflow level is worse than every ladder level (true when it is empty):
    /// then the top N is the ladder's levels followed by the overflow's.
    @inlinable @inline(__always)
    var overflowIsBelowWindow: Bool {
        let o = overflow.count
        return o == 0 || overflow.levels[o &- 1].price &* sign < ctl[Ctl.windowLowKey]
    }

    /// Writes the best `depth` levels, best first, into `out` when they may have changed since
    /// the last call; returns how many levels the side has in the top `depth`.
    @_transparent
    public func publish(into out: UnsafeMutablePointer<Level>, depth: Int) -> Int {
        if ctl[Ctl.worst] == Int64.max { return recompute(into: out, depth: depth) }
        if _slowPath(ctl[Ctl.stagedRanks] != 0) { copyStaged(into: out) }
        return Int(ctl[Ctl.published])
    }

    /// The ranks resized by records that did not close their batch, from `shadow`.
    @usableFromInline @inline(never)
    func copyStaged(into out: UnsafeMutablePointer<Level>) {
        var bits = UInt64(bitPattern: ctl[Ctl.stagedRanks])
        while bits != 0 {
            let r = bits.trailingZeroBitCount
            out[r] = shadow[r]
            bits &= bits &- 1
        }
        ctl[Ctl.stagedRanks] = 0
    }

    /// The top N from scratch: a level entered or left it, or the view is new.
    @usableFromInline @inline(never)
    func recompute(into out: UnsafeMutablePointer<Level>, depth: Int) -> Int {
        var n = 0
        if overflowIsBelowWindow {
            // The usual case: walk the occupancy bits down from the best slot, then continue
            // into the overflow levels (all worse) if the ladder has fewer than `depth`.
            let s = Int(ctl[Ctl.best])
            if s >= 0 {
                var w = s >> 6
                var word = bits[w] & (UInt64.max >> UInt64(63 &- (s & 63)))
                scan: while n < depth {
                    while word == 0 {
                        if w == 0 { break scan }
                        w &-= 1
                        word = bits[w]
                    }
                    let bit = 63 &- word.leadingZeroBitCount
                    out[n] = slots[w << 6 | bit]
                    ranks[w << 6 | bit] = UInt8(truncatingIfNeeded: n)
                    n &+= 1
                    word &= ~(1 << UInt64(bit))
                }
            }
            var r = 0
            while n < depth && r < overflow.count {
                out[n] = overflow.level(rank: r)
                n &+= 1
                r &+= 1
            }
        } else {
            n = mergedTop(into: out, depth: depth)
        }
        ctl[Ctl.published] = Int64(n)
        ctl[Ctl.view] = Int64(Int(bitPattern: out))
        ctl[Ctl.stagedRanks] = 0
        // With fewer than `depth` levels any change matters; otherwise only changes at or
        // above the worst published level do. (Int64.max is kept for "recompute due": a worst
        // level keyed that high — a bid at the undefined price — is stored one below.)
        ctl[Ctl.worst] = n < depth ? Int64.min : min(out[n &- 1].price &* sign, Int64.max &- 1)
        return n
    }
}
