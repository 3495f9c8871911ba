import CSupport

/// The evaluators' memory: loaders build plain arrays, and these copy them once, at load, into
/// allocations the hot path reads with no bounds checks and no reference counting. The engine
/// keeps a model as long as the process runs; a tree model's allocations are also logged
/// (`LoadTimeLog`) so that a holder of its last copy can free them (`TreeEnsemble.deallocate`).
func loadTimeCopy<T>(_ a: [T]) -> UnsafeMutablePointer<T> {
    let p = UnsafeMutablePointer<T>.allocate(capacity: max(a.count, 1))
    p.initialize(from: a, count: a.count)
    LoadTimeLog.note(p)
    return p
}

/// The allocations made on this thread while a tree model is built (`TreeEnsemble.init` sets
/// it, its evaluators' set-up notes each allocation), held by the model as `Unmanaged` so that
/// copying the model costs no reference counting.
final class LoadTimeLog {
    private(set) var blocks: [UnsafeMutableRawPointer] = []

    /// Starts logging this thread's load-time allocations; returns the log, and the one to
    /// restore at the end (`end`).
    static func begin() -> (log: Unmanaged<LoadTimeLog>, previous: UnsafeMutableRawPointer?) {
        let log = Unmanaged.passRetained(LoadTimeLog())
        let previous = hp_load_log()
        hp_set_load_log(log.toOpaque())
        return (log, previous)
    }

    static func end(restoring previous: UnsafeMutableRawPointer?) { hp_set_load_log(previous) }

    /// Logs `p` when a log is open on this thread.
    static func note<T>(_ p: UnsafeMutablePointer<T>) { note(UnsafeMutableRawPointer(p)) }
    static func note(_ p: UnsafeMutableRawPointer) {
        guard let current = hp_load_log() else { return }
        Unmanaged<LoadTimeLog>.fromOpaque(current).takeUnretainedValue().blocks.append(p)
    }

    /// Frees every logged allocation, and the log.
    static func free(_ log: Unmanaged<LoadTimeLog>) {
        for p in log.takeUnretainedValue().blocks { p.deallocate() }
        log.release()
    }
}

/// The bytes of `a`, starting on an `alignment`-byte boundary, for a C kernel that reads them
/// with aligned loads (the caller binds them to the type the kernel takes).
func loadTimeBytes<T>(_ a: [T], alignment: Int) -> UnsafeMutableRawPointer {
    let p = UnsafeMutableRawPointer.allocate(byteCount: max(a.count, 1) * MemoryLayout<T>.stride, alignment: alignment)
    a.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    LoadTimeLog.note(p)
    return p
}

/// Room for `count` values (at least one), logged as `loadTimeCopy`'s, uninitialised.
func loadTimeAllocate<T>(_ count: Int, of: T.Type = T.self) -> UnsafeMutablePointer<T> {
    let p = UnsafeMutablePointer<T>.allocate(capacity: max(count, 1))
    LoadTimeLog.note(p)
    return p
}

/// `byteCount` bytes (at least `minimum`) on an `alignment`-byte boundary, logged, uninitialised.
func loadTimeAllocate(bytes byteCount: Int, minimum: Int = 1, alignment: Int) -> UnsafeMutableRawPointer {
    let p = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, minimum), alignment: alignment)
    LoadTimeLog.note(p)
    return p
}

/// The same, as a buffer that knows its count.
func loadTimeBuffer<T>(_ a: [T]) -> UnsafeMutableBufferPointer<T> {
    UnsafeMutableBufferPointer(start: loadTimeCopy(a), count: a.count)
}
