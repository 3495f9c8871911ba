/// The configured indicator columns of the feature vector (`[features] bars` and the indicator
/// entries of `[features] vector`): TA-Lib indicators, by TA-Lib's name and parameters, and
/// VWMA, CMF and KELTNER (not in TA-Lib; Channels.swift defines them), on named bar series, as
/// in `"RSI(14)@1m"`, `"MACD(12,26,9).hist@5m"`, `"OBV@vol:1000"`.
///
/// Design:
/// - `Config` is parsed once at load. Columns that share an indicator (`MACD(12,26,9).macd@5m`
///   and `.hist@5m`) share one state, which writes every output a column asks for.
/// - Per instrument, `State` holds one `BarBuilder` per series and one `IndicatorSlot` per
///   indicator, in arena memory carved at start. A slot's indicator is a closed enum of the
///   indicator structs (`hotpath indicators`' own), so stepping one is a switch: no existential,
///   no reference count, no allocation (the structs' small windows are allocated when built).
/// - A trade extends each series' open bar; a bar that closes steps its series' indicators
///   once, and they write their values into the instrument's row at fixed offsets, where book
///   events find them (as the fixed vector's `bar_*` values are carried).
/// Series run on the feature clock (`MicrostructureFeatures.Config.exchangeTime`). A volume bar
/// series takes at most `maxBarsPerTrade` bars from one trade; a larger trade is skipped for
/// that series and counted in `oversizedTrades`, so one bad size cannot stall the engine thread.
public enum IndicatorColumns {
    /// The indicators a column can name: TA-Lib's function names, and three more.
    public enum Kind: String, CaseIterable, Sendable {
        case SMA, EMA, WMA, DEMA, TEMA, TRIMA, KAMA, TRIX
        case RSI, CMO, ROC, MOM, MACD
        case VAR, STDDEV, BBANDS, TRANGE, ATR, NATR
        case STOCH, STOCHF, WILLR, AROON, CCI
        case OBV, AD, ADOSC, MFI
        case ADX, PLUS_DI, MINUS_DI
        /// Not in TA-Lib: defined in Channels.swift.
        case VWMA, CMF, KELTNER

        /// Parameters with TA-Lib's defaults and least values, in TA-Lib's order.
        var parameters: [(name: String, value: Double, least: Double)] {
            switch self {
            case .SMA, .EMA, .WMA, .DEMA, .TEMA, .TRIMA, .KAMA, .TRIX: [("timeperiod", 30, 2)]
            case .RSI, .CMO, .ATR, .NATR, .WILLR, .AROON, .CCI, .MFI, .ADX, .PLUS_DI, .MINUS_DI:
                [("timeperiod", 14, 2)]
            case .ROC, .MOM: [("timeperiod", 10, 1)]
            case .VAR: [("timeperiod", 5, 1)]
            case .STDDEV: [("timeperiod", 5, 2), ("nbdev", 1, -1e6)]
            case .BBANDS: [("timeperiod", 5, 2), ("nbdevup", 2, -1e6), ("nbdevdn", 2, -1e6)]
            case .MACD: [("fastperiod", 12, 2), ("slowperiod", 26, 2), ("signalperiod", 9, 1)]
            case .STOCH: [("fastk_period", 5, 1), ("slowk_period", 3, 1), ("slowd_period", 3, 1)]
            case .STOCHF: [("fastk_period", 5, 1), ("fastd_period", 3, 1)]
            case .ADOSC: [("fastperiod", 3, 2), ("slowperiod", 10, 2)]
            case .TRANGE, .OBV, .AD: []
            case .VWMA, .CMF: [("timeperiod", 20, 2)]
            case .KELTNER: [("timeperiod", 20, 2), ("multiplier", 2, -1e6), ("atrperiod", 10, 2)]
            }
        }

        /// Output names, for the indicators with more than one.
        var outputs: [String] {
            switch self {
            case .MACD: ["macd", "signal", "hist"]
            case .BBANDS, .KELTNER: ["upper", "middle", "lower"]
            case .STOCH, .STOCHF: ["k", "d"]
            case .AROON: ["down", "up"]
            default: []
            }
        }
    }

    /// One bar series: its name as declared (`"1m"`, `"vol:1000"`) and how bars form.
    public struct Series: Sendable, Equatable {
        public var name: String
        public var mode: BarBuilder.Mode
    }

