import XCTest

@testable import HotPath

#if canImport(Glibc)
import Glibc
#endif

/// The configured feature vector's indicator columns (`[features] bars` and `vector`).
final class IndicatorColumnTests: XCTestCase {
    func load(_ features: String) throws -> EngineConfig {
        let text = "[engine]\nmax_instruments = 4\nmax_orders = 1024\n[features]\n" + features
        let path = temporaryFile(Array(text.utf8), suffix: ".toml")
        defer { unlink(path) }
        return try EngineConfig.load(path: path)
    }

    /// demo/config-vector.toml (70 features: 8 event columns, 30 indicators on 1s, 5s and 15s bars),
    /// pinned as the engine tests pin.
    static func demoVector() throws -> EngineConfig {
        var c = try EngineConfig.load(path: TestPaths.root + "/demo/config-vector.toml")
        c.progress = false
        c.signalsPath = nil
        let cpus = PinnedThread.currentAffinity().cpus
        (c.feedCore, c.engineCore) = (cpus.first, cpus.last)
        return c
    }

    /// The demo's configured vector: every event through the engine after a warm-up allocates
    /// and retains nothing, with bars closing on all three series.
    func testTheDemoVectorAllocatesNothingPerEvent() throws {
        try requireOptimizedBuild()
        let c = try Self.demoVector()
        XCTAssertEqual(c.featureNames.count, 70)
        XCTAssertEqual(c.features.indicators.series.count, 3)
        var g = ITCHGenerator.demoSession
        g.seed = 0xD3E1
        let path = temporaryFile(g.generate(messages: 200_000), suffix: ".itch")
        defer { unlink(path) }
        var events: [Event] = []
        try FeedFile.open(path).forEachEvent { events.append($0) }
        let engine = try Engine(config: c)
        let core = engine.core
        assertEngineAllocatesNothing(core, events, warmUp: 20_000)
        // The 15 s series closed bars: its EMA(3) is defined for every instrument by now.
        let column = c.featureIndices[c.featureNames.firstIndex(of: "EMA(3)@15s")!]
        for b in 0..<4 { XCTAssertTrue(core.path.rows[b * core.path.width + column].isFinite, "book \(b)") }
        XCTAssertGreaterThan(core.counts[EngineCore.Count.evaluations.rawValue].value, 10_000)
    }

    /// `hotpath indicators`' 39 columns as vector entries, with TALibColumns' parameters.
    static let talibVector = [
        "SMA(20)", "EMA(12)", "EMA(26)", "WMA(30)", "DEMA(30)", "TEMA(30)", "TRIMA(30)", "KAMA(30)", "RSI(14)",
        "MACD(12,26,9).macd", "MACD(12,26,9).signal", "MACD(12,26,9).hist", "BBANDS(20,2,2).upper",
        "BBANDS(20,2,2).middle", "BBANDS(20,2,2).lower", "STDDEV(5,1)", "VAR(5)", "ATR(14)", "NATR(14)", "TRANGE",
        "OBV", "AD", "ADOSC(3,10)", "STOCH(5,3,3).k", "STOCH(5,3,3).d", "STOCHF(5,3).k", "STOCHF(5,3).d", "CCI(20)",
        "MFI(14)", "WILLR(14)", "ADX(14)", "PLUS_DI(14)", "MINUS_DI(14)", "ROC(10)", "MOM(10)", "CMO(14)",
        "AROON(14).down", "AROON(14).up", "TRIX(30)",
    ]

