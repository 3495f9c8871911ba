/// Builds OHLCV bars from trades, by time or by volume, for the bar-level indicators (which
/// update when a bar closes; tick-level features update on every event).
///
/// - Time bars of `seconds`: a bar covers [k·s, (k+1)·s) of event time; it closes when the first
///   trade of a later period arrives (`close(at:)` closes it on a clock instead). Periods with
///   no trade produce no bar.
/// - Volume bars of `volume`: a bar closes once its volume reaches the threshold; the trade
///   that crosses it is split, its remainder opening the next bar at the same price.
/// Trades with a non-finite price or a non-positive size are skipped and counted in `rejected`.
public struct BarBuilder: Sendable {
    public enum Mode: Sendable, Equatable {
        case time(seconds: Double)
        case volume(Double)
    }

    public let mode: Mode
    public private(set) var rejected = 0
    var current: Bar? = nil
    var period: UInt64 = 0
    let periodNs: UInt64
    /// Time bars: the period index of the bar last closed (its start is this × the period).
    public private(set) var closedPeriod: UInt64 = 0

    public init(mode: Mode) {
        self.mode = mode
        if case let .time(s) = mode { periodNs = max(1, UInt64(s * 1e9)) } else { periodNs = 0 }
    }

    /// Adds a trade; calls `closed` for every bar it completes (at most one for time bars;
    /// possibly several for a volume bar split by a large trade).
    public mutating func trade(price: Double, size: Double, at t: UInt64, closed: (Bar) -> Void) {
        guard price.isFinite, size.isFinite, size > 0 else { rejected += 1; return }
        switch mode {
        case .time:
            let p = t / periodNs
            if let bar = current, p != period {
                closedPeriod = period
                closed(bar)
                current = nil
            }
            period = p
            extend(price: price, size: size)
        case let .volume(threshold):
            var left = size
            while left > 0 {
                let room = threshold - (current?.volume ?? 0)
                let take = min(left, room)
                extend(price: price, size: take)
                left -= take
                if let bar = current, bar.volume >= threshold {
                    closed(bar)
                    current = nil
                }
            }
        }
    }

    /// The open bar's volume so far (0 when no bar is open).
    public var openVolume: Double { current?.volume ?? 0 }

    /// Closes the open time bar if `t` is past its period (a clock tick with no trade).
    public mutating func close(at t: UInt64, closed: (Bar) -> Void) {
        guard periodNs > 0, let bar = current, t / periodNs != period else { return }
        closedPeriod = period
        closed(bar)
        current = nil
    }

    mutating func extend(price: Double, size: Double) {
        if var bar = current {
            bar.high = max(bar.high, price)
            bar.low = min(bar.low, price)
            bar.close = price
            bar.volume += size
            current = bar
        } else {
            current = Bar(open: price, high: price, low: price, close: price, volume: size)
        }
    }
}