    /// One indicator state per instrument: the kind, its parameters, its series.
    public struct Indicator: Sendable, Equatable {
        public var kind: Kind
        public var parameters: [Double]
        public var series: Int
    }

    /// One column: its name as written in `vector`, its indicator and which output.
    public struct Column: Sendable, Equatable {
        public var name: String
        public var indicator: Int
        public var output: Int
    }

    public struct Config: Sendable, Equatable {
        public var series: [Series] = []
        public var indicators: [Indicator] = []
        public var columns: [Column] = []
        /// Bars a volume series takes from one trade at most (see the type's comment).
        public var maxBarsPerTrade = 4096
        public init() {}

        /// Declares the bar series `text` (an entry of `bars`).
        public mutating func declare(_ text: String) throws(Refusal) {
            guard let mode = IndicatorColumns.barMode(text) else {
                throw Refusal("\"\(text)\" is not a bar series (e.g. 500ms, 1s, 5m, 1h, 1d, vol:1000)")
            }
            guard !series.contains(where: { $0.name == text }) else { throw Refusal("\"\(text)\" is declared twice") }
            series.append(Series(name: text, mode: mode))
        }

        /// Adds the column `text` ("NAME(p, …)[.output]@series"); its index is the count before.
        public mutating func add(_ text: String) throws(Refusal) {
            let spec = text.filter { $0 != " " }
            guard let at = spec.lastIndex(of: "@") else {
                throw Refusal("\"\(text)\" names no bar series (e.g. \"RSI(14)@1m\")")
            }
            let seriesName = String(spec[spec.index(after: at)...])
            guard let s = series.firstIndex(where: { $0.name == seriesName }) else {
                let declared = series.isEmpty ? "none" : series.map(\.name).joined(separator: ", ")
                throw Refusal("bar series \"\(seriesName)\" is not in features.bars (declared: \(declared))")
            }
            // An output follows the parameters: the first "." after the last ")".
            var head = Substring(spec[..<at]), outputName: Substring? = nil
            let afterParameters = head.lastIndex(of: ")").map { head.index(after: $0) } ?? head.startIndex
            if let dot = head[afterParameters...].firstIndex(of: ".") {
                outputName = head[head.index(after: dot)...]
                head = head[..<dot]
            }
            var nameEnd = head.endIndex, arguments: [Substring] = []
            if let open = head.firstIndex(of: "(") {
                guard head.last == ")" else { throw Refusal("\"\(text)\": unclosed parenthesis") }
                nameEnd = open
                let inner = head[head.index(after: open)..<head.index(before: head.endIndex)]
                arguments = inner.isEmpty ? [] : inner.split(separator: ",", omittingEmptySubsequences: false)
            }
            let name = String(head[..<nameEnd])
            guard let kind = Kind(rawValue: name.uppercased()) else {
                throw Refusal(
                    "unknown indicator \"\(name)\" (known: \(Kind.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            let formal = kind.parameters
            guard arguments.count <= formal.count else {
                throw Refusal(
                    "\(kind.rawValue) takes \(formal.count) parameters (\(formal.map(\.name).joined(separator: ", ")))")
            }
            var values = formal.map(\.value)
            for (i, a) in arguments.enumerated() {
                guard let v = Double(a), v.isFinite else {
                    throw Refusal("\(kind.rawValue): \(formal[i].name) \"\(a)\" is not a number")
                }
                let integral = formal[i].least >= 1
                guard !integral || (v == v.rounded() && v >= formal[i].least && v <= 100_000) else {
                    throw Refusal(
                        "\(kind.rawValue): \(formal[i].name) \(a) is not a whole number in \(Int(formal[i].least))...100000"
                    )
                }
                guard integral || abs(v) <= 1e6 else {
                    throw Refusal("\(kind.rawValue): \(formal[i].name) \(a) is not in -1000000...1000000")
                }
                values[i] = v
            }
            if kind == .MACD && values[0] >= values[1] {
                throw Refusal("MACD: fastperiod \(Int(values[0])) must be below slowperiod \(Int(values[1]))")
            }
            if kind == .ADOSC && values[0] > values[1] {
                throw Refusal("ADOSC: fastperiod \(Int(values[0])) must not be above slowperiod \(Int(values[1]))")
            }
            var output = 0
            let outputs = kind.outputs
            if let outputName {
                guard let o = outputs.firstIndex(of: String(outputName).lowercased()) else {
                    throw Refusal(
                        outputs.isEmpty
                            ? "\(kind.rawValue) has one output: drop \".\(outputName)\""
                            : "\(kind.rawValue) has no output \"\(outputName)\" (outputs: \(outputs.joined(separator: ", ")))"
                    )
                }
                output = o
            } else if !outputs.isEmpty {
                throw Refusal(
                    "\(kind.rawValue) has outputs \(outputs.joined(separator: ", ")): name one, as in \"\(kind.rawValue)(…).\(outputs.last!)@\(seriesName)\""
                )
            }
            guard !columns.contains(where: { $0.name == text }) else { throw Refusal("\"\(text)\" is listed twice") }
            let indicator = Indicator(kind: kind, parameters: values, series: s)
            let k = indicators.firstIndex(of: indicator) ?? indicators.count
            if k == indicators.count { indicators.append(indicator) }
            columns.append(Column(name: text, indicator: k, output: output))
        }
    }

    /// Why an entry of `bars` or `vector` is refused (the config names the entry).
    public struct Refusal: Error, Sendable, CustomStringConvertible {
        public var description: String
        /// The config key at fault, where the caller reads several.
        public var key: String? = nil
        init(_ reason: String, key: String? = nil) { (description, self.key) = (reason, key) }
    }

    /// Whether `text` could only be an indicator column (it names a bar series).
    public static func isIndicator(_ text: String) -> Bool { text.contains("@") }

    /// "500ms", "1s", "5m", "1h", "1d" → time bars; "vol:N" → volume bars.
    static func barMode(_ text: String) -> BarBuilder.Mode? {
        if text.hasPrefix("vol:") {
            guard let v = Double(text.dropFirst(4)), v.isFinite, v > 0 else { return nil }
            return .volume(v)
        }
        for (unit, seconds) in [("ms", 1e-3), ("s", 1.0), ("m", 60.0), ("h", 3_600.0), ("d", 86_400.0)]
        where text.hasSuffix(unit) {
            guard let n = Double(text.dropLast(unit.count)), n.isFinite, n > 0 else { return nil }
            let s = n * seconds
            return s >= 1e-3 && s <= 7 * 86_400 ? .time(seconds: s) : nil
        }
        return nil
    }

    /// One instrument's series builders and indicator slots, in arena memory.
    public struct State: @unchecked Sendable {
        let builders: UnsafeMutablePointer<BarBuilder>
        let slots: UnsafeMutablePointer<IndicatorSlot>
        let seriesCount: Int, slotCount: Int
        let maxBarsPerTrade: Double
        /// Trades a volume series skipped (over `maxBarsPerTrade` bars): one count for every
        /// instrument (`EventPath`'s `features.oversized_trades`).
        let oversizedTrades: UnsafeMutablePointer<UInt64>

        static func arenaBytes(_ c: Config) -> Int {
            Arena.footprint(BarBuilder.self, count: c.series.count)
                + Arena.footprint(IndicatorSlot.self, count: c.indicators.count)
        }

        /// `offset`: where this state's first column goes in the instrument's row.
        init(
            _ c: Config, offset: Int, oversizedTrades: UnsafeMutablePointer<UInt64>, arena: Arena
        ) throws(ArenaError) {
            self.oversizedTrades = oversizedTrades
            seriesCount = c.series.count
            slotCount = c.indicators.count
            maxBarsPerTrade = Double(c.maxBarsPerTrade)
            builders = try arena.allocate(BarBuilder.self, count: max(seriesCount, 1))
            for (i, s) in c.series.enumerated() { (builders + i).initialize(to: BarBuilder(mode: s.mode)) }
            slots = try arena.allocate(IndicatorSlot.self, count: max(slotCount, 1))
            for (k, ind) in c.indicators.enumerated() {
                var out = SIMD4<Int32>(repeating: -1)
                for (j, col) in c.columns.enumerated() where col.indicator == k {
                    out[col.output] = Int32(offset + j)
                }
                (slots + k).initialize(
                    to: IndicatorSlot(state: IndicatorState(ind), series: Int32(ind.series), outputs: out))
            }
        }

        /// A trade into every series; each bar that closes steps its series' indicators, which
        /// write into `row`.
        @inline(__always)
        func trade(price: Double, size: Double, at t: UInt64, row: UnsafeMutablePointer<Double>) {
            for s in 0..<seriesCount {
                if case let .volume(v) = builders[s].mode,
                    (builders[s].openVolume + size) / v > maxBarsPerTrade
                {
                    oversizedTrades.pointee &+= 1
                    continue
                }
                builders[s].trade(price: price, size: size, at: t) { bar in close(bar, series: s, row: row) }
            }
        }

        @inline(never)
        func close(_ bar: Bar, series s: Int, row: UnsafeMutablePointer<Double>) {
            guard bar.open.isFinite, bar.high.isFinite, bar.low.isFinite, bar.close.isFinite, bar.volume.isFinite
            else { return }
            for k in 0..<slotCount where slots[k].series == s { slots[k].step(bar, row: row) }
        }
    }
}

/// One indicator of one instrument: its state, its series, and where its outputs go (−1 for an
/// output no column takes).
struct IndicatorSlot: Sendable {
    var state: IndicatorState
    let series: Int32
    let outputs: SIMD4<Int32>

