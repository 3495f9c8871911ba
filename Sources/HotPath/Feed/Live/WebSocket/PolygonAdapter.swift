/// Polygon stocks (now Massive) over WebSocket, as its documentation shows:
///
/// - after connecting, the client sends `{"action":"auth","params":KEY}`; the server answers
///   `[{"ev":"status","status":"auth_success",…}]` (or `auth_failed`), and only then takes
///   `{"action":"subscribe","params":"Q.AAPL,T.AAPL"}`;
/// - every server message is a JSON array of events, each naming itself in `ev`;
/// - `Q` (NBBO): `sym`, `bx`, `bp`, `bs`, `ax`, `ap`, `as`, `c`, `t`, `q` (a sequence
///   number), `z`; sizes are round lots, kept as sent;
/// - `T`: `sym`, `x`, `i` (the trade id, a string), `p`, `s`, `c`, `t`, `q`, `z`.
///
/// Numbers are JSON numbers, parsed from their text exactly (never through Double). A quote
/// is the whole top of book, so it becomes `clear`, a bid and an ask `level` (a size of 0
/// leaves that side empty) and `updated` with `q`. `q` runs across the whole feed, not per
/// subscription, so a gap cannot be seen in it: after a reconnect each market is stale until
/// its next quote. `auth_failed` sets `refusal` (the feed ends: a wrong key is not retried).
/// Unknown events and symbols, malformed messages and bad numbers are counted skips.
public struct PolygonAdapter {
    public struct Counts: Sendable {
        public var messages = 0, quotes = 0, trades = 0, statuses = 0
        public var unknownEvent = 0, unknownSymbol = 0, malformed = 0, badNumber = 0
        public var named: [(String, Int)] {
            [
                ("messages", messages), ("quotes", quotes), ("trades", trades), ("statuses", statuses),
                ("unknown_event", unknownEvent), ("unknown_symbol", unknownSymbol), ("malformed", malformed),
                ("bad_number", badNumber),
            ]
        }
    }

    public let symbols: [String]
    let symbolBytes: [[UInt8]]
    public private(set) var counts = Counts()
    /// The server refused the key (`auth_failed`, with its message). Cold.
    public private(set) var refusal: String?
    /// `auth_success` came: the feed is to send `subscription()` (and then calls `subscribed()`).
    public private(set) var wantsSubscription = false

    public init(symbols: [String]) {
        self.symbols = symbols
        symbolBytes = symbols.map { Array($0.utf8) }
    }

    /// The auth action, sent first on each connection. Cold; the key is in no other string.
    public static func auth(key: String) -> String {
        var escaped = ""
        for c in key.unicodeScalars {
            if c == "\"" || c == "\\" { escaped.append("\\") }
            escaped.unicodeScalars.append(c)
        }
        return "{\"action\":\"auth\",\"params\":\"\(escaped)\"}"
    }

    /// The subscribe action for `channels` (default quotes and trades). Cold.
    public func subscription(channels: [String] = ["Q", "T"]) -> String {
        let params = symbols.flatMap { s in channels.map { "\($0).\(s)" } }.joined(separator: ",")
        return "{\"action\":\"subscribe\",\"params\":\"\(params)\"}"
    }

    /// A new connection: every book waits for its market's next quote.
    public mutating func reconnected(emit: (VenueEvent) -> Void) {
        for m in symbols.indices { emit(VenueEvent(.stale, market: m)) }
    }

    public mutating func subscribed() { wantsSubscription = false }

    /// One message (an array of events) as `VenueEvent`s; `auth_success` sets
    /// `wantsSubscription`.
    public mutating func take(_ message: UnsafeRawBufferPointer, emit: (VenueEvent) -> Void) {
        counts.messages += 1
        var s = JSONScanner(message)
        s.elements { e in
            event(&e, emit: emit)
            return true
        }
        if !s.finish() { counts.malformed += 1 }
    }

    enum Kind { case none, quote, trade, status, other }

