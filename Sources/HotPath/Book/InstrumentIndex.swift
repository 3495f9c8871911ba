/// Instrument id → dense book index (0, 1, 2 … in order of first sight), open-addressed,
/// fixed capacity, arena memory. Shared by the L3 and L2 books.
public struct InstrumentIndex: @unchecked Sendable {
    @usableFromInline let keys: UnsafeMutablePointer<UInt32>
    @usableFromInline let books: UnsafeMutablePointer<UInt16>
    @usableFromInline let mask: Int
    /// [0] = instruments seen; [1] = last key looked up, [2] = its index: most feeds send runs
    /// of one instrument, so the last answer is checked before hashing; [3] = capacity (kept
    /// here so the index is four words and travels in registers, not through a stack copy).
    @usableFromInline let countPointer: UnsafeMutablePointer<Int>
    public var capacity: Int { countPointer[3] }

    /// Slots for `capacity` instruments at most half full: a power of two.
    static func slotCount(_ capacity: Int) -> Int {
        var slots = 16
        while slots < capacity * 2 { slots <<= 1 }
        return slots
    }

    /// Arena bytes `init(capacity:arena:)` carves.
    public static func arenaBytes(capacity: Int) -> Int {
        let n = slotCount(capacity)
        return Arena.footprint(UInt32.self, count: n) + Arena.footprint(UInt16.self, count: n)
            + Arena.footprint(Int.self, count: 4)
    }

    public init(capacity: Int, arena: Arena) throws(ArenaError) {
        let slots = Self.slotCount(capacity)
        mask = slots - 1
        keys = try arena.allocate(UInt32.self, count: slots)
        books = try arena.allocate(UInt16.self, count: slots)
        countPointer = try arena.allocate(Int.self, count: 4)
        countPointer.initialize(repeating: 0, count: 4)
        countPointer[3] = capacity
    }

    public var count: Int { countPointer.pointee }

    @inlinable @inline(__always)
    func slot(_ key: UInt32) -> Int { Int(truncatingIfNeeded: (UInt64(key) &* 0x9E37_79B9_7F4A_7C15) >> 40) & mask }

    /// The index of `instrumentId`, assigning the next one on first sight; -1 when full.
    @inlinable @inline(__always)
    public func index(for instrumentId: UInt32) -> Int {
        let key = instrumentId &+ 1  // 0 marks an empty slot
        let tag = Int(instrumentId) | 1 << 32  // never 0, so the empty cache never matches
        if countPointer[1] == tag { return countPointer[2] }
        var i = slot(key)
        while true {
            let k = keys[i]
            if k == key {
                countPointer[1] = tag
                countPointer[2] = Int(books[i])
                return Int(books[i])
            }
            if k == 0 { return assign(slot: i, key: key) }
            i = (i &+ 1) & mask
        }
    }

    @usableFromInline @inline(never)
    func assign(slot: Int, key: UInt32) -> Int {
        let n = countPointer.pointee
        if n == capacity { return -1 }
        keys[slot] = key
        books[slot] = UInt16(n)
        countPointer.pointee = n + 1
        return n
    }

    /// The index of `instrumentId` if it has one (cold path).
    public func lookup(_ instrumentId: UInt32) -> Int? {
        let key = instrumentId &+ 1
        var i = slot(key)
        while keys[i] != 0 {
            if keys[i] == key { return Int(books[i]) }
            i = (i &+ 1) & mask
        }
        return nil
    }
}
