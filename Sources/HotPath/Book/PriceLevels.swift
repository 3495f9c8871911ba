/// One side of a book aggregated by price: levels sorted so the best price is last (bids
/// ascending, asks descending). Most activity is near the best price, so inserts and removals
/// shift only the few levels between it and the top; lookups are a binary search.
/// Fixed capacity, arena memory.
public struct PriceLevels: @unchecked Sendable {
    /// 16 bytes, so a cache line holds four levels and shifts and publishes move half the
    /// bytes a 64-bit size would. Sizes are summed modulo 2^32 (no venue rests 4 billion
    /// lots at one price).
    public struct Level: BitwiseCopyable, Equatable {
        public var price: Int64
        public var size: UInt32
        public var count: UInt32

        public init(price: Int64, size: UInt32, count: UInt32) {
            self.price = price
            self.size = size
            self.count = count
        }
    }

    @usableFromInline let levels: UnsafeMutablePointer<Level>
    /// [0] = level count; [1] = the best rank changed since the last `takeDirtyRank()`
    /// (Int.max when none), so a publish copies only what moved in the top N.
    @usableFromInline let countPointer: UnsafeMutablePointer<Int>
    public let capacity: Int
    /// +1 for bids (higher is better), -1 for asks.
    @usableFromInline let sign: Int64

    /// Arena bytes `init(capacity:isBid:arena:)` carves.
    public static func arenaBytes(capacity: Int) -> Int {
        Arena.footprint(Level.self, count: capacity) + Arena.footprint(Int.self, count: 2)
    }

    public init(capacity: Int, isBid: Bool, arena: Arena) throws(ArenaError) {
        self.capacity = capacity
        levels = try arena.allocate(Level.self, count: capacity)
        countPointer = try arena.allocate(Int.self, count: 2)
        countPointer[1] = Int.max
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
        var n = countPointer.pointee
        // Most updates land within a few levels of the top: walk down from the best price
        // first, then bisect what is left without branches (the comparisons are data-dependent
        // and mispredict in a deep book).
        var steps = 0
        while n > 0 && steps < 4 {
            let k = levels[n &- 1].price &* sign
            if key == k { return (n &- 1, true) }
            if key > k { return (n, false) }
            n &-= 1
            steps &+= 1
        }
        if n == 0 { return (0, false) }
        var base = 0
        while n > 1 {
            let half = n >> 1
            base = levels[base &+ half &- 1].price &* sign < key ? base &+ half : base
            n &-= half
        }
        let k = levels[base].price &* sign
        if k == key { return (base, true) }
        return (k < key ? base &+ 1 : base, false)
    }

    /// Records that rank `rank` (0 = best) and everything worse may have changed.
    @inlinable @inline(__always)
    func touch(index i: Int, count n: Int) {
        let rank = n &- 1 &- i
        if rank < countPointer[1] { countPointer[1] = max(rank, 0) }
    }

    /// The best rank changed since the last call (Int.max when none), and resets it.
    @inlinable @inline(__always)
    public func takeDirtyRank() -> Int {
        let r = countPointer[1]
        countPointer[1] = Int.max
        return r
    }

    /// Adds `size` and `orders` at `price`, creating the level. Returns false when a new level
    /// does not fit.
    @inlinable @inline(__always)
    public func add(price: Int64, size: UInt32, orders: UInt32 = 1) -> Bool {
        let (i, found) = search(price)
        let n = countPointer.pointee
        if found {
            levels[i].size &+= size
            levels[i].count &+= orders
            touch(index: i, count: n)
            return true
        }
        if _slowPath(n == capacity) { return false }
        if i < n { (levels + i + 1).update(from: levels + i, count: n &- i) }
        levels[i] = Level(price: price, size: size, count: orders)
        countPointer.pointee = n &+ 1
        touch(index: i, count: n &+ 1)
        return true
    }

    /// Takes `size` and `orders` away at `price`, removing the level when its order count
    /// reaches zero. Returns false when the level does not exist or would go negative
    /// (the level is then clamped or removed).
    @inlinable @inline(__always)
    public func remove(price: Int64, size: UInt32, orders: UInt32) -> Bool {
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
        let n = countPointer.pointee
        touch(index: i, count: n)
        if levels[i].count == 0 {
            if i &+ 1 < n { (levels + i).update(from: levels + i + 1, count: n &- i &- 1) }
            countPointer.pointee = n &- 1
        }
        return ok
    }

    public func removeAll() {
        countPointer.pointee = 0
        countPointer[1] = 0
    }
}
