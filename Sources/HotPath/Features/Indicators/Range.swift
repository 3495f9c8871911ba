/// True range from the second bar: the greatest of high − low and the distances of high and
/// low from the previous close.
public struct TRANGE: Sendable {
    var prevClose = Double.nan
    public init() {}
    public mutating func update(_ b: Bar) -> Double {
        defer { prevClose = b.close }
        if prevClose.isNaN { return .nan }
        var greatest = b.high - b.low
        let v2 = abs(prevClose - b.high)
        if v2 > greatest { greatest = v2 }
        let v3 = abs(prevClose - b.low)
        if v3 > greatest { greatest = v3 }
        return greatest
    }
}

/// Average true range (Wilder): seeded with the mean of the first n true ranges.
public struct ATR: Sendable {
    public let period: Int
    var tr = TRANGE()
    var seed = 0.0
    var count = 0
    public private(set) var value = Double.nan
    public init(period: Int) { self.period = period }
    public mutating func update(_ b: Bar) -> Double {
        let t = tr.update(b)
        if t.isNaN { return .nan }
        count += 1
        if count < period { seed += t; return .nan }
        if count == period {
            seed += t
            value = seed / Double(period)
        } else {
            value *= Double(period - 1)
            value += t
            value /= Double(period)
        }
        return value
    }
}

/// Normalised ATR: ATR / close · 100 (0 when close is 0).
public struct NATR: Sendable {
    var atr: ATR
    public init(period: Int) { atr = ATR(period: period) }
    public mutating func update(_ b: Bar) -> Double {
        let a = atr.update(b)
        if a.isNaN { return .nan }
        return taIsZero(b.close) ? 0 : (a / b.close) * 100.0
    }
}

/// Population variance over n: mean squared deviation from the window's mean (two passes
/// over the window). TA-Lib 0.6 agrees with this to ~1e-10 relative where its classic running
/// sums of x and x² drift by 3e-9 on these prices (measured on the fixtures), so the running
/// form is not used. O(n) per bar; n is small.
public struct VAR: Sendable {
    public let period: Int
    var window: RollingWindow
    public init(period: Int) { self.period = period; window = RollingWindow(capacity: period) }
    public mutating func update(_ x: Double) -> Double {
        window.push(x)
        guard window.isFull else { return .nan }
        var sum = 0.0
        for i in stride(from: period - 1, through: 0, by: -1) { sum += window.ago(i) }
        let mean = sum / Double(period)
        var sq = 0.0
        for i in stride(from: period - 1, through: 0, by: -1) {
            let d = window.ago(i) - mean
            sq += d * d
        }
        return sq / Double(period)
    }
}

/// Standard deviation: sqrt(VAR)·k, 0 when the variance is not positive.
public struct STDDEV: Sendable {
    var variance: VAR
    let deviations: Double
    public init(period: Int, deviations: Double = 1) { variance = VAR(period: period); self.deviations = deviations }
    public mutating func update(_ x: Double) -> Double {
        let v = variance.update(x)
        if v.isNaN { return .nan }
        if taIsZeroOrNeg(v) { return 0 }
        return deviations == 1 ? v.squareRoot() : v.squareRoot() * deviations
    }
}

/// Bollinger bands around an SMA, population standard deviation from the window's mean square.
public struct BBANDS: Sendable {
    public let period: Int
    var sma: SMA
    var window: RollingWindow
    var total2 = 0.0
    let up: Double, down: Double
    public init(period: Int = 20, up: Double = 2, down: Double = 2) {
        self.period = period
        sma = SMA(period: period)
        window = RollingWindow(capacity: period)
        self.up = up
        self.down = down
    }
    public mutating func update(_ x: Double) -> (upper: Double, middle: Double, lower: Double) {
        let m = sma.update(x)
        total2 += x * x
        window.push(x)
        guard !m.isNaN else { return (.nan, .nan, .nan) }
        var mean2 = total2 / Double(period)
        let old = window.ago(period - 1)
        total2 -= old * old
        mean2 -= m * m
        let sd = taIsZeroOrNeg(mean2) ? 0 : mean2.squareRoot()
        if up == down {
            let w = sd * up
            return (m + w, m, m - w)
        }
        return (m + sd * up, m, m - sd * down)
    }
}
