import ArgumentParser
import HotPath
#if canImport(Glibc)
import Glibc
#endif

struct FeaturesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "features",
        abstract: "Write every book event's feature vector with its forward mid-return label: a training set.",
        discussion: """
            The feed is replayed through the book and the microstructure feature vector (the \
            code that serves the models). One CSV row per published book view: ts (ns), \
            instrument_id, the features in their fixed order, and label = log(mid at the first \
            event ≥ ts + horizon / mid now) for the same instrument (empty past the end). \
            Undefined features (an empty book side, no trades yet) are empty cells; their count \
            is reported on stderr.
            """
    )

    @Argument(help: "A DBN MBO file (.dbn, .dbn.zst) or an ITCH 5.0 input.")
    var file: String

    @Option(help: "Output CSV file.")
    var out: String

    @Option(help: "Label horizon: 500ms, 1s, 5s, 1m …")
    var horizon = "1s"

    @Option(help: "Microprice adjustment table g(I, S) (CSV: rows = imbalance buckets, columns = spread in ticks). Default: identity.")
    var microprice: String?

    @Option(help: "Tick size in price units, for the microprice table's spread columns.")
    var tick = 0.25

    @Option(help: "Time-bar length in seconds for the bar indicators (bar_close, bar_ema_12, …); the engine's [features] bar_seconds.")
    var barSeconds = 1.0

    func run() throws {
        guard let h = Duration.nanoseconds(parsing: horizon) else {
            fail("--horizon \(horizon): expected a number with ms, s or m (e.g. 1s)", code: 2)
        }
        var ts: [UInt64] = [], instrument: [UInt32] = [], values: [Double] = []
        let n = MicrostructureFeatures.count
        let result: (events: Int, undefined: Int, badInputs: Int)
        var config = MicrostructureFeatures.Config()
        config.tick = tick
        guard barSeconds >= 1e-3, barSeconds <= 86_400 else { fail("--bar-seconds \(barSeconds): expected 0.001...86400", code: 2) }
        config.barSeconds = barSeconds
        do {
            if let microprice { config.micropriceTable = try MicropriceTable.load(path: microprice) }
            result = try FeatureReplay.run(FeedFile.open(file), config: config) { t, i, row in
                ts.append(t); instrument.append(i); values.append(contentsOf: row)
            }
        } catch { fail("\(error)") }
        // Forward labels, per instrument, by a moving pointer over time.
        var labels = [Double](repeating: .nan, count: ts.count)
        var byInstrument: [UInt32: [Int]] = [:]
        for (i, inst) in instrument.enumerated() { byInstrument[inst, default: []].append(i) }
        for rows in byInstrument.values {
            var j = 0
            for (k, i) in rows.enumerated() {
                if j < k { j = k }
                while j < rows.count && ts[rows[j]] < ts[i] + h { j += 1 }
                guard j < rows.count else { break }
                let now = values[i * n], later = values[rows[j] * n]
                if now > 0 && later > 0 { labels[i] = log(later / now) }
            }
        }
        guard let f = fopen(out, "w") else { fail("\(out): cannot create: \(String(cString: strerror(errno)))") }
        defer { fclose(f) }
        fputs((["ts", "instrument_id"] + MicrostructureFeatures.names + ["label"]).joined(separator: ",") + "\n", f)
        for i in 0..<ts.count {
            var line = "\(ts[i]),\(instrument[i])"
            for k in 0..<n {
                let v = values[i * n + k]
                line += v.isFinite ? ",\(v)" : ","
            }
            line += labels[i].isFinite ? ",\(labels[i])\n" : ",\n"
            fputs(line, f)
        }
        printError("hotpath: \(out): \(ts.count) rows × \(n) features (\(result.undefined) undefined values, \(result.badInputs) bad inputs skipped)")
    }
}

extension Duration {
    /// "500ms", "1s", "2m" → nanoseconds.
    static func nanoseconds(parsing text: String) -> UInt64? {
        let units: [(String, Double)] = [("ms", 1e6), ("us", 1e3), ("ns", 1), ("s", 1e9), ("m", 60e9)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            guard let v = Double(text.dropLast(suffix.count)), v > 0 else { return nil }
            return UInt64(v * scale)
        }
        return nil
    }
}
