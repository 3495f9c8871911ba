#if canImport(Glibc)
import Glibc
#endif

/// The per-event microstructure feature vector of one instrument: updated on every published
/// book view and every trade, O(1) per update (amortised for the time windows), with all
/// state sized at start-up — `update` allocates nothing.
///
/// Definitions (prices in instrument units; bps = 1e-4 of mid):
/// - mid, spread (ask − bid), spread in bps, L1 imbalance Qb/(Qb+Qa), imbalance over the
///   top `levels`, weighted mid I·Pa + (1−I)·Pb, microprice mid + g(I, S) (g from a table,
///   identity → the weighted mid), bid/ask depth over `levels`;
/// - order-flow imbalance (Cont, Kukanov, Stoikov 2014) per book event
///   e = qb·[Pb ≥ Pb′] − qb′·[Pb ≤ Pb′] − qa·[Pa ≤ Pa′] + qa′·[Pa ≥ Pa′], and its sums over 1 s / 5 s;
/// - trade-flow imbalance (buy − sell)/(buy + sell) and signed volume over 5 s (aggressor side);
/// - VWAP over the session and over 60 s, and the mid's gap to the 60 s VWAP in bps;
/// - log mid returns over 1 s / 5 s / 15 s / 60 s of event time; realised volatility
///   sqrt(Σ r²) of per-event log mid returns over 60 s;
/// - VPIN (Easley, López de Prado, O'Hara 2012) over `vpinBuckets` equal-volume buckets with
///   bulk volume classification V_buy = V·Φ(ΔP/σ);
/// - Kyle's lambda: OLS slope of mid changes on signed trade volume over the last
///   `regressionTrades` trades; Amihud illiquidity: mean |log trade return| / (price · size);
/// - book events per second (1 s window), seconds since the first event, last trade's gap to
///   mid in bps, trades in 5 s, levels per side, and the book's stale flag;
/// - bar indicators (TA-Lib's definitions, the same structs `hotpath indicators` runs) over
///   time bars of `barSeconds` built from the instrument's trades: the last closed bar's close,
///   EMA(12), EMA(26), RSI(14), ATR(14) and Bollinger %B(20, 2) = (close − lower)/(upper −
///   lower). A bar closes when the first trade of a later period arrives (periods without
///   trades make no bar), the indicators update then, and book events carry the values of the
///   last closed bar; NaN during each indicator's lookback and for %B of a flat band.
/// Undefined values (an empty side, no trades yet, a zero denominator) are NaN and counted in
/// `undefined`; NaN and infinite inputs are counted in `badInputs` and skipped. The windows'
/// memory is allocated and pre-faulted at construction.
public struct MicrostructureFeatures: @unchecked Sendable {
    public struct Config: Sendable {
        public var levels = 5
        public var vpinBucketVolume = 200.0
        public var vpinBuckets = 50
        public var regressionTrades = 100
        /// Entries per time window (events in the longest window, 60 s); past it the oldest
        /// entries are evicted early and counted.
        public var historyCapacity = 1 << 14
        /// Microprice adjustment g(I, S): rows by imbalance bucket (n equal buckets), columns
        /// by spread in ticks (1, 2, …; the last column for wider); nil = identity (the
        /// microprice is then the weighted mid). `MicropriceTable.load` reads one from a file.
        public var micropriceTable: [[Double]]? = nil
        public var tick = 0.25
        /// Time-bar length for the bar indicators, seconds.
        public var barSeconds = 1.0
        /// Time windows run on the exchange's event time instead of the receive time (a live
        /// feed's receive time is the kernel's stamp, so only exchange time makes a live run
        /// and a replay of the same session compute the same features).
        public var exchangeTime = false
        /// The configured indicator columns (`[features] bars` and `vector`): `EventPath` keeps
        /// them after this vector's `count` values, on the same clock.
        public var indicators = IndicatorColumns.Config()
        /// The configured per-event columns (`EventColumns`), after the indicator columns.
        public var events = EventColumns.Config()
        public init() {}
    }

