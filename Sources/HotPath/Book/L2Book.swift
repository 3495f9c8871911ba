/// Price-level books from MBP-1 / MBP-10 (and BBO) records: each record carries the top
/// levels after its update, so the view is copied from the record when it closes a batch.
public struct L2Book: @unchecked Sendable {
    public let instruments: InstrumentIndex
    @usableFromInline let views: UnsafeMutablePointer<BookView>
    @usableFromInline let scratchBids: PriceLevels
    @usableFromInline let scratchAsks: PriceLevels
    public let depth: Int

    /// Arena bytes `init(maxInstruments:depth:arena:)` carves.
    public static func arenaBytes(maxInstruments: Int, depth: Int) -> Int {
        InstrumentIndex.arenaBytes(capacity: maxInstruments) + Arena.footprint(BookView.self, count: maxInstruments)
            + maxInstruments * BookView.arenaBytes(depth: depth) + 2 * PriceLevels.arenaBytes(capacity: 16)
    }

    public init(maxInstruments: Int = 64, depth: Int = 10, arena: Arena) throws(ArenaError) {
        self.depth = depth
        instruments = try InstrumentIndex(capacity: maxInstruments, arena: arena)
        views = try arena.allocate(BookView.self, count: maxInstruments)
        for i in 0..<maxInstruments { (views + i).initialize(to: try BookView(depth: depth, arena: arena)) }
        scratchBids = try PriceLevels(capacity: 16, isBid: true, arena: arena)
        scratchAsks = try PriceLevels(capacity: 16, isBid: false, arena: arena)
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
