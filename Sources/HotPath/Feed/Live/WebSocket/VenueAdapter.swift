/// The adapter a `wss://` URL's `venue=` names, behind one face for `book`, `decode` and
/// the tests: what a connection sends first, one message into `VenueEvent`s, the counters.
/// Every adapter is stored (the unused ones empty), so a message mutates the chosen one in
/// place: no enum payload is copied out and back per message.
public struct VenueAdapter {
    public let venue: VenueOptions.Venue
    public private(set) var coinbase: CoinbaseAdapter
    public private(set) var kalshi: KalshiAdapter
    public private(set) var polygon: PolygonAdapter

    public init(_ options: VenueOptions) {
        venue = options.venue
        coinbase = CoinbaseAdapter(products: options.venue == .coinbase ? options.markets : [])
        kalshi = KalshiAdapter(markets: options.venue == .kalshi ? options.markets : [])
        polygon = PolygonAdapter(symbols: options.venue == .polygon ? options.markets : [])
    }

    /// The subscribe commands for `channels` (empty: the venue's book and trade channels).
    /// Cold.
    public func subscriptions(channels: [String]) -> [String] {
        switch venue {
        case .coinbase: channels.isEmpty ? coinbase.subscriptions() : coinbase.subscriptions(channels: channels)
        case .kalshi: [channels.isEmpty ? kalshi.subscription() : kalshi.subscription(channels: channels)]
        case .polygon: [channels.isEmpty ? polygon.subscription() : polygon.subscription(channels: channels)]
        }
    }

    /// What a new connection sends first: the subscriptions, or Polygon's auth (whose
    /// `auth_success` asks for the subscriptions, through `outbox`). Cold.
    public func opening(channels: [String], key: String?) -> [String] {
        venue == .polygon ? [PolygonAdapter.auth(key: key ?? "")] : subscriptions(channels: channels)
    }

    public mutating func reconnected(emit: (VenueEvent) -> Void) {
        switch venue {
        case .coinbase: coinbase.reconnected(emit: emit)
        case .kalshi: kalshi.reconnected(emit: emit)
        case .polygon: polygon.reconnected(emit: emit)
        }
    }

    /// One message as `VenueEvent`s. Afterwards `hasOutbox` says whether the venue is owed
    /// commands (a Kalshi gap's resubscription, Polygon's subscription after its auth).
    @inline(__always)
    public mutating func take(_ message: UnsafeRawBufferPointer, emit: (VenueEvent) -> Void) {
        switch venue {
        case .coinbase: coinbase.take(message, emit: emit)
        case .kalshi: kalshi.take(message, emit: emit)
        case .polygon: polygon.take(message, emit: emit)
        }
    }

    @inline(__always)
    public var hasOutbox: Bool { kalshi.wantsResync || polygon.wantsSubscription }

    /// The commands the venue is owed now (see `hasOutbox`), once. Cold.
    public mutating func outbox(channels: [String]) -> [String] {
        if kalshi.wantsResync {
            return channels.isEmpty ? kalshi.resubscription() : kalshi.resubscription(channels: channels)
        }
        if polygon.wantsSubscription {
            polygon.subscribed()
            return subscriptions(channels: channels)
        }
        return []
    }

    /// The venue refused the session (a wrong Polygon key): not worth a reconnect.
    public var refusal: String? { venue == .polygon ? polygon.refusal : nil }

    /// The adapter's counters, named with the venue.
    public var counts: [(String, Int)] {
        let named =
            switch venue {
            case .coinbase: coinbase.counts.named
            case .kalshi: kalshi.counts.named
            case .polygon: polygon.counts.named
            }
        return named.map { ("\(venue.rawValue).\($0.0)", $0.1) }
    }
}