    /// One feature of the vector: its slot is its raw value and its name comes from `name`.
    /// A feature is added here, in `name`, and where `book(_:event:into:)` or the bar block
    /// fills it; `count` follows the last case.
    public enum Feature: Int, CaseIterable, Sendable {
        case mid, spread, spreadBps, imbalanceL1, imbalanceL5, weightedMid
        case microprice, bidDepth5, askDepth5, ofi, ofi1s, ofi5s
        case tradeImbalance5s, signedVolume5s, vwapSession, vwap60s, vwapGapBps, return1s
        case return5s, return15s, return60s, realizedVol60s, vpin, kyleLambda
        case amihud, eventRate1s, timeSinceOpenS, lastTradeGapBps, tradeCount5s, levelsBid
        case levelsAsk, stale, barClose, barEma12, barEma26, barRsi14
        case barAtr14, barBbandsPctb20

        public var name: String {
            switch self {
            case .mid: "mid"
            case .spread: "spread"
            case .spreadBps: "spread_bps"
            case .imbalanceL1: "imbalance_l1"
            case .imbalanceL5: "imbalance_l5"
            case .weightedMid: "weighted_mid"
            case .microprice: "microprice"
            case .bidDepth5: "bid_depth_5"
            case .askDepth5: "ask_depth_5"
            case .ofi: "ofi"
            case .ofi1s: "ofi_1s"
            case .ofi5s: "ofi_5s"
            case .tradeImbalance5s: "trade_imbalance_5s"
            case .signedVolume5s: "signed_volume_5s"
            case .vwapSession: "vwap_session"
            case .vwap60s: "vwap_60s"
            case .vwapGapBps: "vwap_gap_bps"
            case .return1s: "return_1s"
            case .return5s: "return_5s"
            case .return15s: "return_15s"
            case .return60s: "return_60s"
            case .realizedVol60s: "realized_vol_60s"
            case .vpin: "vpin"
            case .kyleLambda: "kyle_lambda"
            case .amihud: "amihud"
            case .eventRate1s: "event_rate_1s"
            case .timeSinceOpenS: "time_since_open_s"
            case .lastTradeGapBps: "last_trade_gap_bps"
            case .tradeCount5s: "trade_count_5s"
            case .levelsBid: "levels_bid"
            case .levelsAsk: "levels_ask"
            case .stale: "stale"
            case .barClose: "bar_close"
            case .barEma12: "bar_ema_12"
            case .barEma26: "bar_ema_26"
            case .barRsi14: "bar_rsi_14"
            case .barAtr14: "bar_atr_14"
            case .barBbandsPctb20: "bar_bbands_pctb_20"
            }
        }

        /// The bar indicators, in slot order from `barClose`: close, EMA 12, EMA 26, RSI 14,
        /// ATR 14, %B 20.
        static let bars = 6
    }

    /// The vector's length: one past the last case (a constant, where `allCases.count` would
    /// build an array).
    public static var count: Int { Feature.barBbandsPctb20.rawValue + 1 }
    public static let names = Feature.allCases.map(\.name)

    public let config: Config
    /// Whether `config.micropriceTable` is set, decided once (the table is an array).
    let hasMicropriceTable: Bool
    public private(set) var undefined = 0
    public private(set) var badInputs = 0
    /// Book views and trades seen.
    public private(set) var updates = 0

