/// Where a feature window gets its memory. In the engine, from its arena (NUMA-local to the
/// engine core, pre-faulted, locked, and freed with the arena: `release()` then frees
/// nothing); in the cold tools (`features`, `bench features`, tests), from the heap, freed by
/// the window's `release()`. Either way it is taken once, at start-up, and zero-filled.
///
/// A third kind only measures: `WindowMemory.arenaBytes(of:)` builds a state against it to
/// learn what that state would take from an arena, so no size is written down twice.
public struct WindowMemory: @unchecked Sendable {
    let arena: Arena?
    /// Measuring: the bytes asked for so far (no memory is handed out).
    let tally: UnsafeMutablePointer<Int>?

    /// The heap.
    public static let heap = WindowMemory(arena: nil, tally: nil)

    /// Carved from `arena`, which must outlive every window made from it.
    public static func arena(_ arena: Arena) -> WindowMemory { WindowMemory(arena: arena, tally: nil) }

    /// Whether windows own (and so free) their memory.
    var owned: Bool { arena == nil && tally == nil }

    func allocate<T>(_: T.Type, count: Int, zero: T) throws(ArenaError) -> UnsafeMutablePointer<T> {
        if let tally {
            tally.pointee += Arena.footprint(T.self, count: count)
            // Never dereferenced: a measured state is only built, then dropped.
            return UnsafeMutablePointer<T>(bitPattern: MemoryLayout<T>.alignment).unsafelyUnwrapped
        }
        if let arena { return try arena.allocate(T.self, count: count) }  // zero-filled
        let p = UnsafeMutablePointer<T>.allocate(capacity: count)
        p.initialize(repeating: zero, count: count)  // pre-faulted at start-up
        return p
    }

    /// The arena bytes `make` would take if given an arena: it is run against a measuring
    /// memory (windows only keep the pointers they are given at init, so nothing is touched).
    public static func arenaBytes<State>(of make: (WindowMemory) throws(ArenaError) -> State) -> Int {
        let tally = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        defer { tally.deallocate() }
        tally.initialize(to: 0)
        _ = try? make(WindowMemory(arena: nil, tally: tally))
        return tally.pointee
    }
}