    @inline(__always)
    mutating func step(_ bar: Bar, row: UnsafeMutablePointer<Double>) {
        let v = state.update(bar)
        if outputs[0] >= 0 { row[Int(outputs[0])] = v.0 }
        if outputs[1] >= 0 { row[Int(outputs[1])] = v.1 }
        if outputs[2] >= 0 { row[Int(outputs[2])] = v.2 }
    }
}

/// The indicator structs, as one closed type (see `IndicatorColumns`).
enum IndicatorState: Sendable {
    case sma(SMA), ema(EMA), wma(WMA), dema(DEMA), tema(TEMA), trima(TRIMA), kama(KAMA), trix(TRIX)
    case rsi(RSI), cmo(CMO), roc(ROC), mom(MOM), macd(MACD)
    case variance(VAR), stddev(STDDEV), bbands(BBANDS), trange(TRANGE), atr(ATR), natr(NATR)
    case stoch(STOCH), stochf(STOCHF), willr(WILLR), aroon(AROON), cci(CCI)
    case obv(OBV), ad(AD), adosc(ADOSC), mfi(MFI)
    case adx(ADX), plusDI(PLUS_DI), minusDI(MINUS_DI)
    case vwma(VWMA), cmf(CMF), keltner(KELTNER)

    init(_ i: IndicatorColumns.Indicator) {
        let p = i.parameters.map { Int($0) }, q = i.parameters
        switch i.kind {
        case .SMA: self = .sma(SMA(period: p[0]))
        case .EMA: self = .ema(EMA(period: p[0]))
        case .WMA: self = .wma(WMA(period: p[0]))
        case .DEMA: self = .dema(DEMA(period: p[0]))
        case .TEMA: self = .tema(TEMA(period: p[0]))
        case .TRIMA: self = .trima(TRIMA(period: p[0]))
        case .KAMA: self = .kama(KAMA(period: p[0]))
        case .TRIX: self = .trix(TRIX(period: p[0]))
        case .RSI: self = .rsi(RSI(period: p[0]))
        case .CMO: self = .cmo(CMO(period: p[0]))
        case .ROC: self = .roc(ROC(period: p[0]))
        case .MOM: self = .mom(MOM(period: p[0]))
        case .MACD: self = .macd(MACD(fast: p[0], slow: p[1], signal: p[2]))
        case .VAR: self = .variance(VAR(period: p[0]))
        case .STDDEV: self = .stddev(STDDEV(period: p[0], deviations: q[1]))
        case .BBANDS: self = .bbands(BBANDS(period: p[0], up: q[1], down: q[2]))
        case .TRANGE: self = .trange(TRANGE())
        case .ATR: self = .atr(ATR(period: p[0]))
        case .NATR: self = .natr(NATR(period: p[0]))
        case .STOCH: self = .stoch(STOCH(fastK: p[0], slowK: p[1], slowD: p[2]))
        case .STOCHF: self = .stochf(STOCHF(fastK: p[0], fastD: p[1]))
        case .WILLR: self = .willr(WILLR(period: p[0]))
        case .AROON: self = .aroon(AROON(period: p[0]))
        case .CCI: self = .cci(CCI(period: p[0]))
        case .OBV: self = .obv(OBV())
        case .AD: self = .ad(AD())
        case .ADOSC: self = .adosc(ADOSC(fast: p[0], slow: p[1]))
        case .MFI: self = .mfi(MFI(period: p[0]))
        case .ADX: self = .adx(ADX(period: p[0]))
        case .PLUS_DI: self = .plusDI(PLUS_DI(period: p[0]))
        case .MINUS_DI: self = .minusDI(MINUS_DI(period: p[0]))
        case .VWMA: self = .vwma(VWMA(period: p[0]))
        case .CMF: self = .cmf(CMF(period: p[0]))
        case .KELTNER: self = .keltner(KELTNER(period: p[0], multiplier: q[1], atrPeriod: p[2]))
        }
    }

