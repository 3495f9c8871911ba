/// Relative strength index (Wilder), TA-Lib's seeding: mean gain and loss over the first n
/// changes, then prev = (prev·(n−1) + x)/n; 0 when gain + loss is zero.
public struct RSI: Sendable {
    public let period: Int
    var prevValue = 0.0, prevGain = 0.0, prevLoss = 0.0
    var seen = 0
    /// CMO instead: 100·(gain − loss)/(gain + loss).
    let cmo: Bool

    public init(period: Int) { self.period = period; cmo = false }
    init(period: Int, cmo: Bool) { self.period = period; self.cmo = cmo }

    public mutating func update(_ x: Double) -> Double {
        seen += 1
        if seen == 1 { prevValue = x; return .nan }
        let diff = x - prevValue
        prevValue = x
        let n = Double(period)
        if seen <= period + 1 {
            if diff < 0 { prevLoss -= diff } else { prevGain += diff }
            if seen < period + 1 { return .nan }
            prevLoss /= n
            prevGain /= n
        } else {
            prevLoss *= n - 1
            prevGain *= n - 1
            if diff < 0 { prevLoss -= diff } else { prevGain += diff }
            prevLoss /= n
            prevGain /= n
        }
        let total = prevGain + prevLoss
        if taIsZero(total) { return 0 }
        return cmo ? 100.0 * ((prevGain - prevLoss) / total) : 100.0 * (prevGain / total)
    }
}

/// Chande momentum oscillator (TA-Lib: RSI's smoothing, (gain − loss)/(gain + loss)).
public struct CMO: Sendable {
    var rsi: RSI
    public init(period: Int) { rsi = RSI(period: period, cmo: true) }
    public mutating func update(_ x: Double) -> Double { rsi.update(x) }
}

/// MACD(fast, slow, signal): the fast EMA is seeded on the bars that end where the slow one's
/// seed ends (TA-Lib), the signal EMA is seeded with the mean of the first `signal` MACD values.
public struct MACD: Sendable {
    var fast: EMA, slow: EMA, signal: EMA
    let skip: Int
    var seen = 0

    public init(fast: Int = 12, slow: Int = 26, signal: Int = 9) {
        self.fast = EMA(period: fast)
        self.slow = EMA(period: slow)
        self.signal = EMA(period: signal)
        skip = slow - fast
    }

    public mutating func update(_ x: Double) -> (macd: Double, signal: Double, histogram: Double) {
        seen += 1
        let s = slow.update(x)
        let f = seen > skip ? fast.update(x) : .nan
        if s.isNaN || f.isNaN { return (.nan, .nan, .nan) }
        let m = f - s
        let sig = signal.update(m)
        if sig.isNaN { return (.nan, .nan, .nan) }
        return (m, sig, m - sig)
    }
}

/// Rate of change: ((x / x[n ago]) − 1)·100, 0 when the old value is 0.
public struct ROC: Sendable {
    public let period: Int
    var window: RollingWindow
    public init(period: Int) { self.period = period; window = RollingWindow(capacity: period + 1) }
    public mutating func update(_ x: Double) -> Double {
        window.push(x)
        guard window.isFull else { return .nan }
        let old = window.ago(period)
        return old != 0 ? ((x / old) - 1.0) * 100.0 : 0
    }
}

/// Momentum: x − x[n ago].
public struct MOM: Sendable {
    public let period: Int
    var window: RollingWindow
    public init(period: Int) { self.period = period; window = RollingWindow(capacity: period + 1) }
    public mutating func update(_ x: Double) -> Double {
        window.push(x)
        return window.isFull ? x - window.ago(period) : .nan
    }
}

/// TRIX: one-bar rate of change of a triple EMA.
public struct TRIX: Sendable {
    var emas: TripleEMA
    var prev = Double.nan
    public init(period: Int) { emas = TripleEMA(period: period) }
    public mutating func update(_ x: Double) -> Double {
        guard let (_, _, c) = emas.update(x) else { return .nan }
        defer { prev = c }
        if prev.isNaN { return .nan }
        return prev != 0 ? ((c / prev) - 1.0) * 100.0 : 0
    }
}
