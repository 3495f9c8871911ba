import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Double-buffered hand-off of one thread's latency histogram to a cold thread.
///
/// The owner records into the active buffer with plain stores. A cold thread that wants the
/// counts asks for a swap (`requested`); the owner, at its next `poll()` (a relaxed load per
/// loop turn, taken at batch boundaries), swaps the active and retired buffers and answers
/// `swapped`. The cold thread then owns the retired buffer: it adds it into its snapshot,
/// zeroes it and answers `idle`. The owner never writes a buffer the cold thread reads, and
/// neither side waits on the other inside the hot loop.
public struct HistogramRecorder: @unchecked Sendable {
    static let idle = 0, requested = 1, swapped = 2

    @usableFromInline let buffers: (LatencyHistogram, LatencyHistogram)
    /// Owner-private: 0 or 1, which buffer is active.
    @usableFromInline let activeIndex: UnsafeMutablePointer<Int>
    @usableFromInline let state: UnsafeMutablePointer<Atomic<Int>>

    public init(arena: Arena) throws(ArenaError) {
        buffers = (try LatencyHistogram(arena: arena), try LatencyHistogram(arena: arena))
        activeIndex = try arena.allocate(Int.self, count: 1, alignment: 128)
        state = try arena.allocate(Atomic<Int>.self, count: 1, alignment: 128)
        state.initialize(to: Atomic(HistogramRecorder.idle))
    }

    /// The buffer the owner records into now.
    @inlinable @inline(__always)
    public var active: LatencyHistogram { activeIndex.pointee == 0 ? buffers.0 : buffers.1 }

    /// Records one value (owner thread).
    @inlinable @inline(__always)
    public func record(_ ns: UInt64) { active.record(ns) }

    /// Answers a pending swap request (owner thread, at batch boundaries).
    @inlinable @inline(__always)
    public func poll() {
        if _slowPath(state.pointee.load(ordering: .relaxed) == 1) { swap() }
    }

    @usableFromInline @inline(never)
    func swap() {
        guard state.pointee.load(ordering: .acquiring) == HistogramRecorder.requested else { return }
        activeIndex.pointee ^= 1
        state.pointee.store(HistogramRecorder.swapped, ordering: .releasing)
    }

    /// Cold thread: moves everything recorded since the last collect into `snapshot`.
    /// Waits up to `timeoutNs` for the owner's `poll()`; returns false if it did not come
    /// (the request stays pending and is finished by a later `collect`).
    @discardableResult
    public func collect(into snapshot: inout HistogramSnapshot, timeoutNs: UInt64 = 100_000_000) -> Bool {
        if state.pointee.load(ordering: .acquiring) == HistogramRecorder.idle {
            state.pointee.store(HistogramRecorder.requested, ordering: .releasing)
        }
        let deadline = Clock.monotonicNs() &+ timeoutNs
        while state.pointee.load(ordering: .acquiring) != HistogramRecorder.swapped {
            if Clock.monotonicNs() > deadline { return false }
            usleep(20)
        }
        // The owner now records into the other buffer; the retired one is ours.
        let retired = activeIndex.pointee == 0 ? buffers.1 : buffers.0
        snapshot.add(retired)
        retired.reset()
        state.pointee.store(HistogramRecorder.idle, ordering: .releasing)
        return true
    }

    /// Cold thread, once the owner thread has stopped (joined): takes both buffers.
    public func collectAfterOwnerStopped(into snapshot: inout HistogramSnapshot) {
        snapshot.add(buffers.0)
        snapshot.add(buffers.1)
        buffers.0.reset()
        buffers.1.reset()
        state.pointee.store(HistogramRecorder.idle, ordering: .releasing)
    }
}
