/// One side of a book aggregated by price: levels sorted so the best price is last (bids
/// ascending, asks descending). Most activity is near the best price, so inserts and removals
/// shift only the few levels between it and the top; lookups are a binary search.
/// Fixed capacity, arena memory.
public struct PriceLevels: @unchecked Sendable {
    public struct Level: BitwiseCopyable, Equatable {
        public var price: Int64
        public var size: UInt64
        public var count: UInt32
        public var pad: UInt32 = 0

        public init(price: Int64, size: UInt64, count: UInt32) {
            self.price = price
            self.size = size
            self.count = count
        }
    }

    @usableFromInline let levels: UnsafeMutablePointer<Level>
    @usableFromInline let countPointer: UnsafeMutablePointer<Int>
    public let capacity: Int
    /// +1 for bids (higher is better), -1 for asks.
    @usableFromInline let sign: Int64

    public init(capacity: Int, isBid: Bool, arena: Arena) throws(ArenaError) {
        self.capacity = capacity
        levels = try arena.allocate(Level.self, count: capacity)
        countPointer = try arena.allocate(Int.self, count: 1)
        sign = isBid ? 1 : -1
    }

    public var count: Int { countPointer.pointee }

    /// The `rank`-th best level (0 = best); rank < count.
    @inlinable @inline(__always)
    public func level(rank: Int) -> Level { levels[countPointer.pointee &- 1 &- rank] }

    /// Position of `price`, or where it would be inserted, and whether it exists.
    @inlinable @inline(__always)
    func search(_ price: Int64) -> (index: Int, found: Bool) {
        let key = price &* sign
        var lo = 0, hi = countPointer.pointee
        // Most updates are at or next to the top: check the top before bisecting.
        if hi > 0 {
            let topKey = levels[hi &- 1].price &* sign
            if key == topKey { return (hi &- 1, true) }
            if key > topKey { return (hi, false) }
        }
        while lo < hi {
            let mid = (lo &+ hi) >> 1
            let k = levels[mid].price &* sign
            if k < key { lo = mid &+ 1 } else if k > key { hi = mid } else { return (mid, true) }
        }
        return (lo, false)
    }

    /// Adds `size` and `orders` at `price`, creating the level. Returns false when a new level
    /// does not fit.
    @inlinable @inline(__always)
    public func add(price: Int64, size: UInt64, orders: UInt32 = 1) -> Bool {
        let (i, found) = search(price)
        if found {
            levels[i].size &+= size
            levels[i].count &+= orders
            return true
        }
        let n = countPointer.pointee
        if _slowPath(n == capacity) { return false }
        if i < n { (levels + i + 1).update(from: levels + i, count: n &- i) }
        levels[i] = Level(price: price, size: size, count: orders)
        countPointer.pointee = n &+ 1
        return true
    }

    /// Takes `size` and `orders` away at `price`, removing the level when its order count
    /// reaches zero. Returns false when the level does not exist or would go negative
    /// (the level is then clamped or removed).
    @inlinable @inline(__always)
    public func remove(price: Int64, size: UInt64, orders: UInt32) -> Bool {
        let (i, found) = search(price)
        if _slowPath(!found) { return false }
        var ok = true
        if _slowPath(levels[i].size < size || levels[i].count < orders) {
            ok = false
            levels[i].size = 0
            levels[i].count = 0
        } else {
            levels[i].size &-= size
            levels[i].count &-= orders
        }
        if levels[i].count == 0 {
            let n = countPointer.pointee
            if i &+ 1 < n { (levels + i).update(from: levels + i + 1, count: n &- i &- 1) }
            countPointer.pointee = n &- 1
        }
        return ok
    }

    public func removeAll() { countPointer.pointee = 0 }
}