    // Book state
    var prevBid = Double.nan, prevAsk = Double.nan, prevBidSize = 0.0, prevAskSize = 0.0
    var prevMid = Double.nan
    /// Book-event windows: 1 s (OFI, event count), 5 s (OFI), 60 s (squared returns).
    var book1s: TimeWindowSums, ofi5s: TimeWindowSum, rv60s: TimeWindowSum
    var logMids: SeriesRing
    var prevLogMid = Double.nan
    var lag1s = LaggedCursor(lag: 1_000_000_000), lag5s = LaggedCursor(lag: 5_000_000_000)
    var lag15s = LaggedCursor(lag: 15_000_000_000), lag60s = LaggedCursor(lag: 60_000_000_000)
    var firstTs: UInt64 = 0
    // Trade state
    /// Trade windows: 5 s (buy volume, sell volume, count), 60 s (price × volume, volume).
    var trades5s: TimeWindowSums, trades60s: TimeWindowSums
    var sessionPV = 0.0, sessionV = 0.0
    var lastTradePrice = Double.nan
    // VPIN
    var bucketVolume = 0.0, bucketStartPrice = Double.nan
    var dpCount = 0.0, dpMean = 0.0, dpM2 = 0.0
    var imbalances: RollingWindow
    var imbalanceSum = 0.0
    // Kyle's lambda and Amihud over the last N trades
    var kyleX: RollingWindow, kyleY: RollingWindow
    var sx = 0.0, sy = 0.0, sxx = 0.0, sxy = 0.0
    var midAtLastTrade = Double.nan
    var amihudTerms: RollingWindow
    var amihudSum = 0.0
    /// vwap_session, vpin, kyle_lambda, amihud: they change only on trades, so `trade`
    /// computes them (four divisions) and every book event copies them.
    var tradeDerived = SIMD4<Double>(repeating: .nan)
    // Bar indicators: the builder, the indicators, and the last closed bar's values.
    var bars: BarBuilder
    var barEMA12 = EMA(period: 12), barEMA26 = EMA(period: 26), barRSI = RSI(period: 14), barATR = ATR(period: 14)
    var barBands = BBANDS(period: 20)
    var barValues = SIMD8<Double>(repeating: .nan)

    public init(config: Config = Config()) {
        // The heap cannot run out the way an arena can.
        self = try! MicrostructureFeatures(config: config, memory: .heap)
    }

    /// Windows from `memory`: the engine passes its arena (see `arenaBytes`).
    public init(config: Config, memory: WindowMemory) throws(ArenaError) {
        self.config = config
        hasMicropriceTable = config.micropriceTable != nil
        let cap = config.historyCapacity
        book1s = try TimeWindowSums(span: 1_000_000_000, capacity: cap, memory: memory)
        ofi5s = try TimeWindowSum(span: 5_000_000_000, capacity: cap, memory: memory)
        rv60s = try TimeWindowSum(span: 60_000_000_000, capacity: cap, memory: memory)
        logMids = try SeriesRing(capacity: cap, memory: memory)
        trades5s = try TimeWindowSums(span: 5_000_000_000, capacity: cap, memory: memory)
        trades60s = try TimeWindowSums(span: 60_000_000_000, capacity: cap, memory: memory)
        imbalances = try RollingWindow(capacity: config.vpinBuckets, memory: memory)
        kyleX = try RollingWindow(capacity: config.regressionTrades, memory: memory)
        kyleY = try RollingWindow(capacity: config.regressionTrades, memory: memory)
        amihudTerms = try RollingWindow(capacity: config.regressionTrades, memory: memory)
        bars = BarBuilder(mode: .time(seconds: config.barSeconds))
    }

    /// Arena bytes one instrument's windows take, measured by building them (the bar
    /// indicators' few-element windows stay on the heap).
    public static func arenaBytes(_ config: Config) -> Int {
        WindowMemory.arenaBytes { memory throws(ArenaError) in
            try MicrostructureFeatures(config: config, memory: memory)
        }
    }

    /// Frees the windows' memory (a struct of raw pointers has no deinit): once, when this
    /// state (and every copy of it) is no longer used.
    public func release() {
        book1s.release(); ofi5s.release(); rv60s.release(); logMids.release()
        trades5s.release(); trades60s.release()
        imbalances.release(); kyleX.release(); kyleY.release(); amihudTerms.release()
    }

    /// The event's time: receive time where known, else exchange time.
    @inline(__always)
    static func time(_ e: Event) -> UInt64 { e.tsRecv != 0 && e.tsRecv != UInt64.max ? e.tsRecv : e.tsEvent }

    /// The time this state's windows run on (`Config.exchangeTime`).
    @inline(__always)
    func clockTime(_ e: Event) -> UInt64 { config.exchangeTime ? e.tsEvent : Self.time(e) }

