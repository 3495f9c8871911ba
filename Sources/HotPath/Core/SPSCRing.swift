import CSupport
import Synchronization

/// A bounded single-producer / single-consumer queue of fixed-size plain values.
///
/// Invariants the ring relies on:
/// - `head` (next slot to write) is written only by the producer and `tail` (next slot to
///   read) only by the consumer; both count up forever (an `Int` does not wrap in practice),
///   so `head - tail` is the number of queued items and no slack slot is needed.
/// - The producer publishes a slot with a releasing store of `head`; the consumer's
///   acquiring load of `head` makes the slot's contents visible. Symmetrically for `tail`.
/// - Each side keeps a private copy of the other side's index and refreshes it only when
///   the copy says full (producer) or empty (consumer), so in steady state a side touches
///   the other's cache line once per wrap, not once per item.
/// - `head`, the producer's private line, `tail` and the consumer's private line each sit on
///   their own 128-byte block (two cache lines, so the adjacent-line prefetcher does not
///   pull a neighbour's line).
///
/// The full-ring policy is fixed at construction: `.spin` waits for space; `.drop` returns
/// false and counts the item in `dropped`. Nothing is dropped silently.
///
/// `SPSCRing` is a value of raw pointers into arena memory: copying it or handing its
/// `producer`/`consumer` to threads costs no ARC. The arena must outlive it.
public struct SPSCRing<Element: BitwiseCopyable>: @unchecked Sendable {
    public enum FullPolicy: String, Sendable {
        case spin
        case drop
    }

    @usableFromInline static var block: Int { 128 }

    public let capacity: Int
    public let policy: FullPolicy
    @usableFromInline let mask: Int
    @usableFromInline let slots: UnsafeMutablePointer<Element>
    @usableFromInline let head: UnsafeMutablePointer<Atomic<Int>>
    @usableFromInline let tail: UnsafeMutablePointer<Atomic<Int>>
    /// Producer-private: its copy of `tail` (first word of its 128-byte block) and the drop
    /// count (byte 64 of that block, its own cache line; atomic so a cold thread may read it).
    @usableFromInline let producerCachedTail: UnsafeMutablePointer<Int>
    @usableFromInline let dropped: UnsafeMutablePointer<Atomic<Int>>
    /// Consumer-private: its copy of `head`.
    @usableFromInline let consumerCachedHead: UnsafeMutablePointer<Int>

    /// Carves a ring of `capacity` slots (a power of two ≥ 2) from `arena`. Start-up only.
    public init(capacity: Int, policy: FullPolicy, arena: Arena) throws(ArenaError) {
        guard capacity >= 2, capacity & (capacity - 1) == 0 else {
            throw .badRequest("ring capacity must be a power of two ≥ 2, got \(capacity)")
        }
        let b = Self.block
        let control = try arena.allocateBytes(4 * b, alignment: b)
        head = (control + 0 * b).bindMemory(to: Atomic<Int>.self, capacity: 1)
        head.initialize(to: Atomic(0))
        producerCachedTail = (control + 1 * b).bindMemory(to: Int.self, capacity: 1)
        producerCachedTail.initialize(to: 0)
        dropped = (control + 1 * b + 64).bindMemory(to: Atomic<Int>.self, capacity: 1)
        dropped.initialize(to: Atomic(0))
        tail = (control + 2 * b).bindMemory(to: Atomic<Int>.self, capacity: 1)
        tail.initialize(to: Atomic(0))
        consumerCachedHead = (control + 3 * b).bindMemory(to: Int.self, capacity: 1)
        consumerCachedHead.initialize(to: 0)
        slots = try arena.allocate(Element.self, count: capacity, alignment: b)
        self.capacity = capacity
        self.mask = capacity - 1
        self.policy = policy
    }

    /// The producing side. Use from exactly one thread.
    public var producer: Producer { Producer(ring: self) }
    /// The consuming side. Use from exactly one thread.
    public var consumer: Consumer { Consumer(ring: self) }

    /// Totals, readable from any thread (each a relaxed load; a consistent snapshot only once
    /// both sides are quiescent). `accepted` = items that entered the ring.
    public struct Stats: Equatable, Sendable {
        public var accepted: Int
        public var popped: Int
        public var dropped: Int
        public var queued: Int { accepted - popped }
        /// Every push attempt: accepted + dropped.
        public var offered: Int { accepted + dropped }
    }

    public var stats: Stats {
        let d = dropped.pointee.load(ordering: .relaxed)
        let t = tail.pointee.load(ordering: .relaxed)
        let h = head.pointee.load(ordering: .relaxed)
        return Stats(accepted: h, popped: t, dropped: d)
    }

    public struct Producer: @unchecked Sendable {
        @usableFromInline let ring: SPSCRing

        @usableFromInline init(ring: SPSCRing) { self.ring = ring }

        /// Free slots, refreshing the cached tail only when the cache says fewer than `wanted`.
        @inlinable @inline(__always)
        func freeSlots(head h: Int, wanted: Int) -> Int {
            var free = ring.capacity &- (h &- ring.producerCachedTail.pointee)
            if free < wanted {
                ring.producerCachedTail.pointee = ring.tail.pointee.load(ordering: .acquiring)
                free = ring.capacity &- (h &- ring.producerCachedTail.pointee)
            }
            assert(
                free >= 0 && free <= ring.capacity,
                "SPSCRing: \(ring.capacity &- free) items queued in \(ring.capacity) slots")
            return free
        }