    /// Steps the indicator with a closed bar: its outputs, in `Kind.outputs` order.
    mutating func update(_ b: Bar) -> (Double, Double, Double) {
        let c = b.close, n = Double.nan
        switch self {
        case var .sma(s): defer { self = .sma(s) }; return (s.update(c), n, n)
        case var .ema(s): defer { self = .ema(s) }; return (s.update(c), n, n)
        case var .wma(s): defer { self = .wma(s) }; return (s.update(c), n, n)
        case var .dema(s): defer { self = .dema(s) }; return (s.update(c), n, n)
        case var .tema(s): defer { self = .tema(s) }; return (s.update(c), n, n)
        case var .trima(s): defer { self = .trima(s) }; return (s.update(c), n, n)
        case var .kama(s): defer { self = .kama(s) }; return (s.update(c), n, n)
        case var .trix(s): defer { self = .trix(s) }; return (s.update(c), n, n)
        case var .rsi(s): defer { self = .rsi(s) }; return (s.update(c), n, n)
        case var .cmo(s): defer { self = .cmo(s) }; return (s.update(c), n, n)
        case var .roc(s): defer { self = .roc(s) }; return (s.update(c), n, n)
        case var .mom(s): defer { self = .mom(s) }; return (s.update(c), n, n)
        case var .macd(s):
            defer { self = .macd(s) }
            let m = s.update(c)
            return (m.macd, m.signal, m.histogram)
        case var .variance(s): defer { self = .variance(s) }; return (s.update(c), n, n)
        case var .stddev(s): defer { self = .stddev(s) }; return (s.update(c), n, n)
        case var .bbands(s):
            defer { self = .bbands(s) }
            let v = s.update(c)
            return (v.upper, v.middle, v.lower)
        case var .trange(s): defer { self = .trange(s) }; return (s.update(b), n, n)
        case var .atr(s): defer { self = .atr(s) }; return (s.update(b), n, n)
        case var .natr(s): defer { self = .natr(s) }; return (s.update(b), n, n)
        case var .stoch(s):
            defer { self = .stoch(s) }
            let v = s.update(b)
            return (v.k, v.d, n)
        case var .stochf(s):
            defer { self = .stochf(s) }
            let v = s.update(b)
            return (v.k, v.d, n)
        case var .willr(s): defer { self = .willr(s) }; return (s.update(b), n, n)
        case var .aroon(s):
            defer { self = .aroon(s) }
            let v = s.update(b)
            return (v.down, v.up, n)
        case var .cci(s): defer { self = .cci(s) }; return (s.update(b), n, n)
        case var .obv(s): defer { self = .obv(s) }; return (s.update(b), n, n)
        case var .ad(s): defer { self = .ad(s) }; return (s.update(b), n, n)
        case var .adosc(s): defer { self = .adosc(s) }; return (s.update(b), n, n)
        case var .mfi(s): defer { self = .mfi(s) }; return (s.update(b), n, n)
        case var .adx(s): defer { self = .adx(s) }; return (s.update(b), n, n)
        case var .plusDI(s): defer { self = .plusDI(s) }; return (s.update(b), n, n)
        case var .minusDI(s): defer { self = .minusDI(s) }; return (s.update(b), n, n)
        case var .vwma(s): defer { self = .vwma(s) }; return (s.update(b), n, n)
        case var .cmf(s): defer { self = .cmf(s) }; return (s.update(b), n, n)
        case var .keltner(s):
            defer { self = .keltner(s) }
            let v = s.update(b)
            return (v.upper, v.middle, v.lower)
        }
    }
}
