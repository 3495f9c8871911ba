import XCTest

@testable import HotPath

final class BarBuilderTests: XCTestCase {
    func testTimeBarsCloseWhenAlaterPeriodTrades() {
        var b = BarBuilder(mode: .time(seconds: 1))
        var bars: [Bar] = []
        let s: UInt64 = 1_000_000_000
        for (t, p, v) in [
            (s / 10, 10.0, 1.0), (s / 2, 12.0, 2.0), (s * 9 / 10, 9.0, 1.0), (s + 1, 11.0, 5.0), (3 * s, 11.5, 1.0),
        ] {
            b.trade(price: p, size: v, at: t) { bars.append($0) }
        }
        XCTAssertEqual(
            bars,
            [
                Bar(open: 10, high: 12, low: 9, close: 9, volume: 4),
                Bar(open: 11, high: 11, low: 11, close: 11, volume: 5),
            ])
        b.close(at: 4 * s) { bars.append($0) }
        XCTAssertEqual(bars.last, Bar(open: 11.5, high: 11.5, low: 11.5, close: 11.5, volume: 1))
    }

    func testVolumeBarsSplitTheCrossingTrade() {
        var b = BarBuilder(mode: .volume(10))
        var bars: [Bar] = []
        b.trade(price: 100, size: 6, at: 1) { bars.append($0) }
        b.trade(price: 101, size: 25, at: 2) { bars.append($0) }
        // 6 + 25 = 31: three full bars (the 25 split 4 + 10 + 10 + 1), one unit left open.
        XCTAssertEqual(
            bars,
            [
                Bar(open: 100, high: 101, low: 100, close: 101, volume: 10),
                Bar(open: 101, high: 101, low: 101, close: 101, volume: 10),
                Bar(open: 101, high: 101, low: 101, close: 101, volume: 10),
            ])
        b.trade(price: .nan, size: 1, at: 3) { bars.append($0) }
        b.trade(price: 101, size: 0, at: 3) { bars.append($0) }
        XCTAssertEqual(b.rejected, 2)
    }

    func testBarIndicatorsUpdateOnClose() {
        var b = BarBuilder(mode: .volume(1))
        var sma = SMA(period: 3)
        var last = Double.nan
        for p in [1.0, 2.0, 3.0, 4.0] { b.trade(price: p, size: 1, at: 0) { last = sma.update($0.close) } }
        XCTAssertEqual(last, 3)
    }
}