    /// Sends each bar through `EventPath.trade` as four trades (open, high, low, close; the
    /// volume split between them) in its own second, on a "1s" series, and returns the bars the
    /// engine's series made and, for each bar but the last, the `vector` columns once it closed
    /// (at the next bar's first trade).
    func replay(_ bars: [Bar], vector: [String], extra: String = "") throws -> (made: [Bar], rows: [[Double]]) {
        let list = vector.map { "\"\($0)@1s\"" }.joined(separator: ", ")
        let c = try load("bars = [\"1s\"\(extra.isEmpty ? "" : ", \"5s\"")]\nvector = [\"mid\", \(list)\(extra)]")
        let arena = try Arena(bytes: EventPath.arenaBytes(book: c.book, features: c.features), lock: false)
        defer { withExtendedLifetime(arena) {} }
        let path = try EventPath(book: c.book, features: c.features, arena: arena)
        defer { path.release() }
        // A book for the instrument (trades need one), then the bars' trades.
        var add = Event()
        (add.kind, add.action, add.side, add.instrumentId, add.price, add.size, add.flags) =
            (.order, Event.Action.add, Event.Side.bid, 7, 1_000_000_000, 1, 0x80)
        (add.orderId, add.tsEvent, add.tsRecv) = (1, 1, 1)
        XCTAssertEqual(path.move(add), 0)
        let indices = c.featureIndices[1...(vector.count)]
        var made: [Bar] = [], rows: [[Double]] = []
        for (i, bar) in bars.enumerated() {
            let volume = UInt64(bar.volume)
            let parts = [volume / 4, volume / 4, volume / 4, volume - 3 * (volume / 4)]
            var prices: [Double] = []
            for (k, (price, size)) in zip([bar.open, bar.high, bar.low, bar.close], parts).enumerated() {
                var t = Event()
                (t.kind, t.action, t.side, t.instrumentId) = (.trade, Event.Action.trade, Event.Side.bid, 7)
                t.price = Int64((price * 1e9).rounded())
                t.size = UInt32(size)
                t.tsEvent = UInt64(i + 1) * 1_000_000_000 + UInt64(k)
                t.tsRecv = t.tsEvent
                XCTAssertEqual(path.trade(t), 0)
                prices.append(Double(t.price) / 1e9)
                if k == 0 && i > 0 { rows.append(indices.map { path.rows[$0] }) }
            }
            made.append(
                Bar(open: prices[0], high: prices.max()!, low: prices.min()!, close: prices[3], volume: Double(volume)))
        }
        XCTAssertEqual(path.oversizedTrades, 0)
        return (made, rows)
    }

    /// Through the engine's path (`EventPath.trade`), every configurable indicator equals
    /// `hotpath indicators`' TA-Lib-exact column (`TALibColumns`, held to TA-Lib by
    /// IndicatorTests) on the same bars, bit for bit: 19 years of ORCL daily bars.
    func testEveryIndicatorColumnThroughTheEngineEqualsTALibColumns() throws {
        let data = try TestPaths.requireSharedData()
        let bars = try OHLCVFile.read(path: data + "/ohlcv/orcl-1995-2014.txt").map(\.bar)
        XCTAssertEqual(Self.talibVector.count, TALibColumns.names.count)
        let c = try load(
            "bars = [\"1s\", \"5s\"]\nvector = [" + Self.talibVector.map { "\"\($0)@1s\"" }.joined(separator: ", ")
                + ", \"RSI(14)@5s\"]")
        XCTAssertEqual(c.features.indicators.columns.count, 40)
        XCTAssertEqual(
            c.features.indicators.indicators.count, 33, "each MACD, BBANDS, STOCH, STOCHF and AROON is one state")
        let (made, rows) = try replay(bars, vector: Self.talibVector, extra: ", \"RSI(14)@5s\"")
        XCTAssertEqual(rows.count, bars.count - 1)
        var expected = TALibColumns()
        var want = [Double](repeating: 0, count: TALibColumns.names.count)
        for (i, row) in rows.enumerated() {
            want.withUnsafeMutableBufferPointer { expected.update(made[i], into: $0.baseAddress!) }
            for (j, name) in TALibColumns.names.enumerated()
            where row[j].bitPattern != want[j].bitPattern && !(row[j].isNaN && want[j].isNaN) {
                return XCTFail("bar \(i), \(name): engine \(row[j]), TALibColumns \(want[j])")
            }
        }
        XCTAssertTrue(want.allSatisfy(\.isFinite), "every column is past its lookback by the end")
    }

    /// VWMA, CMF and KELTNER (not in TA-Lib) through the engine's path, against their formulas
    /// computed directly from the bars, on the same 19 years of ORCL bars.
    func testChannelColumnsEqualTheirFormulas() throws {
        let data = try TestPaths.requireSharedData()
        let bars = try OHLCVFile.read(path: data + "/ohlcv/orcl-1995-2014.txt").map(\.bar)
        let (made, rows) = try replay(
            bars,
            vector: [
                "VWMA(10)", "CMF(20)", "KELTNER(20,2,10).upper", "KELTNER(20,2,10).middle", "KELTNER(20,2,10).lower",
            ])
        var ema = EMA(period: 20), atr = ATR(period: 10)
        var compared = 0
        for (i, row) in rows.enumerated() {
            let last10 = made[max(0, i - 9)...i], last20 = made[max(0, i - 19)...i]
            let vwma =
                i >= 9 ? last10.reduce(0) { $0 + $1.close * $1.volume } / last10.reduce(0) { $0 + $1.volume } : .nan
            func flow(_ b: Bar) -> Double {
                b.high == b.low ? 0 : ((b.close - b.low) - (b.high - b.close)) / (b.high - b.low) * b.volume
            }
            let cmf = i >= 19 ? last20.reduce(0) { $0 + flow($1) } / last20.reduce(0) { $0 + $1.volume } : .nan
            let m = ema.update(made[i].close), a = atr.update(made[i])
            let k = m.isFinite && a.isFinite ? [m + 2 * a, m, m - 2 * a] : [.nan, .nan, .nan]
            for (j, want) in ([vwma, cmf] + k).enumerated() {
                let got = row[j]
                guard (got.isNaN && want.isNaN) || abs(got - want) <= 1e-12 * max(abs(want), 1) else {
                    return XCTFail("bar \(i), column \(j): engine \(got), formula \(want)")
                }
                if want.isFinite { compared += 1 }
            }
        }
        XCTAssertGreaterThan(compared, 20_000)
    }

    /// Every indicator builds and steps at its largest parameters (a start-up that cannot trap
    /// on a value the parser let through).
    func testEveryIndicatorBuildsAtItsLargestParameters() throws {
        var vector: [String] = []
        for kind in IndicatorColumns.Kind.allCases {
            let largest = kind.parameters.enumerated().map { i, p in
                p.least < 1 ? "1000000" : kind == .MACD && i == 0 ? "99999" : "100000"
            }
            let output = kind.outputs.first.map { "." + $0 } ?? ""
            vector.append("\(kind.rawValue)(\(largest.joined(separator: ",")))\(output)@1s")
        }
        let c = try load("bars = [\"1s\"]\nvector = [" + vector.map { "\"\($0)\"" }.joined(separator: ", ") + "]")
        var book = c.book
        book.maxInstruments = 1
        let arena = try Arena(bytes: EventPath.arenaBytes(book: book, features: c.features), lock: false)
        defer { withExtendedLifetime(arena) {} }
        let path = try EventPath(book: book, features: c.features, arena: arena)
        defer { path.release() }
        var add = Event()
        (add.kind, add.action, add.side, add.instrumentId, add.price, add.size, add.flags, add.orderId) =
            (.order, Event.Action.add, Event.Side.bid, 3, 1_000_000_000, 1, 0x80, 1)
        XCTAssertEqual(path.move(add), 0)
        for i in 0..<5 {
            var t = Event()
            (t.kind, t.action, t.side, t.instrumentId, t.price, t.size) =
                (.trade, Event.Action.trade, Event.Side.bid, 3, Int64(1_000_000_000 + i), 1)
            t.tsEvent = UInt64(i) * 1_000_000_000
            XCTAssertEqual(path.trade(t), 0)
        }
        XCTAssertEqual(c.features.indicators.columns.count, IndicatorColumns.Kind.allCases.count)
    }

    /// Each refusal names the entry and the reason.
    func testBadEntriesAreRefusedByName() {
        let cases: [(String, String, String)] = [
            (
                "bars = [\"1s\"]\nvector = [\"RSI(14)@1m\"]", "features.vector[0]",
                "bar series \"1m\" is not in features.bars (declared: 1s)"
            ),
            ("bars = [\"1s\"]\nvector = [\"RSX(14)@1s\"]", "features.vector[0]", "unknown indicator \"RSX\""),
            (
                "bars = [\"1s\"]\nvector = [\"MACD(12,26,9)@1s\"]", "features.vector[0]",
                "MACD has outputs macd, signal, hist: name one"
            ),
            ("bars = [\"1s\"]\nvector = [\"RSI(14).k@1s\"]", "features.vector[0]", "RSI has one output"),
            (
                "bars = [\"1s\"]\nvector = [\"RSI(1.5)@1s\"]", "features.vector[0]",
                "timeperiod 1.5 is not a whole number"
            ),
            ("bars = [\"1s\"]\nvector = [\"RSI(14, 3)@1s\"]", "features.vector[0]", "RSI takes 1 parameters"),
            (
                "bars = [\"1s\"]\nvector = [\"MACD(26,12,9).hist@1s\"]", "features.vector[0]",
                "fastperiod 26 must be below"
            ),
            ("bars = [\"1s\"]\nvector = [\"mid\", \"mid\"]", "features.vector[1]", "\"mid\" is listed twice"),
            ("bars = [\"1x\"]", "features.bars[0]", "\"1x\" is not a bar series"),
            (
                "bars = [\"1s\"]\nvector = [\"BBANDS(5,1e300,2).upper@1s\"]", "features.vector[0]",
                "nbdevup 1e300 is not in -1000000...1000000"
            ),
            ("bars = [\"1s\", \"1s\"]", "features.bars[1]", "\"1s\" is declared twice"),
            ("vector = [\"mid\"]\nnames = [\"mid\"]", "features.names", "not both"),
            ("vector = [\"midd\"]", "features.vector[0]", "unknown feature \"midd\""),
        ]
        for (text, key, reason) in cases {
            XCTAssertThrowsError(try load(text), text) { error in
                XCTAssertEqual((error as? ConfigError)?.key, key, text)
                XCTAssertTrue("\(error)".contains(reason), "\(text): \(error)")
            }
        }
    }

    /// Parameters default to TA-Lib's; the vector maps fixed names and columns into the row.
    func testDefaultsAndRowIndices() throws {
        let c = try load(
            "bars = [\"1m\", \"vol:500\"]\nvector = [\"OBV@vol:500\", \"spread\", \"SMA@1m\", \"BBANDS.lower@1m\"]")
        let ind = c.features.indicators
        XCTAssertEqual(ind.series.map(\.mode), [.time(seconds: 60), .volume(500)])
        XCTAssertEqual(ind.indicators.map(\.parameters), [[], [30], [5, 2, 2]])
        XCTAssertEqual(ind.indicators.map(\.series), [1, 0, 0])
        let n = MicrostructureFeatures.count
        XCTAssertEqual(c.featureIndices, [n, MicrostructureFeatures.Feature.spread.rawValue, n + 1, n + 2])
    }

    /// A volume series takes at most `maxBarsPerTrade` bars from a trade: a larger one is
    /// skipped for that series and counted, however large its size.
    func testAHugeTradeIsCountedNotLoopedOver() throws {
        let c = try load("bars = [\"vol:1\"]\nvector = [\"SMA(2)@vol:1\"]")
        let arena = try Arena(bytes: EventPath.arenaBytes(book: c.book, features: c.features), lock: false)
        defer { withExtendedLifetime(arena) {} }
        let counters = CounterRegistry()
        let path = try EventPath(book: c.book, features: c.features, arena: arena, counters: counters)
        defer { path.release() }
        var add = Event()
        (add.kind, add.action, add.side, add.instrumentId, add.price, add.size, add.flags, add.orderId) =
            (.order, Event.Action.add, Event.Side.bid, 3, 1_000_000_000, 1, 0x80, 1)
        XCTAssertEqual(path.move(add), 0)
        var t = Event()
        (t.kind, t.action, t.side, t.instrumentId, t.price, t.tsEvent) = (
            .trade, Event.Action.trade, Event.Side.ask, 3, 2_000_000_000, 5
        )
        t.size = 3
        _ = path.trade(t)
        XCTAssertEqual(path.rows[MicrostructureFeatures.count], 2, "three one-lot bars at 2: SMA(2) = 2")
        t.size = UInt32.max
        _ = path.trade(t)
        XCTAssertEqual(path.oversizedTrades, 1)
        let reported = counters.snapshot().first { $0.name == "features.oversized_trades" }
        XCTAssertEqual(reported.map { "\($0.thread).\($0.name)=\($0.value)" }, "engine.features.oversized_trades=1")
    }
}
