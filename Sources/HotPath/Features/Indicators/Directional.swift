/// Wilder's directional movement: +DM, −DM and true range, summed over the first n − 1 bars,
/// then smoothed as s − s/n + x (TA-Lib).
struct DirectionalMovement: Sendable {
    let period: Int
    var prevHigh = Double.nan, prevLow = 0.0, prevClose = 0.0
    var plusDM = 0.0, minusDM = 0.0, tr = 0.0
    var bars = 0

    init(period: Int) { self.period = period }

    /// Returns false until n bars of movement are in.
    mutating func update(_ b: Bar) -> Bool {
        bars += 1
        if bars == 1 {
            prevHigh = b.high; prevLow = b.low; prevClose = b.close
            return false
        }
        let diffP = b.high - prevHigh, diffM = prevLow - b.low
        prevHigh = b.high
        prevLow = b.low
        var range = prevHigh - prevLow
        let v2 = abs(prevClose - prevHigh)
        if v2 > range { range = v2 }
        let v3 = abs(prevClose - prevLow)
        if v3 > range { range = v3 }
        let n = Double(period)
        if bars > period {
            minusDM -= minusDM / n
            plusDM -= plusDM / n
        }
        if diffM > 0 && diffP < diffM { minusDM += diffM } else if diffP > 0 && diffP > diffM { plusDM += diffP }
        tr = bars > period ? tr - (tr / n) + range : tr + range
        prevClose = b.close
        return bars > period
    }

    var plusDI: Double { taIsZero(tr) ? 0 : 100.0 * (plusDM / tr) }
    var minusDI: Double { taIsZero(tr) ? 0 : 100.0 * (minusDM / tr) }
}

public struct PLUS_DI: Sendable {
    var dm: DirectionalMovement
    public init(period: Int) { dm = DirectionalMovement(period: period) }
    public mutating func update(_ b: Bar) -> Double { dm.update(b) ? dm.plusDI : .nan }
}

public struct MINUS_DI: Sendable {
    var dm: DirectionalMovement
    public init(period: Int) { dm = DirectionalMovement(period: period) }
    public mutating func update(_ b: Bar) -> Double { dm.update(b) ? dm.minusDI : .nan }
}

/// Average directional index: the mean of the first n DX values, then Wilder-smoothed;
/// lookback 2n − 1.
public struct ADX: Sendable {
    var dm: DirectionalMovement
    var sumDX = 0.0
    var count = 0
    var value = Double.nan
    public init(period: Int) { dm = DirectionalMovement(period: period) }
    public mutating func update(_ b: Bar) -> Double {
        guard dm.update(b) else { return .nan }
        let n = Double(dm.period)
        var dx = Double.nan
        if !taIsZero(dm.tr) {
            let minus = 100.0 * (dm.minusDM / dm.tr), plus = 100.0 * (dm.plusDM / dm.tr)
            let sum = minus + plus
            if !taIsZero(sum) { dx = 100.0 * (abs(minus - plus) / sum) }
        }
        count += 1
        if count <= dm.period {
            if !dx.isNaN { sumDX += dx }
            if count < dm.period { return .nan }
            value = sumDX / n
            return value
        }
        if !dx.isNaN { value = ((value * (n - 1)) + dx) / n }
        return value
    }
}