    /// A `Q` or `T` event in the documented field order, read by position: each key is
    /// checked where it must stand, skipped fields are stepped over. False (the scanner
    /// untouched) at the first difference, and `event` reads it the general way.
    mutating func laidOut(_ e: inout JSONScanner, emit: (VenueEvent) -> Void) -> Bool {
        var f = e
        if f.consume(#"{"ev":"Q","sym":"#) {
            guard let sym = f.text(), f.consume(#","bx":"#) else { return false }
            f.skipUnread()
            guard f.consume(#","bp":"#), let bp = f.fixedPoint(), f.consume(#","bs":"#), let bs = f.fixedPoint(),
                f.consume(#","ax":"#)
            else { return false }
            f.skipUnread()
            guard f.consume(#","ap":"#), let ap = f.fixedPoint(), f.consume(#","as":"#), let asz = f.fixedPoint(),
                f.consume(#","c":"#)
            else { return false }
            f.skipUnread()
            guard f.consume(#","i":"#) else { return false }
            f.skipValue()
            guard f.consume(#","t":"#) else { return false }
            f.skipUnread()
            guard f.consume(#","q":"#), let q = f.integer(), f.consume(#","z":"#) else { return false }
            f.skipUnread()
            guard f.consume("}") else { return false }
            e = f
            apply(.quote, market: sym.index(in: symbolBytes), bp, bs, ap, asz, sequence: q, emit: emit)
            return true
        }
        if f.consume(#"{"ev":"T","sym":"#) {
            guard let sym = f.text(), f.consume(#","x":"#) else { return false }
            f.skipUnread()
            guard f.consume(#","i":"#) else { return false }
            f.skipUnread()
            guard f.consume(#","z":"#) else { return false }
            f.skipUnread()
            guard f.consume(#","p":"#), let p = f.fixedPoint(), f.consume(#","s":"#), let s = f.fixedPoint(),
                f.consume(#","c":"#)
            else { return false }
            f.skipValue()
            guard f.consume(#","t":"#) else { return false }
            f.skipUnread()
            guard f.consume(#","q":"#), let q = f.integer(), f.consume("}") else { return false }
            e = f
            apply(.trade, market: sym.index(in: symbolBytes), p, s, nil, nil, sequence: q, emit: emit)
            return true
        }
        return false
    }

    mutating func event(_ e: inout JSONScanner, emit: (VenueEvent) -> Void) {
        if laidOut(&e, emit: emit) { return }
        var kind = Kind.none
        var m = -2
        var bidPrice: Int64?, bidSize: Int64?, askPrice: Int64?, askSize: Int64?
        var sequence: Int64 = -1
        var status: JSONScanner.Text?, said: JSONScanner.Text?
        // Keys by length, then by their bytes: most are one or two letters.
        e.members { e, key in
            let k = key.start
            switch key.count {
            case 1:
                switch k[0] {
                case UInt8(ascii: "p"): bidPrice = e.fixedPoint()
                case UInt8(ascii: "s"): bidSize = e.fixedPoint()
                case UInt8(ascii: "q"): sequence = e.integer() ?? -1
                default: break
                }
            case 2:
                switch (k[0], k[1]) {
                case (UInt8(ascii: "e"), UInt8(ascii: "v")):
                    kind =
                        e.text().map {
                            $0.equals("Q") ? .quote : $0.equals("T") ? .trade : $0.equals("status") ? .status : .other
                        } ?? .none
                case (UInt8(ascii: "b"), UInt8(ascii: "p")): bidPrice = e.fixedPoint()
                case (UInt8(ascii: "b"), UInt8(ascii: "s")): bidSize = e.fixedPoint()
                case (UInt8(ascii: "a"), UInt8(ascii: "p")): askPrice = e.fixedPoint()
                case (UInt8(ascii: "a"), UInt8(ascii: "s")): askSize = e.fixedPoint()
                default: break
                }
            case 3 where key.equals("sym"): m = e.text().map { $0.index(in: symbolBytes) } ?? -2
            case 6 where key.equals("status"): status = e.text()
            case 7 where key.equals("message"): said = e.text()
            default: break
            }
            return true
        }
        guard e.failure == nil else { return }  // the message is counted malformed
        guard kind != .none else {
            counts.malformed += 1
            return
        }
        switch kind {
        case .status:
            counts.statuses += 1
            if status?.equals("auth_success") == true {
                wantsSubscription = true
            } else if status?.equals("auth_failed") == true {
                refusal = "auth_failed: " + (said?.string ?? "")
            }
        case .quote, .trade:
            apply(kind, market: m, bidPrice, bidSize, askPrice, askSize, sequence: sequence, emit: emit)
        case .other, .none: counts.unknownEvent += 1
        }
    }

    /// A quote or trade's checks and events; `market` is -1 for an unknown symbol, -2 for
    /// none. A trade's price and size come as `bid`.
    mutating func apply(
        _ kind: Kind, market m: Int, _ bidPrice: Int64?, _ bidSize: Int64?, _ askPrice: Int64?, _ askSize: Int64?,
        sequence: Int64, emit: (VenueEvent) -> Void
    ) {
        guard m >= 0 else {
            if m == -1 { counts.unknownSymbol += 1 } else { counts.malformed += 1 }
            return
        }
        if kind == .trade {
            guard let price = bidPrice, let size = bidSize, price >= 0, size >= 0 else {
                counts.badNumber += 1
                return
            }
            counts.trades += 1
            emit(VenueEvent(.trade, market: m, price: price, size: size, sequence: sequence))
            return
        }
        guard let bidPrice, let bidSize, let askPrice, let askSize, bidPrice >= 0, askPrice >= 0, bidSize >= 0,
            askSize >= 0
        else {
            counts.badNumber += 1
            return
        }
        counts.quotes += 1
        emit(VenueEvent(.clear, market: m, sequence: sequence))
        emit(VenueEvent(.level, market: m, side: .bid, price: bidPrice, size: bidSize, sequence: sequence))
        emit(VenueEvent(.level, market: m, side: .ask, price: askPrice, size: askSize, sequence: sequence))
        emit(VenueEvent(.updated, market: m, sequence: sequence))
    }
}
