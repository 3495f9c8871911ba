/// The evaluators' memory: loaders build plain arrays, and these copy them once, at load, into
/// allocations the hot path reads with no bounds checks and no reference counting. A model
/// lives as long as the process that loaded it, so they are never freed.
func loadTimeCopy<T>(_ a: [T]) -> UnsafeMutablePointer<T> {
    let p = UnsafeMutablePointer<T>.allocate(capacity: max(a.count, 1))
    p.initialize(from: a, count: a.count)
    return p
}

/// The bytes of `a`, starting on an `alignment`-byte boundary, for a C kernel that reads them
/// with aligned loads (the caller binds them to the type the kernel takes).
func loadTimeBytes<T>(_ a: [T], alignment: Int) -> UnsafeMutableRawPointer {
    let p = UnsafeMutableRawPointer.allocate(byteCount: max(a.count, 1) * MemoryLayout<T>.stride, alignment: alignment)
    a.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    return p
}

/// The same, as a buffer that knows its count.
func loadTimeBuffer<T>(_ a: [T]) -> UnsafeMutableBufferPointer<T> {
    UnsafeMutableBufferPointer(start: loadTimeCopy(a), count: a.count)
}