        /// Pushes one item if there is space now; never waits, never counts.
        @inlinable @inline(__always)
        public func tryPush(_ item: Element) -> Bool {
            let h = ring.head.pointee.load(ordering: .relaxed)
            if freeSlots(head: h, wanted: 1) == 0 { return false }
            (ring.slots + (h & ring.mask)).initialize(to: item)
            ring.head.pointee.store(h &+ 1, ordering: .releasing)
            return true
        }

        /// Pushes one item under the ring's policy: `.spin` waits for space and returns true;
        /// `.drop` returns false and counts the item when the ring is full.
        @inlinable @inline(__always)
        @discardableResult
        public func push(_ item: Element) -> Bool {
            if tryPush(item) { return true }
            return pushSlow(item)
        }

        @usableFromInline @inline(never)
        func pushSlow(_ item: Element) -> Bool {
            switch ring.policy {
            case .drop:
                countDropped(1)
                return false
            case .spin:
                while !tryPush(item) { hp_cpu_relax() }
                return true
            }
        }

        @inlinable @inline(__always)
        func countDropped(_ n: Int) {
            ring.dropped.pointee.store(ring.dropped.pointee.load(ordering: .relaxed) &+ n, ordering: .relaxed)
        }

        /// Pushes as many of `items` as fit now, with one index publish; returns how many.
        /// Never waits, never counts.
        @inlinable
        public func tryPush(contentsOf items: UnsafeBufferPointer<Element>) -> Int {
            let h = ring.head.pointee.load(ordering: .relaxed)
            let n = min(items.count, freeSlots(head: h, wanted: items.count))
            if n == 0 { return 0 }
            let start = h & ring.mask
            let first = min(n, ring.capacity &- start)
            (ring.slots + start).initialize(from: items.baseAddress!, count: first)
            if first < n { ring.slots.initialize(from: items.baseAddress! + first, count: n &- first) }
            ring.head.pointee.store(h &+ n, ordering: .releasing)
            return n
        }

        /// Pushes `items` under the ring's policy: `.spin` pushes them all, waiting as needed;
        /// `.drop` pushes what fits and counts the rest as dropped. Returns how many entered.
        @inlinable
        @discardableResult
        public func push(contentsOf items: UnsafeBufferPointer<Element>) -> Int {
            var done = tryPush(contentsOf: items)
            if done == items.count { return done }
            switch ring.policy {
            case .drop:
                countDropped(items.count &- done)
            case .spin:
                while done < items.count {
                    let n = tryPush(contentsOf: UnsafeBufferPointer(rebasing: items[done...]))
                    if n == 0 { hp_cpu_relax() }
                    done &+= n
                }
            }
            return done
        }
    }

    public struct Consumer: @unchecked Sendable {
        @usableFromInline let ring: SPSCRing

        @usableFromInline init(ring: SPSCRing) { self.ring = ring }

        /// Queued items, refreshing the cached head only when the cache says empty.
        @inlinable @inline(__always)
        func available(tail t: Int) -> Int {
            var n = ring.consumerCachedHead.pointee &- t
            if n == 0 {
                ring.consumerCachedHead.pointee = ring.head.pointee.load(ordering: .acquiring)
                n = ring.consumerCachedHead.pointee &- t
            }
            assert(n >= 0 && n <= ring.capacity, "SPSCRing: \(n) items queued in \(ring.capacity) slots")
            return n
        }

        /// The next item, or nil when the ring is empty.
        @inlinable @inline(__always)
        public func pop() -> Element? {
            let t = ring.tail.pointee.load(ordering: .relaxed)
            if available(tail: t) == 0 { return nil }
            let item = ring.slots[t & ring.mask]
            ring.tail.pointee.store(t &+ 1, ordering: .releasing)
            return item
        }

        /// Copies up to `buffer.count` items out with one index publish; returns how many.
        @inlinable
        public func pop(into buffer: UnsafeMutableBufferPointer<Element>) -> Int {
            assert(buffer.count > 0, "SPSCRing: pop into an empty buffer")
            let t = ring.tail.pointee.load(ordering: .relaxed)
            let n = min(buffer.count, available(tail: t))
            if n == 0 { return 0 }
            let start = t & ring.mask
            let first = min(n, ring.capacity &- start)
            buffer.baseAddress!.update(from: ring.slots + start, count: first)
            if first < n { (buffer.baseAddress! + first).update(from: ring.slots, count: n &- first) }
            ring.tail.pointee.store(t &+ n, ordering: .releasing)
            return n
        }

        /// Hands up to `limit` queued items to `body` where they lie in the ring (one or two
        /// contiguous runs, oldest first), then frees their slots with one index publish;
        /// returns how many. Nothing is copied: a consumer that only reads or writes items
        /// out (the output thread) saves a copy of every item.
        @inlinable
        public func consume(limit: Int, _ body: (UnsafeBufferPointer<Element>) -> Void) -> Int {
            assert(limit > 0, "SPSCRing: consume with a limit of \(limit)")
            let t = ring.tail.pointee.load(ordering: .relaxed)
            let n = min(limit, available(tail: t))
            if n == 0 { return 0 }
            let start = t & ring.mask
            let first = min(n, ring.capacity &- start)
            body(UnsafeBufferPointer(start: ring.slots + start, count: first))
            if first < n { body(UnsafeBufferPointer(start: ring.slots, count: n &- first)) }
            ring.tail.pointee.store(t &+ n, ordering: .releasing)
            return n
        }

        /// Items queued now (a hint: the producer may add more at once).
        public var count: Int {
            ring.head.pointee.load(ordering: .acquiring) &- ring.tail.pointee.load(ordering: .relaxed)
        }
    }
}
