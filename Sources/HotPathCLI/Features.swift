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
            is reported on stderr. The file is replayed twice, the first time for the labels, so \
            about 36 bytes a row are held, not the row's 38 values; a progress line shows on \
            stderr when it is a terminal. With --config, the columns are the engine config's \
            [features] vector (fixed features and indicator columns such as "RSI(14)@1m", in its \
            order) and [features] sets the tick, the bar length and the microprice table: \
            the rows a model trained on them gets in the engine.
            """
    )

    @Argument(help: "A DBN MBO file (.dbn, .dbn.zst) or an ITCH 5.0 input.")
    var file: String

    @Option(help: "Output CSV file.")
    var out: String

    @Option(help: "Label horizon: 500ms, 1s, 5s, 1m …")
    var horizon = "1s"

    @Option(
        help:
            "Microprice adjustment table g(I, S) (CSV: rows = imbalance buckets, columns = spread in ticks). Default: identity."
    )
    var microprice: String?

    @Option(help: "Tick size in price units, for the microprice table's spread columns (default 0.25).")
    var tick: Double?

    @Option(
        help:
            "Time-bar length in seconds for the bar indicators (bar_close, bar_ema_12, …); the engine's [features] bar_seconds (default 1)."
    )
    var barSeconds: Double?

    @Option(
        help:
            "An engine config (TOML): write its [features] vector, with its [features] settings, in place of the fixed vector."
    )
    var config: String?

    func run() throws {
        guard let h = Duration.nanoseconds(parsing: horizon) else {
            fail("--horizon \(horizon): expected a number with ms, s or m (e.g. 1s)", code: 2)
        }
        var config = MicrostructureFeatures.Config()
        config.tick = tick ?? config.tick
        let barSeconds = barSeconds ?? config.barSeconds
        guard barSeconds >= 1e-3, barSeconds <= 86_400 else {
            fail("--bar-seconds \(barSeconds): expected 0.001...86400", code: 2)
        }
        config.barSeconds = barSeconds
        // The columns written: indices into each row (the fixed vector, then indicator columns).
        var names = MicrostructureFeatures.names, columns = Array(0..<MicrostructureFeatures.count)
        if let path = self.config {
            for (flag, given) in [
                ("--tick", tick != nil), ("--bar-seconds", self.barSeconds != nil), ("--microprice", microprice != nil),
            ]
            where given {
                fail("\(flag): with --config, the config's [features] sets it", code: 2)
            }
            do {
                let engine = try EngineConfig.load(path: path)
                config = engine.features
                (names, columns) = (engine.featureNames, engine.featureIndices)
            } catch { fail("\(error)", code: 2) }
        }
        let n = columns.count
        // Two passes over the same (deterministic) replay, so no row is held in memory: the
        // first keeps each row's time, instrument and mid (20 bytes; ~36 with the labels and
        // their per-instrument index) for the forward labels, the second writes each row with
        // its label as it comes. Holding the rows for the labels took 38 doubles a row: 15 GB
        // for a day of 50 M book events. The first pass
        // takes about a tenth of the time (3.3 M rows: ~1.5 s of 13; the CSV text is most of
        // the rest), which is how the progress line weighs them. Rows go out through one
        // buffered writer, value by value (a String built per row, then fputs: 21 s).
        let result: (events: Int, undefined: Int, badInputs: Int)
        var rows = 0
        do {
            if let microprice { config.micropriceTable = try MicropriceTable.load(path: microprice) }
            let feed = try FeedFile.open(file)
            var progress = ProgressLine()
            defer { progress.finish() }
            var ts: [UInt64] = [], instrument: [UInt32] = [], mids: [Double] = []
            _ = try FeatureReplay.run(
                feed, config: config, progress: { progress.update(fraction: $0 / 10, tail: "pass 1 of 2") }
            ) { t, i, row in
                ts.append(t); instrument.append(i); mids.append(row[0])  // the fixed vector's first value is "mid"
            }
            let labels = FeatureReplay.forwardLabels(times: ts, instruments: instrument, mids: mids, horizon: h)
            ts = []; instrument = []; mids = []
            let fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { fail("\(SystemError(out, call: "create", errno: errno))") }
            defer { close(fd) }
            var w = BufferedWriter(fd: fd)
            w.line((["ts", "instrument_id"] + names.map(csvField) + ["label"]).joined(separator: ","))
            let comma = UInt8(ascii: ","), newline = UInt8(ascii: "\n")
            result = try FeatureReplay.run(
                feed, config: config, progress: { progress.update(fraction: 0.1 + $0 * 0.9, tail: "pass 2 of 2") }
            ) { t, i, row in
                w.text(t.description); w.byte(comma); w.text(i.description)
                for k in columns {
                    w.byte(comma)
                    if row[k].isFinite { w.text(row[k].description) }
                }
                w.byte(comma)
                let label = rows < labels.count ? labels[rows] : .nan
                if label.isFinite { w.text(label.description) }
                w.byte(newline)
                w.endRecord()
                rows += 1
            }
            w.flush()
            guard rows == labels.count else {
                fail("\(file): the second pass gave \(rows) rows, the first \(labels.count)")
            }
        } catch { fail("\(error)") }
        printError(
            "hotpath: \(out): \(rows) rows × \(n) features (\(result.undefined) undefined values of the fixed vector, \(result.badInputs) bad inputs skipped)"
        )
    }
}

/// A CSV header field: quoted when it holds a comma or a quote ("MACD(12,26,9).hist@5m").
func csvField(_ s: String) -> String {
    s.contains(",") || s.contains("\"") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
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
