import Foundation
import MallocCounter
import XCTest

@testable import HotPath

/// The feature vector over the real ESH4 book against plain reference implementations that
/// recompute each feature from the full history by brute force.
final class MicrostructureTests: XCTestCase {
    struct Step {
        var t: UInt64; var trade: Bool; var price: Double; var size: Double; var side: UInt8
        var bids: [(Double, Double)]; var asks: [(Double, Double)]; var row: [Double]
    }

    func replay() throws -> [Step] {
        let data = try TestPaths.requireSharedData()
        let dbn = try DBNFile(path: data + "/dbn/esh4-glbx-mdp3-20231225.mbo.dbn.zst")
        let arena = try Arena(bytes: 64 << 20, lock: false)
        defer { withExtendedLifetime(arena) {} }
        var config = L3Book.Config()
        config.maxInstruments = 4
        config.depth = 10
        let book = try L3Book(config: config, arena: arena)
        var f = MicrostructureFeatures()
        var steps: [Step] = []
        var decoder = DBNDecoder(metadata: dbn.metadata)
        var cursor = dbn.cursor()
        var e = Event()
        var row = [Double](repeating: 0, count: MicrostructureFeatures.count)
        while cursor.next() == .record {
            guard decoder.decode(cursor.record, length: cursor.length, into: &e) else { continue }
            let t = MicrostructureFeatures.time(e)
            if e.action == Event.Action.trade {
                f.trade(e)
                steps.append(
                    Step(
                        t: t, trade: true, price: Double(e.price) / 1e9, size: Double(e.size), side: e.side, bids: [],
                        asks: [], row: []))
                continue
            }
            let b = book.apply(e)
            guard b >= 0 else { continue }
            let v = book.view(book: b)
            row.withUnsafeMutableBufferPointer { f.book(v, event: e, into: $0.baseAddress!) }
            let h = v.info
            steps.append(
                Step(
                    t: t, trade: false, price: 0, size: 0, side: 0,
                    bids: (0..<Int(h.bidLevels)).map { (Double(v.bid($0).price) / 1e9, Double(v.bid($0).size)) },
                    asks: (0..<Int(h.askLevels)).map { (Double(v.ask($0).price) / 1e9, Double(v.ask($0).size)) },
                    row: row))
        }
        return steps
    }

    func close(_ a: Double, _ b: Double, _ what: String, _ i: Int) {
        if a.isNaN && b.isNaN { return }
        XCTAssertEqual(a, b, accuracy: 1e-9 * max(1, abs(b)), "\(what) at step \(i)")
    }

    func testBookShapeAndFlowFeaturesMatchBruteForce() throws {
        let steps = try replay()
        let names = MicrostructureFeatures.names
        func col(_ n: String) -> Int { names.firstIndex(of: n)! }
        var checked = 0
        var prev: Step? = nil
        var pv = 0.0, v = 0.0
        for (i, s) in steps.enumerated() {
            if s.trade { pv += s.price * s.size; v += s.size; continue }
            defer { prev = s }
            let bid = s.bids.first?.0 ?? .nan, ask = s.asks.first?.0 ?? .nan
            let qb = s.bids.first?.1 ?? 0, qa = s.asks.first?.1 ?? 0
            let mid = (bid + ask) / 2
            close(s.row[col("mid")], mid, "mid", i)
            close(s.row[col("spread")], ask - bid, "spread", i)
            close(s.row[col("imbalance_l1")], qb + qa > 0 ? qb / (qb + qa) : .nan, "imbalance_l1", i)
            let db = s.bids.prefix(5).reduce(0) { $0 + $1.1 }, da = s.asks.prefix(5).reduce(0) { $0 + $1.1 }
            close(s.row[col("imbalance_l5")], db + da > 0 ? db / (db + da) : .nan, "imbalance_l5", i)
            close(s.row[col("bid_depth_5")], db, "bid_depth_5", i)
            let im = qb / (qb + qa)
            close(s.row[col("weighted_mid")], im * ask + (1 - im) * bid, "weighted_mid", i)
            // OFI against the previous book event, by its definition.
            if let p = prev, let pb = p.bids.first, let pa = p.asks.first, !bid.isNaN, !ask.isNaN {
                var e = 0.0
                if bid >= pb.0 { e += qb }
                if bid <= pb.0 { e -= pb.1 }
                if ask <= pa.0 { e -= qa }
                if ask >= pa.0 { e += pa.1 }
                close(s.row[col("ofi")], e, "ofi", i)
            }
            close(s.row[col("vwap_session")], v > 0 ? pv / v : .nan, "vwap_session", i)
            // Windowed quantities by scanning back over the history (every 50th step: O(n²)).
            if i % 50 == 0 {
                var events = 0.0, trades = 0.0, signed = 0.0
                var midThen: Double? = nil
                for j in stride(from: i, through: 0, by: -1) {
                    let o = steps[j]
                    if o.t + 1_000_000_000 >= s.t && !o.trade { events += 1 }
                    if o.t + 5_000_000_000 >= s.t && o.trade {
                        trades += 1
                        signed += o.side == Event.Side.bid ? o.size : o.side == Event.Side.ask ? -o.size : 0
                    }
                    if midThen == nil && !o.trade && o.t <= s.t - 1_000_000_000, let b = o.bids.first,
                        let a = o.asks.first
                    {
                        midThen = (b.0 + a.0) / 2
                    }
                    if o.t + 5_000_000_000 < s.t && midThen != nil { break }
                }
                close(s.row[col("event_rate_1s")], events, "event_rate_1s", i)
                close(s.row[col("trade_count_5s")], trades, "trade_count_5s", i)
                close(s.row[col("signed_volume_5s")], signed, "signed_volume_5s", i)
                if let m = midThen { close(s.row[col("return_1s")], log(mid / m), "return_1s", i) }
            }
            checked += 1
        }
        XCTAssertEqual(checked, 47_022)
    }

