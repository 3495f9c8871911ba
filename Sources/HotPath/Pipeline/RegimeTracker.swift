#if canImport(Glibc)
import Glibc
#endif

/// The market regime per instrument (`[regimes]`): time bars of each instrument's trades, in
/// exchange time, whose observations step a Gaussian HMM forward filter (hmmlearn's
/// parameters, `GaussianHMMFilter`), optionally with GARCH(1,1); the regime is the filter's
/// argmax state behind `RegimeHysteresis`. The engine reads `regime(book:)` to pick each
/// regime's ensemble weights and risk (`EngineConfig.Regimes`); `hotpath regime --feed` runs
/// the same type over a file, so the bars a model is fitted on are the bars the engine sees.
///
/// A bar's observation, in `inputs` order (the HMM's feature order):
/// - `return`: 10⁴ · ln(close / the previous bar's close), basis points;
/// - `range`: 10⁴ · ln(high / low);
/// - `log_volume`: ln(volume);
/// - `garch_vol`: √ of GARCH's variance for the next bar, after this bar's return.
/// An instrument's first bar has no return: it only sets the close. A bar closes when the first
/// trade of a later period comes (`BarBuilder`). Without an HMM the tracker only makes the
/// observations (for fitting one). Sized at start; `trade` allocates nothing.
public struct RegimeTracker: @unchecked Sendable {
    public enum Input: String, CaseIterable, Sendable {
        case returnBps = "return", range, logVolume = "log_volume", garchVol = "garch_vol"
    }

    public struct Config: Sendable {
        public var inputs: [Input] = [.returnBps, .range, .logVolume]
        public var barSeconds = 1.0
        public var hold = 0.65
        public var holdBars = 2
        public init() {}
    }

    let hmm: GaussianHMMFilter?
    let garch: GARCH11?
    /// The HMM's states (1 without one).
    public let states: Int
    let books: Int
    let builders: UnsafeMutablePointer<BarBuilder>
    let closes: UnsafeMutablePointer<Double>
    let probabilities: UnsafeMutablePointer<Double>
    let variances: UnsafeMutablePointer<GARCH11>
    let hysteresis: UnsafeMutablePointer<RegimeHysteresis>
    /// Per book: bars observed (the first bar of each is not), and the last observed bar's
    /// period start in exchange nanoseconds.
    let observed: UnsafeMutablePointer<Int>
    let barStarts: UnsafeMutablePointer<UInt64>
    let row: UnsafeMutablePointer<Double>
    let scratch: UnsafeMutablePointer<Double>
    let inputs: UnsafeMutablePointer<Input>
    let inputCount: Int
    let periodNs: UInt64

    /// nil, with the reason, when the HMM does not fit the inputs.
    public static func check(_ config: Config, hmm: GaussianHMMFilter?, garch: GARCH11?) -> String? {
        if config.inputs.isEmpty { return "no inputs" }
        if let hmm, hmm.features != config.inputs.count {
            return
                "the HMM has \(hmm.features) features for \(config.inputs.count) inputs (\(config.inputs.map(\.rawValue)))"
        }
        if config.inputs.contains(.garchVol) && garch == nil { return "input garch_vol needs a garch file" }
        return nil
    }

    public init(
        _ config: Config, hmm: GaussianHMMFilter?, garch: GARCH11?, books: Int, arena: Arena
    ) throws(ArenaError) {
        precondition(Self.check(config, hmm: hmm, garch: garch) == nil, "RegimeTracker: check the config first")
        self.hmm = hmm
        self.garch = garch
        self.books = books
        states = hmm?.states ?? 1
        builders = try arena.allocate(BarBuilder.self, count: books)
        builders.initialize(repeating: BarBuilder(mode: .time(seconds: config.barSeconds)), count: books)
        closes = try arena.allocate(Double.self, count: books)
        closes.initialize(repeating: .nan, count: books)
        probabilities = try arena.allocate(Double.self, count: books * states)
        probabilities.initialize(repeating: 0, count: books * states)
        variances = try arena.allocate(GARCH11.self, count: books)
        variances.initialize(repeating: garch ?? GARCH11(mu: 0, omega: 0, alpha: 0, beta: 0, backcast: 0), count: books)
        hysteresis = try arena.allocate(RegimeHysteresis.self, count: books)
        hysteresis.initialize(repeating: RegimeHysteresis(hold: config.hold, bars: config.holdBars), count: books)
        observed = try arena.allocate(Int.self, count: books)
        observed.initialize(repeating: 0, count: books)
        barStarts = try arena.allocate(UInt64.self, count: books)
        barStarts.initialize(repeating: 0, count: books)
        row = try arena.allocate(Double.self, count: config.inputs.count)
        inputCount = config.inputs.count
        scratch = try arena.allocate(Double.self, count: states)
        inputs = try arena.allocate(Input.self, count: inputCount)
        inputs.initialize(from: config.inputs, count: inputCount)
        periodNs = max(1, UInt64(config.barSeconds * 1e9))
    }

    /// The regime of book `b` (a state index), or −1 before its first observed bar.
    @inline(__always)
    public func regime(book b: Int) -> Int { hysteresis[b].regime }

    public func bars(book b: Int) -> Int { observed[b] }
    public func switches(book b: Int) -> Int { hysteresis[b].switches }
    /// The period start of book `b`'s last observed bar, exchange nanoseconds.
    public func lastBarStart(book b: Int) -> UInt64 { barStarts[b] }
    public func probabilities(book b: Int) -> UnsafePointer<Double> { UnsafePointer(probabilities + b * states) }
    public func variance(book b: Int) -> Double { variances[b].variance }
    /// The observation of book `b`'s last observed bar, in `inputs` order (one row, shared).
    public var lastObservation: UnsafePointer<Double> { UnsafePointer(row) }

    /// What a trade did: nothing beyond its bar, or closed a bar that stepped the filter, and
    /// perhaps switched the regime.
    public enum Step { case none, bar, switched }

    /// A trade of book `b`.
    @inline(__always)
    public func trade(book b: Int, event e: Event) -> Step {
        guard e.price != Event.undefinedPrice, e.size > 0 else { return .none }
        var closed: Bar? = nil
        builders[b].trade(price: Double(e.price) / 1e9, size: Double(e.size), at: e.tsEvent) { closed = $0 }
        guard let bar = closed else { return .none }
        return observe(bar, book: b)
    }

    @inline(__always)
    func observe(_ bar: Bar, book b: Int) -> Step {
        let previous = closes[b]
        closes[b] = bar.close
        guard previous > 0, bar.close > 0, bar.low > 0 else { return .none }
        let r = 1e4 * log(bar.close / previous)
        let vol = garch != nil ? variances[b].update(r) : 0
        for i in 0..<inputCount {
            switch inputs[i] {
            case .returnBps: row[i] = r
            case .range: row[i] = 1e4 * log(bar.high / bar.low)
            case .logVolume: row[i] = log(bar.volume)
            case .garchVol: row[i] = vol.squareRoot()
            }
        }
        observed[b] += 1
        barStarts[b] = builders[b].closedPeriod &* periodNs
        guard let hmm else { return .bar }
        let p = probabilities + b * states
        hmm.step(row, state: p, first: observed[b] == 1, scratch: scratch)
        let switches = hysteresis[b].switches
        _ = hysteresis[b].update(p, states: states)
        return hysteresis[b].switches != switches ? .switched : .bar
    }
}