    /// A trade (aggressor side B = buy, A = sell) updates the trade-flow state.
    public mutating func trade(_ e: Event) {
        updates &+= 1
        let t = clockTime(e)
        if firstTs == 0 { firstTs = t }
        let price = Double(e.price) / 1e9, size = Double(e.size)
        guard e.price != Event.undefinedPrice, price.isFinite, size > 0 else { badInputs += 1; return }
        let signed = e.side == Event.Side.bid ? size : e.side == Event.Side.ask ? -size : 0
        trades5s.add(SIMD4(signed > 0 ? size : 0, signed < 0 ? size : 0, 1, 0), at: t)
        trades60s.add(SIMD4(price * size, size, 0, 0), at: t)
        sessionPV += price * size
        sessionV += size
        // Amihud: |log return between trades| / dollar volume.
        if !lastTradePrice.isNaN && lastTradePrice > 0 {
            let term = abs(log(price / lastTradePrice)) / (price * size)
            if amihudTerms.isFull { amihudSum -= amihudTerms.ago(amihudTerms.capacity - 1) }
            amihudTerms.push(term)
            amihudSum += term
        }
        // Kyle's lambda: mid change since the previous trade against this trade's signed volume.
        if !prevMid.isNaN {
            if !midAtLastTrade.isNaN {
                let y = prevMid - midAtLastTrade, x = signed
                if kyleX.isFull {
                    let ox = kyleX.ago(kyleX.capacity - 1), oy = kyleY.ago(kyleY.capacity - 1)
                    sx -= ox; sy -= oy; sxx -= ox * ox; sxy -= ox * oy
                }
                kyleX.push(x); kyleY.push(y)
                sx += x; sy += y; sxx += x * x; sxy += x * y
            }
            midAtLastTrade = prevMid
        }
        lastTradePrice = price
        vpinAdd(price: price, volume: size)
        var builder = bars, closed: Bar? = nil
        builder.trade(price: price, size: size, at: t) { closed = $0 }
        bars = builder
        if let closed { closeBar(closed) }
        let n = Double(kyleX.count), den = n * sxx - sx * sx
        tradeDerived = SIMD4(
            sessionV > 0 ? sessionPV / sessionV : .nan,
            imbalances.count > 0 ? imbalanceSum / (Double(imbalances.count) * config.vpinBucketVolume) : .nan,
            kyleX.count > 1 && den != 0 ? (n * sxy - sx * sy) / den : .nan,
            amihudTerms.count > 0 ? amihudSum / Double(amihudTerms.count) : .nan)
    }

    /// A time bar closed: the bar indicators advance once.
    mutating func closeBar(_ bar: Bar) {
        let bands = barBands.update(bar.close)
        let width = bands.upper - bands.lower
        barValues = SIMD8(
            bar.close, barEMA12.update(bar.close), barEMA26.update(bar.close), barRSI.update(bar.close),
            barATR.update(bar), width > 0 ? (bar.close - bands.lower) / width : .nan, 0, 0)
    }

    /// Bulk volume classification into equal-volume buckets; a trade spanning a boundary is split.
    /// Every bucket a trade fills whole after its first boundary starts and ends at the trade's
    /// price: its price change is 0, so it is balanced (imbalance 0). Those are added at once
    /// (the running variance takes k zeros in one step, the window at most its capacity), so a
    /// trade costs O(window) however large its size: a bad or huge size cannot stall the thread.
    mutating func vpinAdd(price: Double, volume: Double) {
        if bucketStartPrice.isNaN { bucketStartPrice = price }
        let size = config.vpinBucketVolume
        let take = min(volume, size - bucketVolume)
        guard take > 0 else { return }
        bucketVolume += take
        guard bucketVolume >= size else { return }
        closeBucket(dp: price - bucketStartPrice)
        bucketStartPrice = price
        var left = volume - take
        let whole = (left / size).rounded(.down)
        if whole >= 1 {
            addBalancedBuckets(whole)
            left -= whole * size
        }
        // Rounding can leave a whole bucket's volume or more: it closes as the others did.
        while left >= size {
            addBalancedBuckets(1)
            left -= size
        }
        bucketVolume = left
    }