    /// `arenaBytes` measures what a state's windows take by building them against a measuring
    /// memory: an arena of exactly that size holds them, and nothing is left over.
    /// VPIN adds the balanced buckets a large trade fills at once: the values equal a bucket-
    /// by-bucket computation (written here, as the loop was) to 1e-12, and a trade of
    /// UInt32.max lots, which the loop took 21 million steps over (the fuzzer found it), is
    /// one step.
    func testVPINTakesALargeTradeInOneStep() throws {
        var f = MicrostructureFeatures()
        defer { f.release() }
        let size = f.config.vpinBucketVolume, capacity = f.config.vpinBuckets
        var (bucket, start, count, mean, m2) = (0.0, Double.nan, 0.0, 0.0, 0.0)
        var window: [Double] = []
        func reference(_ price: Double, _ volume: Double) -> Double {
            if start.isNaN { start = price }
            var left = volume
            while left > 0 {
                let take = min(left, size - bucket)
                (bucket, left) = (bucket + take, left - take)
                if bucket >= size {
                    let dp = price - start
                    count += 1
                    let d = dp - mean
                    mean += d / count
                    m2 += d * (dp - mean)
                    let sigma = count > 1 ? (m2 / (count - 1)).squareRoot() : 0
                    let z = sigma > 0 ? dp / sigma : 0
                    window.append(abs(size - 2 * size * 0.5 * erfc(-z / 2.0.squareRoot())))
                    if window.count > capacity { window.removeFirst() }
                    (bucket, start) = (0, price)
                }
            }
            return window.isEmpty ? .nan : window.reduce(0, +) / (Double(window.count) * size)
        }
        var e = Event()
        (e.kind, e.action, e.side) = (.trade, Event.Action.trade, Event.Side.bid)
        let trades: [(Double, UInt32)] = [
            (100, 150), (100.5, 90), (99.75, 5000), (101, 37), (100.25, 100_000), (100, 260), (102, 199), (98, 2_000),
        ]
        for (k, (price, volume)) in trades.enumerated() {
            (e.price, e.size, e.tsEvent) = (Int64(price * 1e9), volume, UInt64(k + 1) * 1_000_000)
            f.trade(e)
            let expected = reference(price, Double(volume)), got = f.tradeDerived[1]
            if expected.isNaN {
                XCTAssertTrue(got.isNaN, "trade \(k)")
            } else {
                XCTAssertEqual(got, expected, accuracy: 1e-12 * max(1, abs(expected)), "trade \(k)")
            }
        }
        (e.price, e.size, e.tsEvent) = (Int64(103e9), .max, 10_000_000)
        f.trade(e)
        XCTAssertTrue((0...1).contains(f.tradeDerived[1]), "\(f.tradeDerived[1])")
    }

    func testArenaBytesAreWhatTheWindowsTake() throws {
        for (history, buckets, trades) in [(1 << 14, 50, 100), (1000, 7, 3), (1, 1, 1)] {
            var config = MicrostructureFeatures.Config()
            (config.historyCapacity, config.vpinBuckets, config.regressionTrades) = (history, buckets, trades)
            let bytes = MicrostructureFeatures.arenaBytes(config)
            XCTAssertGreaterThan(bytes, 0)
            let arena = try Arena(bytes: bytes, lock: false)
            try withExtendedLifetime(arena) {
                _ = try MicrostructureFeatures(config: config, memory: .arena(arena))
                XCTAssertLessThanOrEqual(arena.used, bytes)
                XCTAssertGreaterThanOrEqual(
                    arena.used, bytes - 64 * 16,
                    "the measure is tight (64 bytes of alignment at most for each of 16 arrays)")
            }
        }
    }

