import ArgumentParser
import HotPath

struct Regime: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Filter bars through a Gaussian HMM (and GARCH(1,1)) and print the state probabilities and regime.",
        discussion: """
            --hmm: a diagonal GaussianHMM exported from hmmlearn 0.3.3 \
            (tools/adaptive/make_regime_fixtures.py's export_hmm); the forward filter's \
            probabilities equal the last row of hmmlearn's predict_proba on each prefix. --garch: \
            mu, omega, alpha, beta and backcast from arch 8.0.0; the printed variance is the \
            one-step forecast arch gives after each bar's return. The regime is the argmax state, \
            changing only after the new state's probability holds ≥ --hold for --bars bars. Input: \
            a CSV with a header; the HMM reads its first N columns (N = the model's features), \
            GARCH the column --return names. Prints CSV: p_0…p_K-1[,variance],regime; or with --json \
            one JSON object per bar: {"bar","p":[…],"variance","regime"}.

            --feed FILE instead of --input: the bars are the engine's ([regimes] in the engine \
            config): per instrument, time bars of --bar-seconds of its trades, each observed as \
            --inputs (return and range in basis points, log_volume; garch_vol needs --garch), the \
            way `hotpath run` sees them. Prints instrument_id,bar_start_ns,the inputs, and with \
            --hmm the probabilities and regime. Without --hmm it prints the observations only: \
            the rows to fit an HMM on (tools/adaptive/make_regime_session.py).
            """
    )

    @Option(help: "The HMM's JSON (optional with --feed).")
    var hmm: String?

    @Option(help: "GARCH(1,1) parameters' JSON.")
    var garch: String?

    @Option(help: "Bars: a CSV with a header.")
    var input: String?

    @Option(help: "A feed file (DBN, ITCH, pcap): bars built as the engine builds them.")
    var feed: String?

    @Option(help: "With --feed: the observation, comma-separated (return, range, log_volume, garch_vol).")
    var inputs = "return,range,log_volume"

    @Option(help: "With --feed: the bar length in seconds.")
    var barSeconds = 1.0

    @Option(name: .customLong("return"), help: "The return column, for GARCH.")
    var returnColumn = "return"

    @Option(help: "The probability a new state must hold to take over.")
    var hold = 0.65

    @Option(help: "For this many bars in a row.")
    var bars = 3

    @Flag(help: "One JSON object per bar instead of CSV.")
    var json = false

    func run() throws {
        guard (input == nil) != (feed == nil) else { throw ValidationError("give one of --input and --feed") }
        if let feed { return runFeed(feed) }
        guard let hmm, let input else { throw ValidationError("--input needs --hmm") }
        do {
            var filter = try GaussianHMMFilter.load(path: hmm)
            var variance = try garch.map { path throws(ModelError) in try GARCH11.load(path: path) }
            guard let text = SystemFile.read(input, limit: 1 << 31) else {
                fail("\(input): cannot read the file", code: 2)
            }
            var lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingSpaces() }.filter { !$0.isEmpty }
            guard !lines.isEmpty else { fail("\(input): no header line", code: 2) }
            let header = lines.removeFirst().split(separator: ",", omittingEmptySubsequences: false).map {
                String($0.trimmingSpaces())
            }
            guard header.count >= filter.features else {
                fail("\(input):1: \(header.count) columns for an HMM of \(filter.features) features", code: 2)
            }
            let returnIndex = header.firstIndex(of: returnColumn)
            if variance != nil && returnIndex == nil {
                fail("\(input):1: no column named \"\(returnColumn)\" for --garch", code: 2)
            }
            var regime = RegimeHysteresis(hold: hold, bars: bars)
            var out = BufferedWriter(fd: 1)
            if !json {
                out.line(
                    ((0..<filter.states).map { "p_\($0)" } + (variance != nil ? ["variance"] : []) + ["regime"])
                        .joined(separator: ","))
            }
            var p = [Double](repeating: 0, count: filter.states)
            for (i, line) in lines.enumerated() {
                let cells = line.split(separator: ",", omittingEmptySubsequences: false).map {
                    Double($0.trimmingSpaces())
                }
                guard cells.count == header.count, cells.allSatisfy({ $0?.isFinite == true }) else {
                    fail("\(input):\(i + 2): expected \(header.count) finite numbers", code: 2)
                }
                let row = cells.map { $0! }
                filter.update(row, into: &p)
                var sigma2: Double? = nil
                if var g = variance {
                    sigma2 = g.update(row[returnIndex!])
                    variance = g
                }
                let states = filter.states
                let current = p.withUnsafeBufferPointer { regime.update($0.baseAddress!, states: states) }
                if json {
                    let v = sigma2.map { ",\"variance\":\($0)" } ?? ""
                    out.line(
                        "{\"bar\":\(i),\"p\":[\(p.map { "\($0)" }.joined(separator: ","))]\(v),\"regime\":\(current)}")
                } else {
                    out.line(
                        (p.map { "\($0)" } + (sigma2.map { ["\($0)"] } ?? []) + ["\(current)"]).joined(separator: ","))
                }
            }
            out.flush()
        } catch {
            fail("\(error)", code: 2)
        }
    }

    /// `--feed`: the engine's regime bars over a file.
    func runFeed(_ path: String) {
        do {
            var config = RegimeTracker.Config()
            config.inputs = try inputs.split(separator: ",").map { name in
                guard let input = RegimeTracker.Input(rawValue: String(name)) else {
                    throw ValidationError(
                        "--inputs: unknown \"\(name)\" (known: \(RegimeTracker.Input.allCases.map(\.rawValue).joined(separator: ", ")))"
                    )
                }
                return input
            }
            guard barSeconds > 0 else { throw ValidationError("--bar-seconds must be positive") }
            config.barSeconds = barSeconds
            config.hold = hold
            config.holdBars = bars
            let filter = try hmm.map { p throws(ModelError) in try GaussianHMMFilter.load(path: p) }
            let variance = try garch.map { p throws(ModelError) in try GARCH11.load(path: p) }
            if let reason = RegimeTracker.check(config, hmm: filter, garch: variance) {
                fail("--inputs: \(reason)", code: 2)
            }
            let books = 4096
            let arena = try Arena(bytes: 64 << 20, lock: false)
            let tracker = try RegimeTracker(config, hmm: filter, garch: variance, books: books, arena: arena)
            let file = try FeedFile.open(path, streamed: true)
            var slots: [UInt32: Int] = [:]
            var out = BufferedWriter(fd: 1)
            let states = filter?.states ?? 0
            if !json {
                let columns =
                    config.inputs.map(\.rawValue) + (0..<states).map { "p_\($0)" } + (filter != nil ? ["regime"] : [])
                out.line((["instrument_id", "bar_start_ns"] + columns).joined(separator: ","))
            }
            try file.forEachEvent { e in
                guard e.action == Event.Action.trade else { return }
                guard let b = slots[e.instrumentId] ?? (slots.count < books ? slots.count : nil) else {
                    fail("\(path): more than \(books) instruments trade", code: 2)
                }
                slots[e.instrumentId] = b
                guard tracker.trade(book: b, event: e) != .none else { return }
                let x = (0..<config.inputs.count).map { "\(tracker.lastObservation[$0])" }
                let p = (0..<states).map { "\(tracker.probabilities(book: b)[$0])" }
                let start = tracker.lastBarStart(book: b)
                if json {
                    let tail =
                        filter != nil
                        ? ",\"p\":[\(p.joined(separator: ","))],\"regime\":\(tracker.regime(book: b))" : ""
                    out.line(
                        "{\"instrument_id\":\(e.instrumentId),\"bar_start_ns\":\(start),\"x\":[\(x.joined(separator: ","))]\(tail)}"
                    )
                } else {
                    let tail = filter != nil ? p + ["\(tracker.regime(book: b))"] : []
                    out.line((["\(e.instrumentId)", "\(start)"] + x + tail).joined(separator: ","))
                }
            }
            out.flush()
        } catch let error as ValidationError {
            fail(error.message, code: 2)
        } catch {
            fail("\(error)", code: 2)
        }
    }
}