    /// One bucket closed with price change `dp`: the running mean and variance of changes
    /// (Welford), then its imbalance into the window.
    mutating func closeBucket(dp: Double) {
        let size = config.vpinBucketVolume
        dpCount += 1
        let d = dp - dpMean
        dpMean += d / dpCount
        dpM2 += d * (dp - dpMean)
        let sigma = dpCount > 1 ? (dpM2 / (dpCount - 1)).squareRoot() : 0
        let z = sigma > 0 ? dp / sigma : 0
        let buy = size * 0.5 * erfc(-z / 2.0.squareRoot())
        pushImbalance(abs(size - 2 * buy))
    }

    /// `k` buckets with no price change: k zeros into the running mean and variance at once
    /// (the pairwise update of Chan et al.), and imbalance 0 into the window, as many times as
    /// the window holds at most.
    mutating func addBalancedBuckets(_ k: Double) {
        let n = dpCount, total = dpCount + k
        dpM2 += dpMean * dpMean * n * k / total
        dpMean *= n / total
        dpCount = total
        for _ in 0..<Int(min(k, Double(imbalances.capacity))) { pushImbalance(0) }
    }

    mutating func pushImbalance(_ imbalance: Double) {
        if imbalances.isFull { imbalanceSum -= imbalances.ago(imbalances.capacity - 1) }
        imbalances.push(imbalance)
        imbalanceSum += imbalance
    }

