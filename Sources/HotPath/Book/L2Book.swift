/// Price-level books from MBP-1 / MBP-10 (and BBO) records, two ways:
/// - `apply(record:event:)`: each record carries the top levels after its update, so the view
///   is copied from the record when it closes a batch (the feed-thread tools);
/// - `apply(level:)`: the engine's way, from the `.level` events `DBNEvents` makes of the
///   records, each setting one level; the levels so far are published when one closes a batch.
public struct L2Book: @unchecked Sendable {
    public let instruments: InstrumentIndex
    @usableFromInline let views: UnsafeMutablePointer<BookView>
    @usableFromInline let scratchBids: PriceLevels
    @usableFromInline let scratchAsks: PriceLevels
    /// Per instrument, the levels set so far: bids[0..<depth] then asks, best first.
    @usableFromInline let working: UnsafeMutablePointer<PriceLevels.Level>
    public let depth: Int

    /// Arena bytes `init(maxInstruments:depth:arena:)` carves.
    public static func arenaBytes(maxInstruments: Int, depth: Int) -> Int {
        InstrumentIndex.arenaBytes(capacity: maxInstruments) + Arena.footprint(BookView.self, count: maxInstruments)
            + maxInstruments * BookView.arenaBytes(depth: depth) + 2 * PriceLevels.arenaBytes(capacity: 16)
            + Arena.footprint(PriceLevels.Level.self, count: 2 * depth * maxInstruments)
    }

    public init(maxInstruments: Int = 64, depth: Int = 10, arena: Arena) throws(ArenaError) {
        try self.init(
            instruments: try InstrumentIndex(capacity: maxInstruments, arena: arena), depth: depth, arena: arena)
    }

    /// A book whose instrument slots are `instruments`' (an order book's, so one slot number
    /// means one instrument in both).
    public init(instruments: InstrumentIndex, depth: Int, arena: Arena) throws(ArenaError) {
        let n = instruments.capacity
        self.depth = depth
        self.instruments = instruments
        views = try arena.allocate(BookView.self, count: n)
        for i in 0..<n { (views + i).initialize(to: try BookView(depth: depth, arena: arena)) }
        scratchBids = try PriceLevels(capacity: 16, isBid: true, arena: arena)
        scratchAsks = try PriceLevels(capacity: 16, isBid: false, arena: arena)
        working = try arena.allocate(PriceLevels.Level.self, count: 2 * depth * n)
        clearAll()
    }

    /// Empties every book's levels (published at each one's next close).
    public func clearAll() {
        working.initialize(
            repeating: PriceLevels.Level(price: Event.undefinedPrice, size: 0, count: 0),
            count: 2 * depth * instruments.capacity)
    }

    /// Sets the level a `.level` event names. Returns the book index when the event closes a
    /// batch and the view was published, else -1.
    @inlinable @inline(__always)
    public func apply(level e: Event) -> Int {
        let b = instruments.index(for: e.instrumentId)
        if b < 0 { return -1 }
        let levels = working + 2 &* depth &* b
        if Int(e.depth) < depth {
            let at = e.side == Event.Side.bid ? Int(e.depth) : e.side == Event.Side.ask ? depth &+ Int(e.depth) : -1
            if at >= 0 {
                levels[at] = PriceLevels.Level(
                    price: e.price, size: e.size, count: UInt32(truncatingIfNeeded: e.orderId))
            }
        }
        guard e.isLast else { return -1 }
        // Levels arrive best first; the first undefined price ends a side.
        var nb = 0, na = 0
        while nb < depth && levels[nb].price != Event.undefinedPrice { nb &+= 1 }
        while na < depth && levels[depth &+ na].price != Event.undefinedPrice { na &+= 1 }
        let view = views[b]
        view.levels.update(from: levels, count: 2 &* depth)
        view.stamp(e, bids: nb, asks: na, stale: 0)
        return b
    }

    /// Applies an MBP-1/MBP-10/BBO record whose `event` was decoded from it. Returns the book
    /// index when the view was published, else -1.
    @inlinable
    @discardableResult
    public func apply(record rec: UnsafeRawPointer, event e: Event) -> Int {
        guard e.isLast else { return -1 }
        let rtype = rec.load(fromByteOffset: 1, as: UInt8.self)
        let levelCount = rtype == DBNRType.mbp10 ? 10 : 1
        let b = instruments.index(for: e.instrumentId)
        if b < 0 { return -1 }
        scratchBids.removeAll()
        scratchAsks.removeAll()
        // Levels arrive best first; undefined prices mark absent levels.
        for i in stride(from: levelCount - 1, through: 0, by: -1) {
            let at = 48 + 32 * i
            let bidPx: Int64 = rec.le(at), askPx: Int64 = rec.le(at + 8)
            if bidPx != Event.undefinedPrice {
                _ = scratchBids.add(
                    price: bidPx, size: rec.le(at + 16, as: UInt32.self), orders: rec.le(at + 24, as: UInt32.self))
            }
            if askPx != Event.undefinedPrice {
                _ = scratchAsks.add(
                    price: askPx, size: rec.le(at + 20, as: UInt32.self), orders: rec.le(at + 28, as: UInt32.self))
            }
        }
        views[b].publish(bids: scratchBids, asks: scratchAsks, event: e, stale: 0)
        return b
    }

    @inlinable public func view(book b: Int) -> BookView { views[b] }
}
