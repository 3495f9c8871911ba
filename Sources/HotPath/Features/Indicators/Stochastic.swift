/// Highest high and lowest low over the last n bars (kept as windows; n is small).
struct HighLowWindow: Sendable {
    var highs: RollingWindow, lows: RollingWindow
    init(period: Int) { highs = RollingWindow(capacity: period); lows = RollingWindow(capacity: period) }
    mutating func push(_ b: Bar) { highs.push(b.high); lows.push(b.low) }
    var isFull: Bool { highs.isFull }
    func extremes() -> (high: Double, low: Double) {
        var h = highs.ago(0), l = lows.ago(0)
        for i in 1..<highs.capacity {
            h = max(h, highs.ago(i))
            l = min(l, lows.ago(i))
        }
        return (h, l)
    }
}

/// Fast stochastic: %K over n bars ((close − lowest)/((highest − lowest)/100), 0 on a flat
/// window), %D its SMA.
public struct STOCHF: Sendable {
    var window: HighLowWindow
    var d: SMA
    public init(fastK: Int = 5, fastD: Int = 3) { window = HighLowWindow(period: fastK); d = SMA(period: fastD) }
    public mutating func update(_ b: Bar) -> (k: Double, d: Double) {
        window.push(b)
        guard window.isFull else { return (.nan, .nan) }
        let (hh, ll) = window.extremes()
        let diff = (hh - ll) / 100.0
        let k = diff != 0 ? (b.close - ll) / diff : 0
        let dv = d.update(k)
        return dv.isNaN ? (.nan, .nan) : (k, dv)
    }
}

/// Slow stochastic: SMA of fast %K, and SMA of that.
public struct STOCH: Sendable {
    var window: HighLowWindow
    var slowK: SMA, slowD: SMA
    public init(fastK: Int = 5, slowK: Int = 3, slowD: Int = 3) {
        window = HighLowWindow(period: fastK)
        self.slowK = SMA(period: slowK)
        self.slowD = SMA(period: slowD)
    }
    public mutating func update(_ b: Bar) -> (k: Double, d: Double) {
        window.push(b)
        guard window.isFull else { return (.nan, .nan) }
        let (hh, ll) = window.extremes()
        let diff = (hh - ll) / 100.0
        let fastK = diff != 0 ? (b.close - ll) / diff : 0
        let k = slowK.update(fastK)
        if k.isNaN { return (.nan, .nan) }
        let d = slowD.update(k)
        return d.isNaN ? (.nan, .nan) : (k, d)
    }
}

/// Williams %R: (highest − close)/((highest − lowest)/−100), 0 on a flat window.
public struct WILLR: Sendable {
    var window: HighLowWindow
    public init(period: Int) { window = HighLowWindow(period: period) }
    public mutating func update(_ b: Bar) -> Double {
        window.push(b)
        guard window.isFull else { return .nan }
        let (hh, ll) = window.extremes()
        let diff = (hh - ll) / -100.0
        return diff != 0 ? (hh - b.close) / diff : 0
    }
}

/// Aroon over n + 1 bars: 100/n · (n − bars since the highest high / lowest low), the most
/// recent bar winning ties (TA-Lib).
public struct AROON: Sendable {
    public let period: Int
    var window: HighLowWindow
    public init(period: Int) { self.period = period; window = HighLowWindow(period: period + 1) }
    public mutating func update(_ b: Bar) -> (down: Double, up: Double) {
        window.push(b)
        guard window.isFull else { return (.nan, .nan) }
        var hiAgo = period, loAgo = period
        var hi = window.highs.ago(period), lo = window.lows.ago(period)
        for ago in stride(from: period - 1, through: 0, by: -1) {
            let h = window.highs.ago(ago), l = window.lows.ago(ago)
            if h >= hi { hi = h; hiAgo = ago }
            if l <= lo { lo = l; loAgo = ago }
        }
        let factor = 100.0 / Double(period)
        return (factor * Double(period - loAgo), factor * Double(period - hiAgo))
    }
}

/// Commodity channel index over typical prices: (tp − mean)/(0.015 · mean deviation).
public struct CCI: Sendable {
    public let period: Int
    var window: RollingWindow
    public init(period: Int) { self.period = period; window = RollingWindow(capacity: period) }
    public mutating func update(_ b: Bar) -> Double {
        let tp = (b.high + b.low + b.close) / 3.0
        window.push(tp)
        guard window.isFull else { return .nan }
        var sum = 0.0
        for i in stride(from: period - 1, through: 0, by: -1) { sum += window.ago(i) }
        let mean = sum / Double(period)
        var dev = 0.0
        for i in stride(from: period - 1, through: 0, by: -1) { dev += abs(window.ago(i) - mean) }
        let num = tp - mean
        return num != 0 && dev != 0 ? num / (0.015 * (dev / Double(period))) : 0
    }
}