    /// A published book view: computes the vector into `out` (`count` values).
    public mutating func book(_ view: BookView, event e: Event, into out: UnsafeMutablePointer<Double>) {
        updates &+= 1
        let t = clockTime(e)
        if firstTs == 0 { firstTs = t }
        let h = view.header.pointee
        func put(_ feature: Feature, _ v: Double) { out[feature.rawValue] = v }
        let nb = Int(h.bidLevels), na = Int(h.askLevels)
        let bid = nb > 0 ? Double(view.bid(0).price) / 1e9 : .nan
        let ask = na > 0 ? Double(view.ask(0).price) / 1e9 : .nan
        let qb = nb > 0 ? Double(view.bid(0).size) : 0, qa = na > 0 ? Double(view.ask(0).size) : 0
        let mid = (bid + ask) / 2
        let spread = ask - bid
        put(.mid, mid)
        put(.spread, spread)
        put(.spreadBps, mid > 0 ? spread / mid * 1e4 : .nan)
        let i1 = qb + qa > 0 ? qb / (qb + qa) : .nan
        put(.imbalanceL1, i1)
        var sb: UInt64 = 0, sa: UInt64 = 0  // integer sums, converted once
        for r in 0..<min(config.levels, nb) { sb &+= UInt64(view.bid(r).size) }
        for r in 0..<min(config.levels, na) { sa &+= UInt64(view.ask(r).size) }
        let db = Double(sb), da = Double(sa)
        put(.imbalanceL5, db + da > 0 ? db / (db + da) : .nan)
        let wmid = i1 * ask + (1 - i1) * bid
        put(.weightedMid, wmid)
        put(.microprice, hasMicropriceTable ? Self.microprice(config, mid: mid, imbalance: i1, spread: spread) : wmid)
        put(.bidDepth5, db)
        put(.askDepth5, da)
        // Order-flow imbalance against the previous book event.
        var ofi = 0.0
        if !prevBid.isNaN && !bid.isNaN { ofi += (bid >= prevBid ? qb : 0) - (bid <= prevBid ? prevBidSize : 0) }
        if !prevAsk.isNaN && !ask.isNaN { ofi += (ask >= prevAsk ? prevAskSize : 0) - (ask <= prevAsk ? qa : 0) }
        put(.ofi, ofi)
        book1s.add(SIMD4(ofi, 1, 0, 0), at: t)
        // Zero terms change no sum (x + 0 and x − 0 are exact), so windows store only the
        // events that move them and merely evict on the rest: most book events change
        // neither the top of book nor the mid.
        if ofi != 0 { ofi5s.add(ofi, at: t) } else { ofi5s.evict(before: t) }
        put(.ofi1s, book1s.sums[0])
        put(.ofi5s, ofi5s.sum)
        trades5s.evict(before: t)
        trades60s.evict(before: t)
        let bv = trades5s.sums[0], sv = trades5s.sums[1]
        put(.tradeImbalance5s, bv + sv > 0 ? (bv - sv) / (bv + sv) : .nan)
        put(.signedVolume5s, bv - sv)
        put(.vwapSession, tradeDerived[0])
        let vwap60 = trades60s.sums[1] > 0 ? trades60s.sums[0] / trades60s.sums[1] : .nan
        put(.vwap60s, vwap60)
        put(.vwapGapBps, mid > 0 ? (mid - vwap60) / mid * 1e4 : .nan)
        // Log returns as differences of log mids: one log per event, not one per horizon.
        let logMid = mid == prevMid && mid > 0 ? prevLogMid : mid.isFinite && mid > 0 ? log(mid) : Double.nan
        // The log-mid series is piecewise constant: storing its changes only gives every
        // lagged reader the same value ("the latest at or before now − lag").
        if logMid.isFinite && logMid != prevLogMid { logMids.add(logMid, at: t) }
        put(.return1s, difference(logMid, lag1s.value(in: logMids, now: t)))
        put(.return5s, difference(logMid, lag5s.value(in: logMids, now: t)))
        put(.return15s, difference(logMid, lag15s.value(in: logMids, now: t)))
        put(.return60s, difference(logMid, lag60s.value(in: logMids, now: t)))
        let r = difference(logMid, prevLogMid)
        let r2 = r.isFinite ? r * r : 0
        if r2 != 0 { rv60s.add(r2, at: t) } else { rv60s.evict(before: t) }
        if logMid.isFinite { prevLogMid = logMid }
        put(.realizedVol60s, max(rv60s.sum, 0).squareRoot())
        put(.vpin, tradeDerived[1])
        put(.kyleLambda, tradeDerived[2])
        put(.amihud, tradeDerived[3])
        put(.eventRate1s, book1s.sums[1])
        put(.timeSinceOpenS, (t >= firstTs ? Double(t - firstTs) : -Double(firstTs - t)) / 1e9)  // time can go back
        put(.lastTradeGapBps, mid > 0 ? (lastTradePrice - mid) / mid * 1e4 : .nan)
        put(.tradeCount5s, trades5s.sums[2])
        put(.levelsBid, Double(nb))
        put(.levelsAsk, Double(na))
        put(.stale, h.stale == 0 ? 0 : 1)
        for i in 0..<Feature.bars { out[Feature.barClose.rawValue + i] = barValues[i] }
        // Undefined values, four at a time: v − v is 0 exactly when v is finite.
        var finite = SIMD4<Int64>()
        let whole = Self.count & ~3
        for i in stride(from: 0, to: whole, by: 4) {
            let v = UnsafeRawPointer(out + i).loadUnaligned(as: SIMD4<Double>.self)
            finite &+= SIMD4<Int64>().replacing(with: 1, where: (v - v) .== SIMD4<Double>())
        }
        var tail = 0
        for i in whole..<Self.count where out[i] - out[i] == 0 { tail &+= 1 }
        undefined &+= Self.count - Int(finite.wrappedSum()) - tail
        prevBid = bid; prevAsk = ask; prevBidSize = qb; prevAskSize = qa
        if mid.isFinite { prevMid = mid }
    }

    @inline(__always)
    func difference(_ now: Double, _ then: Double?) -> Double {
        guard let then else { return .nan }
        return now - then
    }

    /// mid + g(I, S) from the configured table (not inlined: rarely configured). A static
    /// function of the configuration: as a method it made every call copy the whole feature
    /// state (BENCHMARKS.md, "Design measurements").
    @inline(never)
    static func microprice(_ config: Config, mid: Double, imbalance: Double, spread: Double) -> Double {
        guard let table = config.micropriceTable else { return mid }
        guard imbalance.isFinite, spread.isFinite else { return .nan }
        let buckets = table.count
        let row = min(buckets - 1, max(0, Int(imbalance * Double(buckets))))
        let col = min(table[row].count - 1, max(0, Int((spread / config.tick).rounded()) - 1))
        return mid + table[row][col]
    }
}
