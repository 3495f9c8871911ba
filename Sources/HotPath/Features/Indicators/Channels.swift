/// Indicators the seeds name that TA-Lib does not have, each defined here in full (no
/// reference library computes them, so the tests hold them to these formulas). Per bar, over
/// the last n bars, summed afresh from the window (bars are rare; no running sum to drift).

/// Volume-weighted moving average: Σ close·volume / Σ volume over n bars (NaN until n bars, or
/// when the volume sums to 0).
public struct VWMA: Sendable {
    public let period: Int
    var closes: RollingWindow, volumes: RollingWindow
    public init(period: Int) {
        self.period = period
        closes = RollingWindow(capacity: period)
        volumes = RollingWindow(capacity: period)
    }
    public mutating func update(_ b: Bar) -> Double {
        closes.push(b.close)
        volumes.push(b.volume)
        guard closes.isFull else { return .nan }
        var pv = 0.0, v = 0.0
        for i in 0..<period {
            pv += closes.ago(i) * volumes.ago(i)
            v += volumes.ago(i)
        }
        return v != 0 ? pv / v : .nan
    }
}

/// Chaikin money flow: Σ multiplier·volume / Σ volume over n bars, the multiplier
/// ((close − low) − (high − close)) / (high − low), 0 for a bar with high = low (NaN until n
/// bars, or when the volume sums to 0).
public struct CMF: Sendable {
    public let period: Int
    var flows: RollingWindow, volumes: RollingWindow
    public init(period: Int) {
        self.period = period
        flows = RollingWindow(capacity: period)
        volumes = RollingWindow(capacity: period)
    }
    public mutating func update(_ b: Bar) -> Double {
        let range = b.high - b.low
        flows.push(range != 0 ? ((b.close - b.low) - (b.high - b.close)) / range * b.volume : 0)
        volumes.push(b.volume)
        guard flows.isFull else { return .nan }
        var f = 0.0, v = 0.0
        for i in 0..<period {
            f += flows.ago(i)
            v += volumes.ago(i)
        }
        return v != 0 ? f / v : .nan
    }
}

/// Keltner channels (the EMA-and-ATR form): middle = EMA(n) of the close, bands = middle ±
/// multiplier × ATR(m), both as TA-Lib computes them (`EMA`, `ATR`); NaN until both are defined.
public struct KELTNER: Sendable {
    var ema: EMA, atr: ATR
    let multiplier: Double
    public init(period: Int = 20, multiplier: Double = 2, atrPeriod: Int = 10) {
        ema = EMA(period: period)
        atr = ATR(period: atrPeriod)
        self.multiplier = multiplier
    }
    public mutating func update(_ b: Bar) -> (upper: Double, middle: Double, lower: Double) {
        let m = ema.update(b.close), a = atr.update(b)
        guard m.isFinite, a.isFinite else { return (.nan, .nan, .nan) }
        return (m + multiplier * a, m, m - multiplier * a)
    }
}
