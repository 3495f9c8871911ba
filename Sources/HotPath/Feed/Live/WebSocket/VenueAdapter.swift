/// The adapter a `wss://` URL's `venue=` names, behind one face for `book` and the tests:
/// subscriptions, a new connection, one message into the books. Both adapters are stored
/// (the unused one empty), so a message mutates the chosen one in place: no enum payload
/// is copied out and back per message.
public struct VenueAdapter {
    public let venue: VenueOptions.Venue
    public private(set) var coinbase: CoinbaseAdapter
    public private(set) var kalshi: KalshiAdapter

    public init(_ options: VenueOptions) {
        venue = options.venue
        coinbase = CoinbaseAdapter(products: options.venue == .coinbase ? options.markets : [])
        kalshi = KalshiAdapter(markets: options.venue == .kalshi ? options.markets : [])
    }

    /// The subscribe commands (`channels`, or the venue's book and trade channels). Cold.
    public func subscriptions(channels: [String]) -> [String] {
        switch venue {
        case .coinbase: channels.isEmpty ? coinbase.subscriptions() : coinbase.subscriptions(channels: channels)
        case .kalshi: [channels.isEmpty ? kalshi.subscription() : kalshi.subscription(channels: channels)]
        }
    }

    public mutating func reconnected(book: VenueBook) {
        switch venue {
        case .coinbase: coinbase.reconnected(book: book)
        case .kalshi: kalshi.reconnected(book: book)
        }
    }

    /// One message into `book`; `touched(market, sequence)` hears each book it changed;
    /// `resync` hears a sequence gap the venue repairs by a new subscription (Kalshi).
    @inline(__always)
    public mutating func take(
        _ message: UnsafeRawBufferPointer, book: VenueBook, touched: (Int, Int64) -> Void, resync: () -> Void
    ) {
        switch venue {
        case .coinbase: coinbase.take(message, book: book, touched: touched)
        case .kalshi: kalshi.take(message, book: book, touched: touched, resync: resync)
        }
    }

    /// The adapter's counters, named with the venue.
    public var counts: [(String, Int)] {
        switch venue {
        case .coinbase: coinbase.counts.named.map { ("coinbase.\($0.0)", $0.1) }
        case .kalshi: kalshi.counts.named.map { ("kalshi.\($0.0)", $0.1) }
        }
    }
}
