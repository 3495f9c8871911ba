/// On-balance volume: starts at the first bar's volume, then ± volume as the close rises or falls.
public struct OBV: Sendable {
    var prevClose = Double.nan
    var value = 0.0
    public init() {}
    public mutating func update(_ b: Bar) -> Double {
        if prevClose.isNaN {
            value = b.volume
        } else if b.close > prevClose {
            value += b.volume
        } else if b.close < prevClose {
            value -= b.volume
        }
        prevClose = b.close
        return value
    }
}

/// Chaikin accumulation/distribution line.
public struct AD: Sendable {
    public private(set) var value = 0.0
    public init() {}
    public mutating func update(_ b: Bar) -> Double {
        let range = b.high - b.low
        if range > 0 { value += (((b.close - b.low) - (b.high - b.close)) / range) * b.volume }
        return value
    }
}

/// Chaikin A/D oscillator: fast EMA − slow EMA of the A/D line, both seeded with its first
/// value and updated as k·ad + (1 − k)·ema (TA-Lib's form); lookback slow − 1.
public struct ADOSC: Sendable {
    var ad = AD()
    let fastK: Double, slowK: Double, lookback: Int
    var fast = 0.0, slow = 0.0
    var seen = 0
    public init(fast: Int = 3, slow: Int = 10) {
        fastK = 2.0 / Double(fast + 1)
        slowK = 2.0 / Double(slow + 1)
        lookback = max(fast, slow) - 1
    }
    public mutating func update(_ b: Bar) -> Double {
        let a = ad.update(b)
        seen += 1
        if seen == 1 {
            fast = a
            slow = a
        } else {
            fast = (fastK * a) + ((1.0 - fastK) * fast)
            slow = (slowK * a) + ((1.0 - slowK) * slow)
        }
        return seen > lookback ? fast - slow : .nan
    }
}

/// Money flow index over n bars of typical-price money flow (0 when the flows sum below 1).
public struct MFI: Sendable {
    public let period: Int
    var pos: RollingWindow, neg: RollingWindow
    var posSum = 0.0, negSum = 0.0
    var prevTP = Double.nan
    public init(period: Int) {
        self.period = period
        pos = RollingWindow(capacity: period)
        neg = RollingWindow(capacity: period)
    }
    public mutating func update(_ b: Bar) -> Double {
        let tp = (b.high + b.low + b.close) / 3.0
        defer { prevTP = tp }
        if prevTP.isNaN { return .nan }
        let flow = tp * b.volume
        if pos.isFull {
            posSum -= pos.ago(period - 1)
            negSum -= neg.ago(period - 1)
        }
        // TA-Lib counts a typical price that moved by less than its zero tolerance as
        // unchanged (measured: an exact comparison misclassifies 4e-16 moves).
        let change = tp - prevTP
        let p = !taIsZero(change) && change > 0 ? flow : 0, n = !taIsZero(change) && change < 0 ? flow : 0
        pos.push(p)
        neg.push(n)
        posSum += p
        negSum += n
        guard pos.isFull else { return .nan }
        let total = posSum + negSum
        return total < 1.0 ? 0 : 100.0 * (posSum / total)
    }
}
