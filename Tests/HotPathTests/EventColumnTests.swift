import XCTest

@testable import HotPath

#if canImport(Glibc)
import Glibc
#endif

/// The configured per-event columns (`EventColumns`), each against a direct recomputation from
/// the fixed vector's values and the trades, over a demo ITCH session through `EventPath`.
final class EventColumnTests: XCTestCase {
    static let vector = [
        "spread_mean(20)", "spread_std(20)", "spread_pct(50)", "obi_momentum(10)", "microprice_delta",
        "microprice_mid", "tick_direction", "effective_spread_bps", "buy_rate(1s)", "sell_rate(1s)",
        "cancel_rate(500ms)",
    ]

    func load(_ features: String) throws -> EngineConfig {
        let text = "[engine]\nmax_instruments = 8\nmax_orders = 65536\n[features]\n" + features
        let path = temporaryFile(Array(text.utf8), suffix: ".toml")
        defer { unlink(path) }
        return try EngineConfig.load(path: path)
    }

    func testEachColumnEqualsItsDefinition() throws {
        let quoted = Self.vector.map { "\"\($0)\"" }.joined(separator: ", ")
        let c = try load("vector = [\"spread\", \(quoted)]")
        XCTAssertEqual(c.features.events.columns.map(\.window), [20, 20, 50, 10, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(c.features.events.columns.suffix(3).map(\.span), [1_000_000_000, 1_000_000_000, 500_000_000])
        let arena = try Arena(bytes: EventPath.arenaBytes(book: c.book, features: c.features), lock: false)
        defer { withExtendedLifetime(arena) {} }
        let path = try EventPath(book: c.book, features: c.features, arena: arena)
        defer { path.release() }
        let index = c.featureIndices
        typealias F = MicrostructureFeatures.Feature
        // Per book: spreads, imbalances (finite ones), the last microprice, trade prices, last sign.
        var spreads = [[Double]](repeating: [], count: 8), imbalances = spreads
        var micro = [Double](repeating: .nan, count: 8), lastTrade = micro, sign = [Double](repeating: 0, count: 8)
        // Per book: the times of buys, sells and cancels (lanes 0, 1, 2).
        var arrivals = [[[UInt64]]](repeating: [[], [], []], count: 8)
        var checked = 0
        func near(_ a: Double, _ b: Double) -> Bool {
            (a.isNaN && b.isNaN) || a == b || abs(a - b) <= 1e-12 + 1e-9 * max(abs(a), abs(b))
        }
        func mean(_ x: ArraySlice<Double>) -> Double { x.isEmpty ? .nan : x.reduce(0, +) / Double(x.count) }
        var g = ITCHGenerator.demoSession
        g.seed = 0xE7
        let file = temporaryFile(g.generate(messages: 60_000), suffix: ".itch")
        defer { unlink(file) }
        try FeedFile.open(file).forEachEvent { e in
            let t = MicrostructureFeatures.time(e)
            if e.kind == .order && e.action == Event.Action.cancel, let b = path.book.instruments.lookup(e.instrumentId)
            {
                arrivals[b][2].append(t)
            }
            if e.action == Event.Action.trade {
                let b = path.trade(e)
                guard b >= 0 else { return }
                if e.side == Event.Side.bid { arrivals[b][0].append(t) }
                if e.side == Event.Side.ask { arrivals[b][1].append(t) }
                let p = Double(e.price) / 1e9
                if !lastTrade[b].isNaN && p != lastTrade[b] { sign[b] = p > lastTrade[b] ? 1 : -1 }
                lastTrade[b] = p
                let row = path.rows + b * path.width, mid = row[F.mid.rawValue]
                XCTAssertEqual(row[index[7]], sign[b])
                XCTAssertTrue(near(row[index[8]], mid > 0 ? 2 * abs(p - mid) / mid * 1e4 : .nan))
                return
            }
            let b = path.move(e)
            guard b >= 0 else { return }
            path.updateFeatures(book: b, event: e)
            let row = path.rows + b * path.width
            let spread = row[F.spread.rawValue], imbalance = row[F.imbalanceL1.rawValue]
            let mp = row[F.microprice.rawValue], mid = row[F.mid.rawValue]
            if spread.isFinite { spreads[b].append(spread) }
            if imbalance.isFinite { imbalances[b].append(imbalance) }
            let s20 = spreads[b].suffix(20), s50 = spreads[b].suffix(50)
            let m20 = mean(s20)
            let std20 =
                s20.isEmpty
                ? Double.nan : (s20.reduce(0) { $0 + ($1 - m20) * ($1 - m20) } / Double(s20.count)).squareRoot()
            // Spreads compare in integer nanos: 0.03 from two price pairs can differ in its last bit.
            func nanos(_ x: Double) -> Double { (x * 1e9).rounded() }
            let below = s50.filter { nanos($0) <= nanos(spread) }.count
            let pct = spread.isFinite && !s50.isEmpty ? Double(below) / Double(s50.count) : .nan
            func rate(_ lane: Int, _ span: UInt64) -> Double {
                Double(arrivals[b][lane].filter { $0 >= (t >= span ? t - span : 0) }.count) * 1e9 / Double(span)
            }
            let expected = [
                m20, std20, pct, imbalance - mean(imbalances[b].suffix(10)), mp - micro[b], mp - mid,
            ]
            let rates = [rate(0, 1_000_000_000), rate(1, 1_000_000_000), rate(2, 500_000_000)]
            for (k, want) in rates.enumerated() where row[index[k + 9]] != want {
                XCTFail("\(Self.vector[k + 8]) book \(b): \(row[index[k + 9]]) vs \(want)")
            }
            for (k, want) in expected.enumerated() where !near(row[index[k + 1]], want) {
                XCTFail("\(Self.vector[k]) book \(b): \(row[index[k + 1]]) vs \(want)")
            }
            if mp.isFinite { micro[b] = mp }
            checked += 1
        }
        XCTAssertGreaterThan(checked, 50_000)
        for lane in 0..<3 { XCTAssertGreaterThan(arrivals.reduce(0) { $0 + $1[lane].count }, 100, "lane \(lane)") }
    }

    /// `return(S)`, `realized_vol(S)` and `imbalance(Lk)` equal the fixed vector's features
    /// at the fixed windows bit for bit, and a direct recomputation at others.
    func testWindowedFixedFeaturesAtOtherWindows() throws {
        let c = try load(
            "vector = [\"return(1s)\", \"return(60s)\", \"realized_vol(60s)\", \"imbalance(L5)\", "
                + "\"return(2s)\", \"imbalance(L2)\"]")
        let arena = try Arena(bytes: EventPath.arenaBytes(book: c.book, features: c.features), lock: false)
        defer { withExtendedLifetime(arena) {} }
        let path = try EventPath(book: c.book, features: c.features, arena: arena)
        defer { path.release() }
        let index = c.featureIndices
        typealias F = MicrostructureFeatures.Feature
        var history = [[(UInt64, Double)]](repeating: [], count: 8)  // per book: (time, log mid) changes
        var g = ITCHGenerator.demoSession
        g.seed = 0xE8
        let file = temporaryFile(g.generate(messages: 60_000), suffix: ".itch")
        defer { unlink(file) }
        var checked = 0, defined = 0
        try FeedFile.open(file).forEachEvent { e in
            if e.action == Event.Action.trade { _ = path.trade(e); return }
            let b = path.move(e)
            guard b >= 0 else { return }
            path.updateFeatures(book: b, event: e)
            let row = path.rows + b * path.width, t = MicrostructureFeatures.time(e)
            let fixed = [F.return1s, .return60s, .realizedVol60s, .imbalanceL5].map { row[$0.rawValue] }
            for k in 0..<4 where row[index[k]].bitPattern != fixed[k].bitPattern {
                XCTFail("\(c.featureNames[k]) book \(b): \(row[index[k]]) vs the fixed \(fixed[k])")
            }
            let mid = row[F.mid.rawValue], logMid = mid.isFinite && mid > 0 ? log(mid) : Double.nan
            if logMid.isFinite && logMid != history[b].last?.1 { history[b].append((t, logMid)) }
            let then = history[b].last { $0.0 <= (t >= 2_000_000_000 ? t - 2_000_000_000 : 0) }?.1
            let r2 = then.map { logMid - $0 } ?? .nan
            XCTAssertTrue(row[index[4]].bitPattern == r2.bitPattern || (row[index[4]].isNaN && r2.isNaN))
            let v = path.view(b), h = v.info
            let bid = (0..<min(2, Int(h.bidLevels))).reduce(0.0) { $0 + Double(v.bid($1).size) }
            let ask = (0..<min(2, Int(h.askLevels))).reduce(0.0) { $0 + Double(v.ask($1).size) }
            let i2 = bid + ask > 0 ? bid / (bid + ask) : .nan
            XCTAssertTrue(row[index[5]] == i2 || (row[index[5]].isNaN && i2.isNaN))
            if r2.isFinite { defined += 1 }
            checked += 1
        }
        XCTAssertGreaterThan(checked, 50_000)
        XCTAssertGreaterThan(defined, 40_000)
    }

    func testBadEventColumnsAreRefusedByName() {
        let cases: [(String, String)] = [
            ("vector = [\"spread_mean\"]", "spread_mean takes a window of N book events"),
            ("vector = [\"spread_mean(1)\"]", "window 1 is not in 2...100000"),
            ("vector = [\"spread_pct(5000)\"]", "window 5000 is not in 2...4096"),
            ("vector = [\"tick_direction(3)\"]", "tick_direction takes no parameters"),
            ("vector = [\"buy_rate(2h)\"]", "buy_rate takes a time span of 1ms...1h"),
            ("vector = [\"imbalance(L0)\"]", "imbalance takes the top k levels, k in 1...64"),
            ("vector = [\"return(5)\"]", "return takes a time span of 1ms...1h"),
        ]
        for (text, reason) in cases {
            XCTAssertThrowsError(try load(text), text) { error in
                XCTAssertEqual((error as? ConfigError)?.key, "features.vector[0]", text)
                XCTAssertTrue("\(error)".contains(reason), "\(text): \(error)")
            }
        }
    }
}
