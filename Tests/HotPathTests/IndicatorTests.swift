import XCTest

@testable import HotPath

/// Streaming indicators against TA-Lib (ta-lib 0.8.2 on PyPI, from index 0): fixtures made by
/// tools/talib/make_fixtures.sh with ../shared/tools/peers/talib_reference.py.
final class IndicatorTests: XCTestCase {
    func reference(_ name: String) throws -> [[Substring]] {
        let input = try InputFile(path: TestPaths.fixtures + "/talib/\(name).talib.csv.zst")
        let text = String(decoding: input.bytes, as: UTF8.self)
        return text.split(whereSeparator: \.isNewline).map {
            $0.split(separator: ",", omittingEmptySubsequences: false)
        }
    }

    func check(_ name: String) throws {
        let data = try TestPaths.requireSharedData()
        let bars = try OHLCVFile.read(path: data + "/ohlcv/\(name).txt")
        let ref = try reference(name)
        XCTAssertEqual(ref[0].map(String.init), ["date"] + TALibColumns.names)
        guard ref.count - 1 == bars.count else {
            return XCTFail("\(ref.count - 1) reference rows for \(bars.count) bars")
        }
        var columns = TALibColumns()
        var row = [Double](repeating: 0, count: TALibColumns.names.count)
        var worst = 0.0, compared = 0
        for (i, (date, bar)) in bars.enumerated() {
            row.withUnsafeMutableBufferPointer { columns.update(bar, into: $0.baseAddress!) }
            let expected = ref[i + 1]
            XCTAssertEqual(String(expected[0]), date)
            for (k, name) in TALibColumns.names.enumerated() {
                let cell = expected[k + 1]
                if cell.isEmpty {
                    XCTAssertTrue(row[k].isNaN, "\(name) \(date): TA-Lib has no value yet, HotPath has \(row[k])")
                    continue
                }
                let want = Double(cell)!
                guard !row[k].isNaN else {
                    XCTFail("\(name) \(date): HotPath has no value, TA-Lib has \(want)"); return
                }
                let rel = abs(row[k] - want) / max(abs(want), .leastNormalMagnitude)
                worst = max(worst, rel)
                if rel > 1e-9 { XCTFail("\(name) \(date): \(row[k]) vs TA-Lib \(want) (relative \(rel))"); return }
                compared += 1
            }
        }
        XCTAssertGreaterThan(compared, 100_000)
        XCTAssertLessThanOrEqual(worst, 1e-9)
    }

    func testOracleDailyBarsMatchTALib() throws { try check("orcl-1995-2014") }
    func testNvidiaDailyBarsMatchTALib() throws { try check("nvda-1999-2014") }
    func testYahooDailyBarsMatchTALib() throws { try check("yhoo-1996-2015") }

    func testFlatSeriesGivesDefinedValues() {
        var rsi = RSI(period: 14), willr = WILLR(period: 14), stoch = STOCHF(), cci = CCI(period: 20), bb = BBANDS()
        let flat = Bar(open: 10, high: 10, low: 10, close: 10, volume: 0)
        for _ in 0..<40 {
            _ = rsi.update(10); _ = willr.update(flat); _ = stoch.update(flat); _ = cci.update(flat); _ = bb.update(10)
        }
        XCTAssertEqual(rsi.update(10), 0, "no gain and no loss: TA-Lib's 0")
        XCTAssertEqual(willr.update(flat), 0)
        XCTAssertEqual(stoch.update(flat).k, 0)
        XCTAssertEqual(cci.update(flat), 0)
        let band = bb.update(10)
        XCTAssertEqual(band.upper, 10)
        XCTAssertEqual(band.lower, 10)
    }

    func testMinuteFileWithTimeColumnIsRead() throws {
        let path = temporaryFile(
            Array(
                "Date,Open,High,Low,Close,Volume,OpenInterest\n2006-01-02,09:01:00,3602.00,3603.00,3597.00,3599.00,5699,0\n"
                    .utf8), suffix: ".txt")
        let rows = try OHLCVFile.read(path: path)
        XCTAssertEqual(rows.first?.date, "2006-01-02 09:01:00")
        XCTAssertEqual(rows.first?.bar, Bar(open: 3602, high: 3603, low: 3597, close: 3599, volume: 5699))
    }
}
