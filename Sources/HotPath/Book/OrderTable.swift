import CSupport

/// Live orders by id: an open-addressed hash table with linear probing, sized once at
/// start-up (a power of two), in arena memory. Deletion shifts later entries of the probe run
/// back (no tombstones), so probe lengths stay short under constant add/cancel churn.
///
/// The table refuses inserts past 7/8 full rather than degrade: the caller counts it and
/// marks the book stale.
public struct OrderTable: @unchecked Sendable {
    public struct Entry: BitwiseCopyable {
        public var id: UInt64
        public var price: Int64
        public var size: UInt32
        /// Index of the book (instrument) the order rests in.
        public var book: UInt16
        /// Event.Side raw value.
        public var side: UInt8
        public var used: UInt8
        /// The ladder slot of the order's level when it was placed (-1: none): a hint the
        /// ladder checks before use, since a relayout moves levels.
        public var slot: Int32

        @inlinable
        public init(id: UInt64, price: Int64, size: UInt32, book: UInt16, side: UInt8, used: UInt8, slot: Int32 = -1) {
            self.slot = slot
            self.id = id
            self.price = price
            self.size = size
            self.book = book
            self.side = side
            self.used = used
        }
    }

    // Four words, so the table travels in registers: with a fifth (the capacity) every
    // out-of-line call such as `remove(slot:)` took it through a stack copy, which the
    // inlined probes then read back on their critical path.
    @usableFromInline let slots: UnsafeMutablePointer<Entry>
    @usableFromInline let mask: Int
    @usableFromInline let shift: UInt64
    @usableFromInline let state: UnsafeMutablePointer<Int>  // [0] = live count
    @_transparent public var capacity: Int { mask &+ 1 }

    /// Slots for at least `requested` orders: a power of two.
    static func slotCount(_ requested: Int) -> Int {
        var cap = 16
        while cap < requested { cap <<= 1 }
        return cap
    }

    /// Arena bytes `init(capacity:arena:)` carves.
    public static func arenaBytes(capacity: Int) -> Int {
        Arena.footprint(Entry.self, count: slotCount(capacity)) + Arena.footprint(Int.self, count: 1)
    }

    public init(capacity requested: Int, arena: Arena) throws(ArenaError) {
        let cap = Self.slotCount(requested)
        mask = cap - 1
        shift = UInt64(64 - cap.trailingZeroBitCount)
        slots = try arena.allocate(Entry.self, count: cap)
        state = try arena.allocate(Int.self, count: 1)
    }

    public var count: Int { state.pointee }

    @inlinable @inline(__always)
    func home(_ id: UInt64) -> Int { Int(truncatingIfNeeded: (id &* 0x9E37_79B9_7F4A_7C15) &>> shift) }

    /// The slot holding `id`, or -1.
    @inlinable @inline(__always)
    public func find(_ id: UInt64) -> Int {
        var i = home(id)
        while true {
            let e = slots + i
            if e.pointee.used == 0 { return -1 }
            if e.pointee.id == id { return i }
            i = (i &+ 1) & mask
        }
    }

    /// Starts loading the home slot of `id` into cache, so a find or insert for it a little
    /// later does not wait on memory: the replay loop calls this for the next record while it
    /// applies the current one.
    @inlinable @inline(__always)
    public func prefetch(_ id: UInt64) { hp_prefetch_write(slots + home(id)) }

    @inlinable @inline(__always)
    public func entry(_ slot: Int) -> UnsafeMutablePointer<Entry> { slots + slot }

    public enum InsertResult { case inserted, duplicate, full }

    /// Inserts a new order; a duplicate id keeps the existing entry.
    @inlinable @inline(__always)
    public func insert(_ entry: Entry) -> InsertResult {
        if _slowPath(state.pointee >= capacity - capacity >> 3) { return .full }
        var i = home(entry.id)
        while true {
            let e = slots + i
            if e.pointee.used == 0 {
                e.pointee = entry
                e.pointee.used = 1
                state.pointee &+= 1
                return .inserted
            }
            if e.pointee.id == entry.id { return .duplicate }
            i = (i &+ 1) & mask
        }
    }

    /// Removes the entry in `slot`, shifting back later members of its probe run.
    @inlinable
    public func remove(slot: Int) {
        var hole = slot
        var i = (slot &+ 1) & mask
        while slots[i].used != 0 {
            let h = home(slots[i].id)
            // Move i into the hole when its home is not in (hole, i] (cyclically).
            let movable = hole <= i ? (h <= hole || h > i) : (h <= hole && h > i)
            if movable {
                slots[hole] = slots[i]
                hole = i
            }
            i = (i &+ 1) & mask
        }
        slots[hole].used = 0
        state.pointee &-= 1
    }

    /// Removes every order.
    public func removeAll() {
        slots.update(repeating: Entry(id: 0, price: 0, size: 0, book: 0, side: 0, used: 0), count: capacity)
        state.pointee = 0
    }

    /// Removes every order of `book` (a book clear). O(capacity): a clear is rare.
    public func removeAll(book: UInt16) {
        var i = 0
        while i < capacity {
            if slots[i].used != 0 && slots[i].book == book {
                remove(slot: i)
                continue  // a later entry may have shifted into i
            }
            i += 1
        }
    }
}
