/// One OHLCV bar, as the indicators consume it.
public struct Bar: Sendable, Equatable {
    public var open: Double, high: Double, low: Double, close: Double, volume: Double

    public init(open: Double, high: Double, low: Double, close: Double, volume: Double) {
        self.open = open
        self.high = high
        self.low = low
        self.close = close
        self.volume = volume
    }
}

/// TA-Lib's zero tests (TA_IS_ZERO, TA_IS_ZERO_OR_NEG).
func taIsZero(_ v: Double) -> Bool { -0.00000001 < v && v < 0.00000001 }
func taIsZeroOrNeg(_ v: Double) -> Bool { v < 0.00000001 }

/// The last `capacity` values of a series, in memory allocated once at start-up; pushing
/// never allocates. `ago(0)` is the newest, `ago(capacity - 1)` the oldest.
public struct RollingWindow: @unchecked Sendable {
    let values: UnsafeMutablePointer<Double>
    public let capacity: Int
    let owned: Bool
    public private(set) var count = 0
    var head = 0  // where the next value goes

    public init(capacity: Int) {
        // The heap cannot run out the way an arena can.
        self = try! RollingWindow(capacity: capacity, memory: .heap)
    }

    public init(capacity: Int, memory: WindowMemory) throws(ArenaError) {
        self.capacity = max(capacity, 1)
        values = try memory.allocate(Double.self, count: self.capacity, zero: 0)
        owned = memory.owned
    }

    public var isFull: Bool { count == capacity }

    /// Frees heap memory (arena memory goes with its arena). The window (and every copy of
    /// it) must not be used afterwards.
    public func release() { if owned { values.deallocate() } }

    public mutating func push(_ v: Double) {
        values[head] = v
        head = head + 1 == capacity ? 0 : head + 1
        if count < capacity { count += 1 }
    }

    /// The value pushed `lag` pushes ago (0 = the latest).
    public func ago(_ lag: Int) -> Double {
        var i = head - 1 - lag
        if i < 0 { i += capacity }
        return values[i]
    }
}
