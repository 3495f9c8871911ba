import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One named event counter, written by one thread, readable by any.
///
/// The owner increments with a relaxed load and a relaxed store (no locked RMW: there is one
/// writer), so a cold reader sees a value that only grows. A value of one raw pointer: no ARC.
public struct Counter: @unchecked Sendable {
    @usableFromInline let slot: UnsafeMutablePointer<Atomic<UInt64>>

    @inlinable @inline(__always)
    public func increment(by n: UInt64 = 1) {
        slot.pointee.store(slot.pointee.load(ordering: .relaxed) &+ n, ordering: .relaxed)
    }

    public var value: UInt64 { slot.pointee.load(ordering: .relaxed) }
}

/// The counters of one thread: a block of slots starting on its own 128-byte boundary and
/// padded to one, so two threads' counters never share a cache line.
public struct CounterGroup: @unchecked Sendable {
    public let thread: String
    public let names: [String]
    @usableFromInline let slots: UnsafeMutablePointer<Atomic<UInt64>>

    /// The counter called `name`. Start-up only (a lookup by name).
    public func counter(_ name: String) -> Counter? {
        names.firstIndex(of: name).map { Counter(slot: slots + $0) }
    }

    /// The counter at `index` in `names`.
    public subscript(index: Int) -> Counter { Counter(slot: slots + index) }
}

/// All counters of a process, for reports. Groups are made at start-up; `snapshot()` may be
/// called from any thread at any time.
///
/// The registry owns the counters' memory and a `Counter` or `CounterGroup` is a raw pointer
/// into it that does not keep it alive: keep the registry (as `Engine` does) for as long as any
/// of its counters is used. A registry dropped at once (`CounterRegistry().makeGroup(…)`)
/// leaves counters writing into freed memory.
public final class CounterRegistry: @unchecked Sendable {
    public struct Value: Equatable, Sendable {
        public var thread: String
        public var name: String
        public var value: UInt64
    }

    private var groups: [CounterGroup] = []
    private var blocks: [UnsafeMutableRawPointer] = []

    public init() {}

    deinit { blocks.forEach { free($0) } }

    /// A new group of zeroed counters for `thread`. Start-up only; not thread-safe against
    /// other `makeGroup` calls.
    public func makeGroup(thread: String, names: [String]) -> CounterGroup {
        let stride = MemoryLayout<Atomic<UInt64>>.stride
        let bytes = max(128, (names.count * stride + 127) / 128 * 128)
        var raw: UnsafeMutableRawPointer? = nil
        precondition(posix_memalign(&raw, 128, bytes) == 0, "out of memory for counters")
        let slots = raw!.bindMemory(to: Atomic<UInt64>.self, capacity: names.count)
        for i in 0..<names.count { (slots + i).initialize(to: Atomic(0)) }
        blocks.append(raw!)
        let group = CounterGroup(thread: thread, names: names, slots: slots)
        groups.append(group)
        return group
    }

    /// Every counter's current value, group by group in creation order.
    public func snapshot() -> [Value] {
        groups.flatMap { g in g.names.indices.map { Value(thread: g.thread, name: g.names[$0], value: g[$0].value) } }
    }

    /// `{"thread.name":value,…}`.
    public func json() -> String {
        "{" + snapshot().map { "\"\($0.thread).\($0.name)\":\($0.value)" }.joined(separator: ",") + "}"
    }
}
