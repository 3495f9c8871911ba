/// Where a feature window gets its memory. In the engine, from its arena (NUMA-local to the
/// engine core, pre-faulted, locked, and freed with the arena: `release()` then frees
/// nothing); in the cold tools (`features`, `bench features`, tests), from the heap, freed by
/// the window's `release()`. Either way it is taken once, at start-up, and zero-filled.
public struct WindowMemory: Sendable {
    let arena: Arena?

    /// The heap.
    public static let heap = WindowMemory(arena: nil)

    /// Carved from `arena`, which must outlive every window made from it.
    public static func arena(_ arena: Arena) -> WindowMemory { WindowMemory(arena: arena) }

    /// Whether windows own (and so free) their memory.
    var owned: Bool { arena == nil }

    func allocate<T>(_: T.Type, count: Int, zero: T) throws(ArenaError) -> UnsafeMutablePointer<T> {
        if let arena { return try arena.allocate(T.self, count: count) }  // zero-filled
        let p = UnsafeMutablePointer<T>.allocate(capacity: count)
        p.initialize(repeating: zero, count: count)  // pre-faulted at start-up
        return p
    }

    /// Bytes a window of `count` elements of T may take from an arena (with its alignment).
    static func arenaBytes<T>(_: T.Type, count: Int) -> Int { Arena.footprint(T.self, count: count) }
}