    func testFeatureUpdatesDoNotAllocate() throws {
        try requireOptimizedBuild()
        let steps = try replay()
        let arena = try Arena(bytes: 1 << 20, lock: false)
        defer { withExtendedLifetime(arena) {} }
        let view = try BookView(depth: 10, arena: arena)
        var f = MicrostructureFeatures()
        var e = Event()
        e.flags = 0x80
        let out = UnsafeMutablePointer<Double>.allocate(capacity: MicrostructureFeatures.count)
        defer { out.deallocate() }
        func run(_ n: Int) -> UInt64 {
            let before = hp_thread_malloc_count()
            for k in 0..<n {
                e.tsRecv = UInt64(k) * 1_000_000
                if k % 7 == 0 {
                    e.action = Event.Action.trade; e.price = 4_800_000_000_000; e.size = 1; e.side = Event.Side.bid
                    f.trade(e)
                } else {
                    f.book(view, event: e, into: out)
                }
            }
            return hp_thread_malloc_count() - before
        }
        XCTAssertGreaterThan(steps.count, 0)
        XCTAssertEqual(run(1_000), run(200_000))
    }

    func testEmptyBookSidesAreUndefinedAndCounted() throws {
        let arena = try Arena(bytes: 1 << 20, lock: false)
        defer { withExtendedLifetime(arena) {} }
        let view = try BookView(depth: 10, arena: arena)
        var f = MicrostructureFeatures()
        var row = [Double](repeating: 0, count: MicrostructureFeatures.count)
        row.withUnsafeMutableBufferPointer { f.book(view, event: Event(), into: $0.baseAddress!) }
        XCTAssertTrue(row[0].isNaN, "mid of an empty book is undefined")
        XCTAssertGreaterThan(f.undefined, 0)
        var bad = Event()
        bad.action = Event.Action.trade
        bad.size = 0
        f.trade(bad)
        XCTAssertEqual(f.badInputs, 1)
    }

    /// A locked book (bid = ask) and a crossed one give finite, documented values: spread 0 or
    /// negative, the imbalances as usual, and `stale` = 1 when the book marked itself crossed.
    /// A trade without a price is skipped and counted.
    func testLockedAndCrossedBooksAndUnpricedTradesAreDefined() throws {
        let arena = try Arena(bytes: 32 << 20, lock: false)
        defer { withExtendedLifetime(arena) {} }
        var config = L3Book.Config()
        config.maxInstruments = 2
        config.maxOrders = 1 << 10
        let book = try L3Book(config: config, arena: arena)
        func add(_ id: UInt64, _ side: UInt8, _ price: Int64, _ size: UInt32, at t: UInt64) -> Event {
            var e = Event()
            e.kind = .order; e.action = Event.Action.add; e.side = side; e.orderId = id
            e.price = price; e.size = size; e.instrumentId = 7; e.tsRecv = t; e.flags = 0x80
            return e
        }
        var f = MicrostructureFeatures()
        var row = [Double](repeating: .nan, count: MicrostructureFeatures.count)
        func publish(_ e: Event) -> BookView.Header {
            let b = book.apply(e)
            XCTAssertGreaterThanOrEqual(b, 0)
            row.withUnsafeMutableBufferPointer { f.book(book.view(book: b), event: e, into: $0.baseAddress!) }
            return book.view(book: b).info
        }
        let names = MicrostructureFeatures.names
        func value(_ name: String) -> Double { row[names.firstIndex(of: name)!] }
        _ = publish(add(1, Event.Side.bid, 100_000_000_000, 5, at: 1_000))
        let locked = publish(add(2, Event.Side.ask, 100_000_000_000, 3, at: 2_000))
        XCTAssertEqual(value("spread"), 0)
        XCTAssertEqual(value("spread_bps"), 0)
        XCTAssertEqual(value("imbalance_l1"), 5.0 / 8.0)
        XCTAssertEqual(value("mid"), 100)
        XCTAssertEqual(value("stale"), locked.stale == 0 ? 0 : 1)
        let crossed = publish(add(3, Event.Side.bid, 101_000_000_000, 2, at: 3_000))
        XCTAssertNotEqual(crossed.stale, 0, "the book marks a crossed publish stale")
        XCTAssertEqual(value("stale"), 1)
        XCTAssertEqual(value("spread"), -1)
        XCTAssertTrue(value("spread_bps").isFinite)
        XCTAssertTrue(value("imbalance_l5").isFinite)
        var unpriced = Event()
        unpriced.action = Event.Action.trade
        unpriced.size = 10
        unpriced.instrumentId = 7
        f.trade(unpriced)  // price is Event.undefinedPrice
        XCTAssertEqual(f.badInputs, 1)
    }

