/// Price-level books for venues that send levels with absolute sizes (Coinbase `level2`,
/// Kalshi's ladders): one book per market, each side a sorted array of (price, size) in
/// 1e-9 fixed point, best last, sized at start-up. A size of 0 removes its level. Sizes
/// are Int64, since venues quote fractional quantities (0.06317902 BTC) that a UInt32 lot
/// count cannot hold. Nothing is allocated after `init`.
public final class VenueBook {
    public struct Level: Equatable {
        public var price: Int64
        public var size: Int64
    }

    public let markets: Int
    public let capacity: Int
    /// Per market, per side: `capacity` levels; bids ascending, asks descending, best last.
    let levels: UnsafeMutablePointer<Level>
    let counts: UnsafeMutablePointer<Int>
    /// Per market: the book missed something (a sequence gap) and waits for a snapshot.
    public let stale: UnsafeMutablePointer<Bool>
    /// Levels refused because a side was full (counted, never silent).
    public private(set) var overflow = 0

    public init(markets: Int, levelsPerSide: Int = 4096) {
        self.markets = markets
        capacity = levelsPerSide
        levels = .allocate(capacity: markets * 2 * levelsPerSide)
        counts = .allocate(capacity: markets * 2)
        counts.initialize(repeating: 0, count: markets * 2)
        stale = .allocate(capacity: markets)
        stale.initialize(repeating: false, count: markets)
    }

    deinit {
        levels.deallocate()
        counts.deallocate()
        stale.deallocate()
    }

    @inline(__always) func side(_ market: Int, bid: Bool) -> Int { market * 2 + (bid ? 0 : 1) }

    public func clear(market: Int) {
        counts[side(market, bid: true)] = 0
        counts[side(market, bid: false)] = 0
        stale[market] = false
    }

    /// Where `price` is, or would go, on side `s`: one binary search over the array sorted
    /// worst → best (bids ascending, asks descending).
    @inline(__always)
    func find(_ s: Int, bid: Bool, price: Int64) -> (index: Int, found: Bool) {
        let base = levels + s * capacity
        let n = counts[s]
        var lo = 0, hi = n
        while lo < hi {
            let mid = (lo + hi) >> 1
            if bid ? base[mid].price < price : base[mid].price > price { lo = mid + 1 } else { hi = mid }
        }
        return (lo, lo < n && base[lo].price == price)
    }

    /// Sets the level at `price` to `size` (0 removes it).
    @inline(__always)
    public func set(market: Int, bid: Bool, price: Int64, size: Int64) {
        let s = side(market, bid: bid)
        let (at, found) = find(s, bid: bid, price: price)
        put(s, at: at, found: found, price: price, size: size)
    }

    /// The level at `at` (found there, or to be inserted there) becomes `size`.
    @inline(__always)
    func put(_ s: Int, at lo: Int, found: Bool, price: Int64, size: Int64) {
        let base = levels + s * capacity
        let n = counts[s]
        if size == 0 {
            guard found else { return }
            (base + lo).update(from: base + lo + 1, count: n - lo - 1)
            counts[s] = n - 1
        } else if found {
            base[lo].size = size
        } else {
            guard n < capacity else {
                overflow += 1
                return
            }
            (base + lo + 1).moveInitialize(from: base + lo, count: n - lo)
            base[lo] = Level(price: price, size: size)
            counts[s] = n + 1
        }
    }

    /// Applies one normalised event; true for `.updated`, when the market's book is whole
    /// again and worth showing. Trades leave the book alone.
    @inline(__always)
    public func apply(_ e: VenueEvent) -> Bool {
        let m = Int(e.market)
        guard m >= 0 && m < markets else { return false }
        switch e.kind {
        case .clear: clear(market: m)
        case .level: set(market: m, bid: e.side == .bid, price: e.price, size: e.size)
        case .change: add(market: m, bid: e.side == .bid, price: e.price, delta: e.size)
        case .stale: stale[m] = true
        case .trade: break
        case .updated: return true
        }
        return false
    }

    /// Adds `delta` to the level at `price` (Kalshi's deltas); a level at or below 0 goes.
    public func add(market: Int, bid: Bool, price: Int64, delta: Int64) {
        let s = side(market, bid: bid)
        let (at, found) = find(s, bid: bid, price: price)
        let current = found ? levels[s * capacity + at].size : 0
        put(s, at: at, found: found, price: price, size: max(current &+ delta, 0))
    }

    public func size(market: Int, bid: Bool, price: Int64) -> Int64 {
        let s = side(market, bid: bid)
        let base = levels + s * capacity
        for i in 0..<counts[s] where base[i].price == price { return base[i].size }
        return 0
    }

    public func count(market: Int, bid: Bool) -> Int { counts[side(market, bid: bid)] }

    /// The `rank`-th best level (0 = best).
    public func level(market: Int, bid: Bool, rank: Int) -> Level {
        let s = side(market, bid: bid)
        return levels[s * capacity + counts[s] - 1 - rank]
    }

    /// `{"product":…,"sequence_num":…,"bids":[["price","size"],…],"asks":[…]}`, `depth`
    /// levels a side, 9-decimal strings. Cold path.
    public func json(market: Int, name: String, sequence: Int64, depth: Int = 10) -> String {
        func side(_ bid: Bool) -> String {
            let n = min(count(market: market, bid: bid), depth)
            return "["
                + (0..<n).map {
                    let l = level(market: market, bid: bid, rank: $0)
                    return "[\"\(DBNJSONWriter.decimal(l.price))\",\"\(DBNJSONWriter.decimal(l.size))\"]"
                }.joined(separator: ",") + "]"
        }
        return
            "{\"product\":\"\(name)\",\"sequence_num\":\(sequence),\"bids\":\(side(true)),\"asks\":\(side(false))"
            + (stale[market] ? ",\"stale\":true}" : "}")
    }
}
