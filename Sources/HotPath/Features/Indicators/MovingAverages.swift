/// Simple moving average, TA-Lib's running total: add the newest, output, subtract the oldest.
public struct SMA: Sendable {
    public let period: Int
    var window: RollingWindow  // the last period − 1 values
    var total = 0.0
    var seen = 0

    public init(period: Int) {
        self.period = period
        window = RollingWindow(capacity: max(period - 1, 1))
    }

    public mutating func update(_ x: Double) -> Double {
        seen += 1
        let t = total + x
        guard seen >= period else {
            total = t
            window.push(x)
            return .nan
        }
        let out = t / Double(period)
        total = t - (period > 1 ? window.ago(period - 2) : x)
        if period > 1 { window.push(x) }
        return out
    }
}

/// Exponential moving average, k = 2/(n+1), seeded with the simple average of its first n
/// values (TA-Lib's default); then prev = ((x − prev)·k) + prev.
public struct EMA: Sendable {
    public let period: Int
    public let k: Double
    var seedSum = 0.0
    var seen = 0
    public private(set) var value = Double.nan

    public init(period: Int) {
        self.period = period
        k = 2.0 / Double(period + 1)
    }

    public mutating func update(_ x: Double) -> Double {
        seen += 1
        if seen < period {
            seedSum += x
            return .nan
        }
        if seen == period {
            seedSum += x
            value = seedSum / Double(period)
        } else {
            value = ((x - value) * k) + value
        }
        return value
    }
}

/// Weighted moving average (weights 1…n), TA-Lib's running periodSum / periodSub.
public struct WMA: Sendable {
    public let period: Int
    var window: RollingWindow
    var periodSum = 0.0, periodSub = 0.0, trailing = 0.0
    var seen = 0

    public init(period: Int) {
        self.period = period
        window = RollingWindow(capacity: period)
    }

    public mutating func update(_ x: Double) -> Double {
        seen += 1
        window.push(x)
        if seen < period {
            periodSub += x
            periodSum += x * Double(seen)
            return .nan
        }
        periodSub += x
        periodSub -= trailing
        periodSum += x * Double(period)
        trailing = window.ago(period - 1)
        let out = periodSum / Double((period * (period + 1)) >> 1)
        periodSum -= periodSub
        return out
    }
}

/// Double EMA: 2·EMA − EMA(EMA).
public struct DEMA: Sendable {
    var e1: EMA, e2: EMA
    public init(period: Int) { e1 = EMA(period: period); e2 = EMA(period: period) }
    public mutating func update(_ x: Double) -> Double {
        let a = e1.update(x)
        if a.isNaN { return .nan }
        let b = e2.update(a)
        return b.isNaN ? .nan : (2.0 * a) - b
    }
}

/// EMA, EMA of it and EMA of that, each seeded as TA-Lib seeds it (TEMA and TRIX).
struct TripleEMA: Sendable {
    var e1: EMA, e2: EMA, e3: EMA
    init(period: Int) { e1 = EMA(period: period); e2 = EMA(period: period); e3 = EMA(period: period) }
    /// The three EMAs once the third is defined.
    mutating func update(_ x: Double) -> (Double, Double, Double)? {
        let a = e1.update(x)
        if a.isNaN { return nil }
        let b = e2.update(a)
        if b.isNaN { return nil }
        let c = e3.update(b)
        return c.isNaN ? nil : (a, b, c)
    }
}

/// Triple EMA: 3·EMA − 3·EMA(EMA) + EMA(EMA(EMA)).
public struct TEMA: Sendable {
    var emas: TripleEMA
    public init(period: Int) { emas = TripleEMA(period: period) }
    public mutating func update(_ x: Double) -> Double {
        guard let (a, b, c) = emas.update(x) else { return .nan }
        return (3.0 * a) - (3.0 * b) + c
    }
}

/// Triangular moving average: an SMA of an SMA (odd n: both (n+1)/2; even n: n/2 then n/2+1).
public struct TRIMA: Sendable {
    var first: SMA, second: SMA
    public init(period: Int) {
        if period % 2 == 1 {
            first = SMA(period: (period + 1) / 2); second = SMA(period: (period + 1) / 2)
        } else {
            first = SMA(period: period / 2); second = SMA(period: period / 2 + 1)
        }
    }
    public mutating func update(_ x: Double) -> Double {
        let a = first.update(x)
        return a.isNaN ? .nan : second.update(a)
    }
}

/// Kaufman adaptive moving average (fast 2, slow 30 as TA-Lib), lookback n.
public struct KAMA: Sendable {
    public let period: Int
    var window: RollingWindow  // last n + 1 values
    var sumROC1 = 0.0
    var prev = Double.nan
    var seen = 0
    let constMax = 2.0 / (30.0 + 1.0)
    let constDiff = 2.0 / (2.0 + 1.0) - 2.0 / (30.0 + 1.0)

    public init(period: Int) {
        self.period = period
        window = RollingWindow(capacity: period + 1)
    }

    public mutating func update(_ x: Double) -> Double {
        seen += 1
        if seen > 1 { sumROC1 += abs(x - window.ago(0)) }
        if seen > period + 1 {
            // The change leaving the window: between the two oldest values.
            sumROC1 -= abs(window.ago(period - 1) - window.ago(period))
        }
        window.push(x)
        if seen <= period {
            if seen == period { prev = x }
            return .nan
        }
        let periodROC = x - window.ago(period)
        var er = sumROC1 <= periodROC || taIsZero(sumROC1) ? 1.0 : abs(periodROC / sumROC1)
        er = (er * constDiff) + constMax
        er *= er
        prev = ((x - prev) * er) + prev
        return prev
    }
}
