#if canImport(Glibc)
import Glibc
#endif

/// Replays a feed file through the books and the microstructure feature vector by the engine's
/// own steps (`EventPath`), for `hotpath features` (training sets). Trades (DBN action T, ITCH
/// trade messages) update the trade state; every published book view — an order book's, or a
/// price-level book's from MBP and BBO records — yields a feature row: the fixed vector, then
/// the configured indicator columns (`EventPath.width` values).
public enum FeatureReplay {
    public struct Row {
        public var ts: UInt64
        public var instrument: UInt32
        public var features: [Double]
    }

    /// Calls `emit` for every published view with its feature row (reused buffer), and
    /// `progress` with the share of the file read, now and then.
    public static func run(
        _ file: FeedFile, config: MicrostructureFeatures.Config = .init(), progress: ((Double) -> Void)? = nil,
        emit: (UInt64, UInt32, UnsafeBufferPointer<Double>) -> Void
    ) throws -> (events: Int, undefined: Int, badInputs: Int) {
        var bookConfig = L3Book.Config()
        bookConfig.maxInstruments = 64
        let arena = try Arena(bytes: EventPath.arenaBytes(book: bookConfig, features: config), lock: false)
        defer { withExtendedLifetime(arena) {} }
        let path = try EventPath(book: bookConfig, features: config, arena: arena)
        defer { path.release() }
        var events = 0
        func handle(_ e: Event) {
            events += 1
            if e.action == Event.Action.trade {
                _ = path.trade(e)
                return
            }
            let b = path.move(e)
            guard b >= 0 else { return }
            path.updateFeatures(book: b, event: e)
            emit(
                MicrostructureFeatures.time(e), e.instrumentId,
                UnsafeBufferPointer(start: path.rows + b * path.width, count: path.width))
        }
        let bytes = Double(max(file.byteCount, 1))
        try file.forEachEvent(position: progress.map { report in { report(Double($0) / bytes) } }, handle)
        let (undefined, bad) = path.featureCounts
        return (events, undefined, bad)
    }

    /// Forward mid-return labels for rows in time order: `log(later / mid)`, where `later` is
    /// the mid of the first row of the same instrument whose time is at least `horizon` after
    /// this row's; NaN when there is no such row or either mid is not positive. One moving
    /// pointer per instrument, so linear in the rows.
    public static func forwardLabels(
        times: [UInt64], instruments: [UInt32], mids: [Double], horizon: UInt64
    ) -> [Double] {
        var labels = [Double](repeating: .nan, count: times.count)
        var byInstrument: [UInt32: [Int]] = [:]
        for (i, inst) in instruments.enumerated() { byInstrument[inst, default: []].append(i) }
        for rows in byInstrument.values {
            var j = 0
            for (k, i) in rows.enumerated() {
                if j < k { j = k }
                while j < rows.count && times[rows[j]] < times[i] &+ horizon { j += 1 }
                guard j < rows.count else { break }
                let now = mids[i], later = mids[rows[j]]
                if now > 0 && later > 0 { labels[i] = log(later / now) }
            }
        }
        return labels
    }
}
