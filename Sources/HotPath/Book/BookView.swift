/// The published top-N of one instrument's book: what features and the `book` command read
/// after each event that closes a batch. Fixed-size, arena memory, written only by the
/// book's owner thread, and only at a publish: read at any time on that thread, it shows
/// the book as the last closed batch left it, never part of the batch in progress.
public struct BookView: @unchecked Sendable {
    public struct Header: BitwiseCopyable {
        public var tsRecv: UInt64 = 0
        public var tsEvent: UInt64 = 0
        public var sequence: UInt64 = 0
        public var instrumentId: UInt32 = 0
        public var bidLevels: UInt16 = 0
        public var askLevels: UInt16 = 0
        /// 0 when consistent, else a `BookStale` reason code.
        public var stale: UInt8 = 0
        /// Bumped at every publish.
        public var version: UInt64 = 0
    }

    public let depth: Int
    @usableFromInline let header: UnsafeMutablePointer<Header>
    /// bids[0..<depth] then asks[0..<depth], best first.
    @usableFromInline let levels: UnsafeMutablePointer<PriceLevels.Level>

    /// Arena bytes `init(depth:arena:)` carves.
    public static func arenaBytes(depth: Int) -> Int {
        Arena.footprint(Header.self, count: 1) + Arena.footprint(PriceLevels.Level.self, count: 2 * depth)
    }

    public init(depth: Int, arena: Arena) throws(ArenaError) {
        self.depth = depth
        header = try arena.allocate(Header.self, count: 1)
        header.initialize(to: Header())
        levels = try arena.allocate(PriceLevels.Level.self, count: 2 * depth)
    }

    public var info: Header { header.pointee }
    public func bid(_ rank: Int) -> PriceLevels.Level { levels[rank] }
    public func ask(_ rank: Int) -> PriceLevels.Level { levels[depth + rank] }

    /// The best bid and ask, each a zero level while its side is empty.
    @inline(__always)
    public var top: (bid: PriceLevels.Level, ask: PriceLevels.Level) {
        let h = header.pointee, none = PriceLevels.Level(price: 0, size: 0, count: 0)
        return (h.bidLevels > 0 ? bid(0) : none, h.askLevels > 0 ? ask(0) : none)
    }

    /// Brings the view up to date with the top `depth` levels of each side, copying only the
    /// ranks that changed since the last publish (most MBO updates are deeper than the top 10,
    /// and then no level is copied at all).
    @inlinable @inline(__always)
    public func publish(bids: PriceLevels, asks: PriceLevels, event: Event, stale: UInt8) {
        let bc = bids.count, ac = asks.count
        let nb = min(depth, bc), na = min(depth, ac)
        let b = bids.levels + (bc &- 1), a = asks.levels + (ac &- 1), out = levels
        var r = bids.takeDirtyRank()
        while r < nb { out[r] = b[-r]; r &+= 1 }
        r = asks.takeDirtyRank()
        while r < na { out[depth &+ r] = a[-r]; r &+= 1 }
        stamp(event, bids: nb, asks: na, stale: stale)
    }

    /// The header of a publish.
    @_transparent @usableFromInline
    func stamp(_ event: Event, bids nb: Int, asks na: Int, stale: UInt8) {
        header.pointee.tsRecv = event.tsRecv
        header.pointee.tsEvent = event.tsEvent
        header.pointee.sequence = event.sequence
        header.pointee.instrumentId = event.instrumentId
        header.pointee.bidLevels = UInt16(nb)
        header.pointee.askLevels = UInt16(na)
        header.pointee.stale = stale
        header.pointee.version &+= 1
    }

    /// Brings the view up to date from an L3 book's ladders (each copies only when its top
    /// `depth` may have changed).
    @_transparent
    public func publish(bids: PriceLadder, asks: PriceLadder, event: Event, stale: UInt8) {
        let nb = bids.publish(into: levels, depth: depth)
        let na = asks.publish(into: levels + depth, depth: depth)
        stamp(event, bids: nb, asks: na, stale: stale)
    }

    /// `{"ts_recv":…,"instrument_id":…,"bids":[["price",size,count],…],"asks":[…]}` with
    /// prices as 9-decimal strings, and `"stale":"resubscribed"` last while a live source has
    /// not rebuilt the book since it subscribed again. (The book's own inconsistencies are
    /// counted and reported apart, as ever.) Cold path.
    public var json: String {
        let h = header.pointee
        func side(_ n: Int, _ at: (Int) -> PriceLevels.Level) -> String {
            "["
                + (0..<n).map {
                    let l = at($0); return "[\"\(DBNJSONWriter.decimal(l.price))\",\(l.size),\(l.count)]"
                }.joined(separator: ",") + "]"
        }
        return
            "{\"ts_recv\":\(h.tsRecv),\"instrument_id\":\(h.instrumentId),\"bids\":\(side(Int(h.bidLevels), bid)),\"asks\":\(side(Int(h.askLevels), ask))"
            + (h.stale == BookStale.resubscribed ? ",\"stale\":\"resubscribed\"}" : "}")
    }
}

/// Why a book was marked stale (its first reason is kept until a clear).
public enum BookStale {
    public static let none: UInt8 = 0
    public static let unknownOrder: UInt8 = 1
    public static let sizeUnderflow: UInt8 = 2
    public static let crossed: UInt8 = 3
    public static let levelOverflow: UInt8 = 4
    public static let orderTableFull: UInt8 = 5
    public static let duplicateOrder: UInt8 = 6
    /// A live source lost its session and subscribed again: the book missed what came
    /// between, and stays stale until the source clears it (an MBO snapshot starts so).
    public static let resubscribed: UInt8 = 7

    public static func name(_ code: UInt8) -> String {
        [
            "ok", "unknown_order", "size_underflow", "crossed", "level_overflow", "order_table_full",
            "duplicate_order", "resubscribed",
        ][Int(min(code, 7))]
    }
}
