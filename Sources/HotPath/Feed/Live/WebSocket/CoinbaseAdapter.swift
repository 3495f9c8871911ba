#if canImport(Glibc)
import Glibc
#endif

/// Coinbase Advanced Trade market data over WebSocket, as Coinbase documents it:
///
/// - every message is `{"channel":…,"client_id":…,"timestamp":…,"sequence_num":N,
///   "events":[…]}`; `sequence_num` rises by one per message on a connection, across channels;
/// - `l2_data` events are `{"type":"snapshot"|"update","product_id":…,"updates":[{"side":
///   "bid"|"offer","event_time":…,"price_level":"21921.73","new_quantity":"0.06317902"}]}`,
///   `new_quantity` the level's absolute size ("0" removes it); a snapshot replaces the book;
/// - `market_trades` events carry `trades`: `product_id`, `price`, `size`, `side`
///   ("BUY"|"SELL"); `heartbeats` and `subscriptions` are counted.
///
/// Prices and quantities are decimal strings, parsed exactly into 1e-9 fixed point
/// (`JSONScanner.fixedPoint`), and each message becomes `VenueEvent`s. A `sequence_num` gap
/// makes every book stale until its next snapshot, and is counted. An unknown channel or product, a malformed message, and a
/// negative or non-decimal quantity are counted skips. Nothing is allocated per message.
public struct CoinbaseAdapter {
    public struct Counts: Sendable {
        public var messages = 0, l2 = 0, snapshots = 0, trades = 0, heartbeats = 0, subscriptions = 0
        public var gaps = 0, unknownChannel = 0, unknownProduct = 0, malformed = 0, badQuantity = 0
        public var named: [(String, Int)] {
            [
                ("messages", messages), ("l2_data", l2), ("snapshots", snapshots), ("trades", trades),
                ("heartbeats", heartbeats), ("subscriptions", subscriptions), ("sequence_gaps", gaps),
                ("unknown_channel", unknownChannel), ("unknown_product", unknownProduct), ("malformed", malformed),
                ("bad_quantity", badQuantity),
            ]
        }
    }

    /// The products, in the books' market order (start-up).
    public let products: [String]
    let productBytes: [[UInt8]]
    public private(set) var counts = Counts()
    public private(set) var lastSequence: Int64 = -1
    /// The message being read is malformed (counted once, at its end).
    var fault = false

    public init(products: [String]) {
        self.products = products
        productBytes = products.map { Array($0.utf8) }
    }

    /// The subscribe commands for `channels` (default level2 and market_trades). Cold.
    public func subscriptions(channels: [String] = ["level2", "market_trades"]) -> [String] {
        let ids = products.map { "\"\($0)\"" }.joined(separator: ",")
        return channels.map { "{\"type\":\"subscribe\",\"product_ids\":[\(ids)],\"channel\":\"\($0)\"}" }
    }

    func market(_ t: JSONScanner.Text) -> Int { t.index(in: productBytes) }

    /// A new connection: its `sequence_num` starts again, and every book is stale until
    /// the snapshot the subscription brings.
    public mutating func reconnected(emit: (VenueEvent) -> Void) {
        lastSequence = -1
        for m in products.indices { emit(VenueEvent(.stale, market: m)) }
    }

    /// One message as events: an `l2_data` event gives `clear` (a snapshot), its `level`s and
    /// `updated`; a trade gives `trade`; a `sequence_num` gap gives `stale` for every market.
    ///
    /// One pass in Coinbase's order (channel, …, sequence_num, then events; in an event,
    /// type and product_id, then updates): each part is read where it stands, and one that
    /// comes before what it needs is read afterwards from its noted offset. Should a message
    /// break off inside an event's updates, the levels before the break are out: the market
    /// is made stale (it waits for a snapshot) and the message counted as malformed, once.
    public mutating func take(_ message: UnsafeRawBufferPointer, emit: (VenueEvent) -> Void) {
        counts.messages += 1
        fault = false
        var channel = Channel.none
        var sequence: Int64 = -1
        var sawSequence = false
        var events = -1
        var done = false
        var s = JSONScanner(message)
        s.members { s, key in
            if key.equals("channel") {
                guard let t = s.text() else { return false }
                channel =
                    t.equals("l2_data")
                    ? .l2
                    : t.equals("market_trades")
                        ? .trades
                        : t.equals("heartbeats") ? .heartbeats : t.equals("subscriptions") ? .subscriptions : .other
            } else if key.equals("sequence_num") {
                sequence = s.integer() ?? -1
                sawSequence = true
            } else if key.equals("events") {
                if channel != .none && sawSequence {
                    done = true
                    sequenced(sequence, emit: emit)
                    read(&s, channel: channel, message: message, sequence: sequence, emit: emit)
                } else {
                    events = s.offset
                }
            }
            return true
        }
        if !s.finish() || (!done && channel == .none) {
            counts.malformed += 1
            return
        }
        if !done {
            sequenced(sequence, emit: emit)
            if events >= 0 {
                var e = JSONScanner(message, at: events)
                read(&e, channel: channel, message: message, sequence: sequence, emit: emit)
            } else if channel == .l2 || channel == .trades {
                fault = true
            } else {
                tally(channel)
            }
        }
        if fault { counts.malformed += 1 }
    }

    enum Channel { case none, l2, trades, heartbeats, subscriptions, other }

