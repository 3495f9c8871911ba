/// A sum over the last `span` nanoseconds of event time: one lane of `TimeWindowSums`.
public struct TimeWindowSum: @unchecked Sendable {
    var inner: TimeWindowSums

    public init(span: UInt64, capacity: Int) { inner = TimeWindowSums(span: span, capacity: capacity) }

    public init(span: UInt64, capacity: Int, memory: WindowMemory) throws(ArenaError) {
        inner = try TimeWindowSums(span: span, capacity: capacity, memory: memory)
    }

    public var span: UInt64 { inner.span }

    /// Frees the memory; not to be used afterwards.
    public func release() { inner.release() }
    public var sum: Double { inner.sums[0] }
    public var overflows: Int { inner.overflows }
    public var entries: Int { inner.count }

    @inline(__always)
    public mutating func add(_ value: Double, at t: UInt64) { inner.add(SIMD4(value, 0, 0, 0), at: t) }

    @inline(__always)
    public mutating func evict(before t: UInt64) { inner.evict(before: t) }
}

/// A series' recent (timestamp, value) pairs in a power-of-two ring, addressed by absolute
/// index (the n-th value ever added), so lagged readers can keep a cursor into it.
public struct SeriesRing: @unchecked Sendable {
    let times: UnsafeMutablePointer<UInt64>
    let values: UnsafeMutablePointer<Double>
    let mask: Int
    let owned: Bool
    public private(set) var next = 0

    public init(capacity: Int) {
        // The heap cannot run out the way an arena can.
        self = try! SeriesRing(capacity: capacity, memory: .heap)
    }

    public init(capacity: Int, memory: WindowMemory) throws(ArenaError) {
        let c = SeriesRing.entries(capacity)
        mask = c - 1
        times = try memory.allocate(UInt64.self, count: c, zero: 0)
        values = try memory.allocate(Double.self, count: c, zero: 0)
        owned = memory.owned
    }

    /// Entries held for a requested capacity: a power of two, at least 16.
    static func entries(_ capacity: Int) -> Int {
        var c = 16
        while c < capacity { c <<= 1 }
        return c
    }

    /// Frees heap memory (arena memory goes with its arena); not to be used afterwards.
    public func release() { if owned { times.deallocate(); values.deallocate() } }

    /// Absolute index of the oldest value still held.
    public var oldest: Int { max(0, next - (mask + 1)) }

    public mutating func add(_ v: Double, at t: UInt64) {
        times[next & mask] = t
        values[next & mask] = v
        next += 1
    }

    public func time(_ a: Int) -> UInt64 { times[a & mask] }
    public func value(_ a: Int) -> Double { values[a & mask] }
}

/// "The value `lag` nanoseconds ago": a cursor that only moves forward through a SeriesRing
/// as time does, so each query is O(1) amortised. If the ring overwrote the cursor's entry
/// (more values in the lag than the ring holds) the cursor jumps to the oldest and counts it.
public struct LaggedCursor: Sendable {
    public let lag: UInt64
    var index = -1
    public private(set) var overflows = 0

    public init(lag: UInt64) { self.lag = lag }

    /// The latest value at or before `now − lag`, or nil when there is none yet.
    @inline(__always)
    public mutating func value(in ring: SeriesRing, now: UInt64) -> Double? {
        guard now >= lag else { return nil }
        let target = now - lag
        if index >= 0 && index < ring.oldest {
            index = ring.oldest
            overflows += 1
        }
        while index + 1 < ring.next && ring.time(index + 1) <= target { index += 1 }
        return index >= 0 && ring.time(index) <= target ? ring.value(index) : nil
    }
}

/// Up to four sums over the last `span` nanoseconds of event time, sharing timestamps (e.g.
/// buy volume, sell volume and trade count over 5 s) in one ring, so one eviction pass serves
/// them all. The ring is sized at start-up and pre-faulted; adding evicts what fell out of the
/// span, and when the ring is full the oldest entry is evicted early and counted in
/// `overflows` (the sums then cover less time).
public struct TimeWindowSums: @unchecked Sendable {
    public let span: UInt64
    let times: UnsafeMutablePointer<UInt64>
    let values: UnsafeMutablePointer<SIMD4<Double>>
    let mask: Int
    var head = 0, count = 0
    public private(set) var sums = SIMD4<Double>()
    public private(set) var overflows = 0

    let owned: Bool

    public init(span: UInt64, capacity: Int) {
        // The heap cannot run out the way an arena can.
        self = try! TimeWindowSums(span: span, capacity: capacity, memory: .heap)
    }

    public init(span: UInt64, capacity: Int, memory: WindowMemory) throws(ArenaError) {
        self.span = span
        let c = SeriesRing.entries(capacity)
        mask = c - 1
        times = try memory.allocate(UInt64.self, count: c, zero: 0)
        values = try memory.allocate(SIMD4<Double>.self, count: c, zero: SIMD4<Double>())
        owned = memory.owned
    }

    /// Frees heap memory (arena memory goes with its arena); not to be used afterwards.
    public func release() { if owned { times.deallocate(); values.deallocate() } }

    @inline(__always)
    public mutating func add(_ v: SIMD4<Double>, at t: UInt64) {
        evict(before: t)
        if count == mask + 1 {
            dropOldest()
            overflows += 1
        }
        let i = (head &+ count) & mask
        times[i] = t
        values[i] = v
        count += 1
        sums += v
    }

    @inline(__always)
    public mutating func evict(before t: UInt64) {
        let cutoff = t >= span ? t - span : 0
        while count > 0 && times[head] < cutoff { dropOldest() }
        if count == 0 { sums = SIMD4<Double>() }
    }

    @inline(__always)
    mutating func dropOldest() {
        sums -= values[head]
        head = (head &+ 1) & mask
        count -= 1
    }
}
