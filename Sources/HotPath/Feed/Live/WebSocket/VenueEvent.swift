/// One normalised venue event: what an adapter makes of a message, before any book. The
/// books (`VenueBook.apply`), `decode` and later the engine all take these, so every venue
/// reaches them through one shape.
///
/// Prices and sizes are 1e-9 fixed point. `level` sets a price level's absolute size (0
/// removes it); `change` adds a signed amount (Kalshi's deltas); `clear` starts a snapshot
/// or a whole-book quote; `updated` closes one message's changes to a market (a book to
/// show, with the venue's `sequence`); `stale` says the feed missed messages for the market
/// (a gap, a reconnect) and its book waits for a snapshot. A `trade`'s `side` is the
/// aggressor's as the venue states it, `.none` when it does not.
public struct VenueEvent: Equatable, Sendable {
    public enum Kind: UInt8, Sendable { case clear, level, change, trade, updated, stale }
    public enum Side: UInt8, Sendable { case bid, ask, none }

    public var kind: Kind
    public var market: Int32
    public var side: Side
    public var price: Int64
    public var size: Int64
    public var sequence: Int64

    @inline(__always)
    public init(_ kind: Kind, market: Int, side: Side = .none, price: Int64 = 0, size: Int64 = 0, sequence: Int64 = -1)
    {
        self.kind = kind
        self.market = Int32(truncatingIfNeeded: market)
        self.side = side
        self.price = price
        self.size = size
        self.sequence = sequence
    }

    /// `{"venue":…,"market":…,"seq":N,"event":…,…}`: the line `decode wss://` prints. Cold.
    public func json(venue: String, markets: [String]) -> String {
        let name = Int(market) < markets.count ? markets[Int(market)] : "\(market)"
        var s = "{\"venue\":\"\(venue)\",\"market\":\"\(name)\",\"seq\":\(sequence),\"event\":\"\(kind.name)\""
        if kind == .level || kind == .change || kind == .trade {
            s += ",\"side\":\"\(side.name)\",\"price\":\"\(DBNJSONWriter.decimal(price))\","
            s += "\"\(kind == .change ? "delta" : "size")\":\"\(DBNJSONWriter.decimal(size))\""
        }
        return s + "}"
    }
}

extension VenueEvent.Kind {
    public var name: String {
        switch self {
        case .clear: "clear"
        case .level: "level"
        case .change: "change"
        case .trade: "trade"
        case .updated: "updated"
        case .stale: "stale"
        }
    }
}

extension VenueEvent.Side {
    public var name: String {
        switch self {
        case .bid: "bid"
        case .ask: "ask"
        case .none: "none"
        }
    }
}