    /// The bar features are the TA-Lib indicator structs run over the instrument's time bars,
    /// as of the last closed bar: recomputed here from the trades with a BarBuilder of its own.
    func testBarFeaturesFollowTheIndicatorsOverTimeBars() throws {
        var g = ITCHGenerator.demoSession
        g.seed = 3
        let path = temporaryFile(g.generate(messages: 60_000), suffix: ".itch")
        defer { unlink(path) }
        let names = MicrostructureFeatures.names
        XCTAssertEqual(names.count, 38, "MicrostructureFeatures.book counts undefined values over 38 slots")
        let first = names.firstIndex(of: "bar_close")!
        typealias Reference = (
            bars: BarBuilder, ema12: EMA, ema26: EMA, rsi: RSI, atr: ATR, bands: BBANDS, values: [Double]
        )
        var expected = [Int: Reference]()
        let arena = try Arena(bytes: 64 << 20, lock: false)
        defer { withExtendedLifetime(arena) {} }
        var config = L3Book.Config()
        config.maxInstruments = 8
        config.maxOrders = 1 << 16
        let book = try L3Book(config: config, arena: arena)
        var features = [Int: MicrostructureFeatures]()
        var row = [Double](repeating: 0, count: names.count)
        var compared = 0, defined = 0
        try FeedFile.open(path).forEachEvent { e in
            if e.action == Event.Action.trade {
                guard let b = book.instruments.lookup(e.instrumentId) else { return }
                features[b, default: MicrostructureFeatures()].trade(e)
                var r =
                    expected[b] ?? (
                        BarBuilder(mode: .time(seconds: 1)), EMA(period: 12), EMA(period: 26), RSI(period: 14),
                        ATR(period: 14), BBANDS(period: 20), [Double](repeating: .nan, count: 6)
                    )
                r.bars.trade(
                    price: Double(e.price) / 1e9, size: Double(e.size), at: e.tsRecv != 0 ? e.tsRecv : e.tsEvent
                ) { bar in
                    let bands = r.bands.update(bar.close)
                    let width = bands.upper - bands.lower
                    r.values = [
                        bar.close, r.ema12.update(bar.close), r.ema26.update(bar.close), r.rsi.update(bar.close),
                        r.atr.update(bar), width > 0 ? (bar.close - bands.lower) / width : .nan,
                    ]
                }
                expected[b] = r
                return
            }
            guard e.kind == .order else { return }
            let b = book.apply(e)
            guard b >= 0 else { return }
            row.withUnsafeMutableBufferPointer {
                features[b, default: MicrostructureFeatures()].book(book.view(book: b), event: e, into: $0.baseAddress!)
            }
            let want = expected[b]?.values ?? [Double](repeating: .nan, count: 6)
            for k in 0..<6 {
                let a = row[first + k], w = want[k]
                XCTAssertTrue(a == w || (a.isNaN && w.isNaN), "\(names[first + k]) at update \(compared): \(a) vs \(w)")
            }
            if !want[3].isNaN { defined += 1 }
            compared += 1
        }
        XCTAssertGreaterThan(compared, 10_000)
        XCTAssertGreaterThan(defined, 1_000, "RSI(14) should be defined after 15 bars")
    }

    /// The training labels against a plain search written here: for each row, the first later
    /// row of its instrument at least the horizon on (ties in time, quiet instruments, a zero
    /// mid and rows past the end included).
    func testForwardLabelsMatchABruteForceSearch() {
        var times: [UInt64] = [], instruments: [UInt32] = [], mids: [Double] = []
        var t: UInt64 = 1_000, state: UInt64 = 0x2545F4914F6CDD1D
        for _ in 0..<3_000 {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            t += state % 4 == 0 ? 0 : state % 700  // some rows share a time
            times.append(t)
            // A fourth instrument, less often.
            instruments.append((state >> 40) % 7 == 0 ? 9 : UInt32((state >> 20) % 3))
            mids.append(state % 97 == 0 ? 0 : 100 + Double(state >> 50) / 1e3)
        }
        let horizon: UInt64 = 2_000
        let labels = FeatureReplay.forwardLabels(times: times, instruments: instruments, mids: mids, horizon: horizon)
        var defined = 0
        for i in times.indices {
            var want = Double.nan
            if let j = (i..<times.count).first(where: {
                instruments[$0] == instruments[i] && times[$0] >= times[i] + horizon
            }),
                mids[i] > 0, mids[j] > 0
            {
                want = log(mids[j] / mids[i])
            }
            XCTAssertEqual(labels[i].bitPattern, want.bitPattern, "row \(i)")
            if want.isFinite { defined += 1 }
        }
        XCTAssertGreaterThan(defined, 2_000)
        XCTAssertTrue(labels.last!.isNaN, "nothing follows the last row")
    }
}
