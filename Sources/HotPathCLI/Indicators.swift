import ArgumentParser
import HotPath

struct Indicators: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "TA-Lib's indicators over an OHLCV CSV, computed bar by bar.",
        discussion: """
            Input: Date,Open,High,Low,Close[,Adj Close],Volume (the unadjusted columns are used). \
            Output: a CSV with the columns ../shared/tools/peers/talib_reference.py prints (its \
            parameters, TA-Lib's defaults otherwise), one row per input bar, empty cells during \
            each indicator's lookback. Every indicator updates in O(1) per bar except CCI (its \
            mean deviation is over the window), streaming, as the engine computes them.
            """
    )

    @Argument(help: "The OHLCV CSV file.")
    var file: String

    func run() throws {
        do {
            let rows = try OHLCVFile.read(path: file)
            var columns = TALibColumns()
            var out = BufferedWriter(fd: 1)
            out.line((["date"] + TALibColumns.names).joined(separator: ","))
            var values = [Double](repeating: 0, count: TALibColumns.names.count)
            for (date, bar) in rows {
                values.withUnsafeMutableBufferPointer { columns.update(bar, into: $0.baseAddress!) }
                out.line(([date] + values.map { $0.isNaN ? "" : "\($0)" }).joined(separator: ","))
            }
            out.flush()
        } catch {
            fail("\(error)", code: 2)
        }
    }
}