    /// The gap check: a `sequence_num` that does not follow the last makes every book stale.
    mutating func sequenced(_ sequence: Int64, emit: (VenueEvent) -> Void) {
        guard sequence >= 0 else { return }
        if lastSequence >= 0 && sequence != lastSequence + 1 {
            counts.gaps += 1
            for m in products.indices { emit(VenueEvent(.stale, market: m, sequence: sequence)) }
        }
        lastSequence = sequence
    }

    /// A message's `events` at `e`'s cursor, by channel.
    mutating func read(
        _ e: inout JSONScanner, channel: Channel, message: UnsafeRawBufferPointer, sequence: Int64,
        emit: (VenueEvent) -> Void
    ) {
        guard channel == .l2 || channel == .trades else { return tally(channel) }
        if channel == .l2 { counts.l2 += 1 }
        e.elements { e in
            if channel == .l2 {
                l2Event(&e, message: message, sequence: sequence, emit: emit)
            } else {
                tradesEvent(&e, sequence: sequence, emit: emit)
            }
            return true
        }
        if e.failure != nil { fault = true }
    }

    /// The channels whose events are only counted.
    mutating func tally(_ channel: Channel) {
        switch channel {
        case .heartbeats: counts.heartbeats += 1
        case .subscriptions: counts.subscriptions += 1
        default: counts.unknownChannel += 1
        }
    }

    /// One `l2_data` event: its type and product, then its updates.
    mutating func l2Event(
        _ e: inout JSONScanner, message: UnsafeRawBufferPointer, sequence: Int64, emit: (VenueEvent) -> Void
    ) {
        var snapshot = false, sawType = false
        var m = -2
        var updates = -1
        var done = false
        e.members { e, key in
            if key.equals("type") {
                snapshot = e.text()?.equals("snapshot") ?? false
                sawType = true
            } else if key.equals("product_id") {
                m = e.text().map { market($0) } ?? -2
            } else if key.equals("updates") {
                if sawType && m >= 0 {
                    done = true
                    begin(market: m, snapshot: snapshot, sequence: sequence, emit: emit)
                    levels(&e, market: m, sequence: sequence, emit: emit)
                } else if m == -2 || !sawType {
                    updates = e.offset
                }
            }
            return true
        }
        guard m >= 0 else {
            if m == -1 { counts.unknownProduct += 1 } else { fault = true }
            return
        }
        if !done {
            guard e.failure == nil else { return }
            begin(market: m, snapshot: snapshot, sequence: sequence, emit: emit)
            if updates >= 0 {
                var u = JSONScanner(message, at: updates)
                levels(&u, market: m, sequence: sequence, emit: emit)
            }
        }
        emit(VenueEvent(.updated, market: m, sequence: sequence))
    }

    /// A snapshot event's `clear`.
    mutating func begin(market m: Int, snapshot: Bool, sequence: Int64, emit: (VenueEvent) -> Void) {
        guard snapshot else { return }
        counts.snapshots += 1
        emit(VenueEvent(.clear, market: m, sequence: sequence))
    }

    /// An event's `updates` at `u`'s cursor, as `level`s.
    mutating func levels(_ u: inout JSONScanner, market m: Int, sequence: Int64, emit: (VenueEvent) -> Void) {
        u.elements { u in
            var side = VenueEvent.Side.none
            var price: Int64? = nil
            var quantity: Int64? = nil
            u.members { u, key in
                if key.equals("side") {
                    side = u.text().map { $0.equals("bid") ? .bid : $0.equals("offer") ? .ask : .none } ?? .none
                } else if key.equals("price_level") {
                    price = u.fixedPoint()
                } else if key.equals("new_quantity") {
                    quantity = u.fixedPoint()
                }
                return true
            }
            guard side != .none, let price, let quantity, quantity >= 0 else {
                counts.badQuantity += 1
                return u.failure == nil
            }
            emit(VenueEvent(.level, market: m, side: side, price: price, size: quantity, sequence: sequence))
            return true
        }
        if u.failure != nil {
            fault = true
            emit(VenueEvent(.stale, market: m, sequence: sequence))
        }
    }

    /// One `market_trades` event: `{"type":…,"trades":[{"product_id","price","size","side"
    /// ("BUY"|"SELL"),…}]}`, each trade an event.
    mutating func tradesEvent(_ e: inout JSONScanner, sequence: Int64, emit: (VenueEvent) -> Void) {
        e.members { e, key in
            guard key.equals("trades") else { return true }
            e.elements { t in
                var m = -2
                var side = VenueEvent.Side.none
                var price: Int64?, size: Int64?
                t.members { t, key in
                    if key.equals("product_id") {
                        m = t.text().map { market($0) } ?? -2
                    } else if key.equals("price") {
                        price = t.fixedPoint()
                    } else if key.equals("size") {
                        size = t.fixedPoint()
                    } else if key.equals("side") {
                        side = t.text().map { $0.equals("BUY") ? .bid : $0.equals("SELL") ? .ask : .none } ?? .none
                    }
                    return true
                }
                guard m >= 0 else {
                    if m == -1 { counts.unknownProduct += 1 } else { fault = true }
                    return t.failure == nil
                }
                guard let price, let size, size >= 0 else {
                    counts.badQuantity += 1
                    return t.failure == nil
                }
                counts.trades += 1
                emit(VenueEvent(.trade, market: m, side: side, price: price, size: size, sequence: sequence))
                return true
            }
            return true
        }
    }
}
