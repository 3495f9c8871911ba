import CSupport

#if canImport(Glibc)
import Glibc
#endif

/// Kalshi's request signature: the headers KALSHI-ACCESS-KEY, KALSHI-ACCESS-TIMESTAMP (ms)
/// and KALSHI-ACCESS-SIGNATURE, the last being base64 of RSA-PSS-SHA256 (MGF1-SHA256, salt
/// = digest length) over timestamp + "GET" + path, with the private key from a PEM file
/// (OpenSSL EVP, `hp_rsa_pss_sign`). Cold: once per connect. The key never leaves the file.
public enum KalshiAuth {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public static func headers(
        keyID: String, keyFile: String, path: String, timestampMs: UInt64
    ) throws(Failure)
        -> [(String, String)]
    {
        let message = Array("\(timestampMs)GET\(path)".utf8)
        var signature = [UInt8](repeating: 0, count: 1024)
        var err = [CChar](repeating: 0, count: 256)
        let n = message.withUnsafeBytes { m in
            hp_rsa_pss_sign(keyFile, m.baseAddress, m.count, &signature, signature.count, &err, err.count)
        }
        guard n > 0 else {
            throw Failure(
                description: "kalshi key_file: "
                    + String(decoding: err.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return [
            ("KALSHI-ACCESS-KEY", keyID), ("KALSHI-ACCESS-TIMESTAMP", "\(timestampMs)"),
            ("KALSHI-ACCESS-SIGNATURE", Base64.encode(Array(signature[0..<n]))),
        ]
    }
}

/// Kalshi's WebSocket market data (trade-api v2), as Kalshi documents it:
///
/// - every message is `{"type":…,"sid":N,"seq":N,"msg":{…}}`; `seq` rises by one per
///   message of a subscription (`sid`);
/// - `orderbook_snapshot`: `msg.market_ticker`, `yes_dollars_fp` and `no_dollars_fp`, bid
///   ladders of `["price","size"]` decimal strings;
/// - `orderbook_delta`: `price_dollars`, a signed `delta_fp`, `side` ("yes"|"no");
/// - `trade`: `yes_price_dollars`, `count_fp`, `taker_side` ("yes" buys YES: a bid).
///
/// The YES book's bids are the yes ladder; its asks are 1 − the no ladder's bids, so a no
/// bid at p is kept as a YES ask at 1 − p. Prices and sizes are 1e-9 fixed point (dollars,
/// contracts), never cents: some markets tick below a cent and contracts can be fractional.
/// Each message becomes `VenueEvent`s. A `seq` gap makes the books stale until their
/// snapshots, is counted, and sets `wantsResync`: the feed then sends `resubscription()`, which
/// unsubscribes every subscription seen and subscribes again for fresh snapshots; messages of
/// the retired subscriptions still in flight are dropped and counted (`retired`). Unknown types and
/// markets, malformed messages and bad numbers are counted skips. Nothing is allocated per
/// message.
public struct KalshiAdapter {
    public struct Counts: Sendable {
        public var messages = 0, snapshots = 0, deltas = 0, trades = 0, gaps = 0, retired = 0
        public var unknownType = 0, unknownMarket = 0, malformed = 0, badNumber = 0
        public var named: [(String, Int)] {
            [
                ("messages", messages), ("snapshots", snapshots), ("deltas", deltas), ("trades", trades),
                ("sequence_gaps", gaps), ("retired_subscription", retired), ("unknown_type", unknownType),
                ("unknown_market", unknownMarket),
                ("malformed", malformed), ("bad_number", badNumber),
            ]
        }
    }

    public let markets: [String]
    let marketBytes: [[UInt8]]
    public private(set) var counts = Counts()
    /// The last `seq` of each subscription id (`sid` < 64; others are not checked).
    var lastSeq = [Int64](repeating: -1, count: 64)
    /// The subscription ids seen on this connection (bit `sid`, for sid < 64), the highest,
    /// and the ids at or below which a resubscription retired them.
    var sidsSeen: UInt64 = 0
    var maxSid: Int64 = 0
    var retiredBelow: Int64 = 0
    var commandID = 1
    /// A gap was seen: the feed is to send `resubscription()`.
    public private(set) var wantsResync = false
    static let one: Int64 = 1_000_000_000

    public init(markets: [String]) {
        self.markets = markets
        marketBytes = markets.map { Array($0.utf8) }
        lastSeq.reserveCapacity(64)
    }

    /// The subscribe command. Cold.
    public func subscription(id: Int = 1, channels: [String] = ["orderbook_delta", "trade"]) -> String {
        let c = channels.map { "\"\($0)\"" }.joined(separator: ",")
        let m = markets.map { "\"\($0)\"" }.joined(separator: ",")
        return "{\"id\":\(id),\"cmd\":\"subscribe\",\"params\":{\"channels\":[\(c)],\"market_tickers\":[\(m)]}}"
    }

    /// A new connection: sequences start again; every book waits for its snapshot.
    public mutating func reconnected(emit: (VenueEvent) -> Void) {
        for i in lastSeq.indices { lastSeq[i] = -1 }
        (sidsSeen, maxSid, retiredBelow, commandID, wantsResync) = (0, 0, 0, 1, false)
        for m in markets.indices { emit(VenueEvent(.stale, market: m)) }
    }

    func market(_ t: JSONScanner.Text) -> Int { t.index(in: marketBytes) }

    /// One message as events: a snapshot gives `clear`, its `level`s and `updated`; a delta
    /// gives `change` and `updated`; a trade gives `trade`. A `seq` gap gives `stale` for
    /// every market and sets `wantsResync`.
    ///
    /// One pass in Kalshi's order (type, sid, seq, then msg): `msg` is read where it stands.
    /// Should it come before the others, it is read after them from its noted offset. A
    /// message's events go out only once its `msg` has been read whole; a fault after it
    /// (text after the object) is counted as malformed, its events already out.
    public mutating func take(
        _ message: UnsafeRawBufferPointer, emit: (VenueEvent) -> Void
    ) {
        counts.messages += 1
        if laidOut(message, emit: emit) { return }
        var kind = Kind.none
        var sid: Int64 = -1, seq: Int64 = -1
        var body = -1
        var done = false
        let malformed = counts.malformed
        var s = JSONScanner(message)
        s.members { s, key in
            if key.equals("type") {
                guard let t = s.text() else { return false }
                kind =
                    t.equals("orderbook_snapshot")
                    ? .snapshot : t.equals("orderbook_delta") ? .delta : t.equals("trade") ? .trade : .other
            } else if key.equals("sid") {
                sid = s.integer() ?? -1
            } else if key.equals("seq") {
                seq = s.integer() ?? -1
            } else if key.equals("msg") {
                if kind != .none && seq >= 0 && sid >= 0 {
                    done = true
                    read(&s, message: message, kind: kind, sid: sid, seq: seq, emit: emit)
                } else {
                    body = s.offset
                }
            }
            return true
        }
        guard s.finish() else {
            if counts.malformed == malformed { counts.malformed += 1 }  // once, if read() has not
            return
        }
        if done { return }
        guard body >= 0 else {
            counts.malformed += 1
            return
        }
        var b = JSONScanner(message, at: body)
        read(&b, message: message, kind: kind, sid: sid, seq: seq, emit: emit)
    }

    enum Kind { case none, snapshot, delta, trade, other }

    /// The `msg` object at `b`'s cursor, for a message of `kind` at (`sid`, `seq`).
    mutating func read(
        _ b: inout JSONScanner, message: UnsafeRawBufferPointer, kind: Kind, sid: Int64, seq: Int64,
        emit: (VenueEvent) -> Void
    ) {
        if retired(sid) { return }
        guard kind != .none else {
            counts.malformed += 1
            return
        }
        if kind == .other {
            counts.unknownType += 1
            return
        }
        sequenced(kind: kind, sid: sid, seq: seq, emit: emit)
        // Fields of msg, read in one pass; ladders noted and read after the ticker.
        var m = -2
        var yes = -1, no = -1
        var price: Int64?, amount: Int64?, side = VenueEvent.Side.none
        b.members { b, key in
            if key.equals("market_ticker") {
                m = b.text().map { market($0) } ?? -2
            } else if key.equals("yes_dollars_fp") {
                yes = b.offset
            } else if key.equals("no_dollars_fp") {
                no = b.offset
            } else if key.equals("price_dollars") || key.equals("yes_price_dollars") {
                price = b.fixedPoint()
            } else if key.equals("delta_fp") || key.equals("count_fp") {
                amount = b.fixedPoint()
            } else if key.equals("side") || key.equals("taker_side") {
                // The YES book: a yes order bids; a no order is an ask at 1 − p.
                side = b.text().map { $0.equals("yes") ? .bid : $0.equals("no") ? .ask : .none } ?? .none
            }
            return true
        }
        guard b.failure == nil else {
            counts.malformed += 1
            return
        }
        guard m >= 0 else {
            if m == -1 { counts.unknownMarket += 1 } else { counts.malformed += 1 }
            return
        }
        switch kind {
        case .snapshot:
            counts.snapshots += 1
            emit(VenueEvent(.clear, market: m, sequence: seq))
            if yes >= 0 { ladder(message, at: yes, market: m, yes: true, sequence: seq, emit: emit) }
            if no >= 0 { ladder(message, at: no, market: m, yes: false, sequence: seq, emit: emit) }
        case .delta, .trade:
            deliver(kind, market: m, price: price, amount: amount, side: side, seq: seq, emit: emit)
            return
        default: return
        }
        emit(VenueEvent(.updated, market: m, sequence: seq))
    }

    /// The gap check: a subscription's seq covers all its markets, so a gap may have hidden
    /// any of them.
    mutating func sequenced(kind: Kind, sid: Int64, seq: Int64, emit: (VenueEvent) -> Void) {
        guard sid >= 0 && sid < 64 && seq >= 0 else { return }
        let i = Int(sid)
        sidsSeen |= 1 << UInt64(i)
        maxSid = max(maxSid, sid)
        if kind != .snapshot && lastSeq[i] >= 0 && seq != lastSeq[i] + 1 {
            counts.gaps += 1
            for m in markets.indices { emit(VenueEvent(.stale, market: m, sequence: seq)) }
            wantsResync = true
        }
        lastSeq[i] = seq
    }

    /// A message of a subscription the last resubscription retired: dropped, counted.
    @inline(__always)
    mutating func retired(_ sid: Int64) -> Bool {
        guard sid > 0 && sid <= retiredBelow else { return false }
        counts.retired += 1
        return true
    }

    /// After a gap: unsubscribe every subscription seen on this connection and subscribe
    /// again, for fresh snapshots under new ids. Cold (a gap is rare).
    public mutating func resubscription(channels: [String] = ["orderbook_delta", "trade"]) -> [String] {
        wantsResync = false
        let sids = (0..<64).filter { sidsSeen & (1 << UInt64($0)) != 0 }.map(String.init).joined(separator: ",")
        retiredBelow = maxSid
        sidsSeen = 0
        for i in lastSeq.indices { lastSeq[i] = -1 }
        commandID += 2
        return [
            "{\"id\":\(commandID - 1),\"cmd\":\"unsubscribe\",\"params\":{\"sids\":[\(sids)]}}",
            subscription(id: commandID, channels: channels),
        ]
    }

    /// A delta's or a trade's checks and events (`m` a known market).
    mutating func deliver(
        _ kind: Kind, market m: Int, price: Int64?, amount: Int64?, side: VenueEvent.Side, seq: Int64,
        emit: (VenueEvent) -> Void
    ) {
        guard let price, let amount, side != .none, price >= 0, price <= Self.one, kind == .delta || amount >= 0
        else {
            counts.badNumber += 1
            return
        }
        if kind == .trade {
            counts.trades += 1
            emit(VenueEvent(.trade, market: m, side: side, price: price, size: amount, sequence: seq))
            return
        }
        counts.deltas += 1
        let p = side == .bid ? price : Self.one - price
        emit(VenueEvent(.change, market: m, side: side, price: p, size: amount, sequence: seq))
        emit(VenueEvent(.updated, market: m, sequence: seq))
    }

    /// A delta or a trade in the documented field order, read by position (see
    /// `PolygonAdapter.laidOut`): false, the scanner untouched, at the first difference.
    mutating func laidOut(_ message: UnsafeRawBufferPointer, emit: (VenueEvent) -> Void) -> Bool {
        var f = JSONScanner(message)
        let kind: Kind
        if f.consume(#"{"type":"orderbook_delta","sid":"#) {
            kind = .delta
        } else if f.consume(#"{"type":"trade","sid":"#) {
            kind = .trade
        } else {
            return false
        }
        guard let sid = f.integer(), f.consume(#","seq":"#), let seq = f.integer(),
            f.consume(#","msg":{"market_ticker":"#), let ticker = f.text()
        else { return false }
        var price: Int64?, amount: Int64?
        var sideText: JSONScanner.Text?
        if kind == .delta {
            guard f.consume(#","market_id":"#) else { return false }
            f.skipUnread()
            guard f.consume(#","price_dollars":"#) else { return false }
            price = f.fixedPoint()
            guard f.consume(#","delta_fp":"#) else { return false }
            amount = f.fixedPoint()
            guard f.consume(#","side":"#) else { return false }
            sideText = f.text()
        } else {
            guard f.consume(#","yes_price_dollars":"#) else { return false }
            price = f.fixedPoint()
            guard f.consume(#","count_fp":"#) else { return false }
            amount = f.fixedPoint()
            guard f.consume(#","taker_side":"#) else { return false }
            sideText = f.text()
        }
        guard let sideText, f.consume(#","ts":"#) else { return false }
        f.skipUnread()
        guard f.consume("}}"), f.finish() else { return false }
        let m = ticker.index(in: marketBytes)
        guard m >= 0 else { return false }  // the general way counts it
        if retired(sid) { return true }
        let side: VenueEvent.Side = sideText.equals("yes") ? .bid : sideText.equals("no") ? .ask : .none
        sequenced(kind: kind, sid: sid, seq: seq, emit: emit)
        deliver(kind, market: m, price: price, amount: amount, side: side, seq: seq, emit: emit)
        return true
    }

    /// A `[["price","size"],…]` bid ladder as YES-book levels (no bids as asks at 1 − p).
    mutating func ladder(
        _ message: UnsafeRawBufferPointer, at offset: Int, market m: Int, yes: Bool, sequence: Int64,
        emit: (VenueEvent) -> Void
    ) {
        var l = JSONScanner(message, at: offset)
        l.elements { l in
            var pair = (Int64(-1), Int64(-1))
            var k = 0
            l.elements { l in
                let v = l.fixedPoint() ?? -1
                if k == 0 { pair.0 = v } else if k == 1 { pair.1 = v }
                k += 1
                return true
            }
            guard k == 2, pair.0 >= 0, pair.0 <= Self.one, pair.1 >= 0 else {
                counts.badNumber += 1
                return l.failure == nil
            }
            emit(
                VenueEvent(
                    .level, market: m, side: yes ? .bid : .ask, price: yes ? pair.0 : Self.one - pair.0, size: pair.1,
                    sequence: sequence))
            return true
        }
        if l.failure != nil { counts.malformed += 1 }
    }
}
