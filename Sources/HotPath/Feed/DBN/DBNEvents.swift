import Glibc

/// The DBN record → events step that files and live sessions share (as `ITCHEvents` is for
/// ITCH). Every record but the price-level ones decodes to one event, as `DBNDecoder` makes
/// it. An MBP-1, MBP-10, TBBO or BBO record carries its book's top levels whole; the engine's
/// ring carries 64-byte events, so the record becomes one `.level` event (action `L`) per
/// level that differs from the instrument's previous record, the last of them carrying the
/// record's F_LAST, after the record's own trade event when it is a trade. A record that
/// closes a batch (F_LAST) and moves no level still gives one event, its best bid unchanged,
/// so the book publishes as often as an order book would. A book built from those events
/// (`L2Book.apply(level:)`) holds exactly the record's levels.
///
/// The previous levels are kept per instrument for `instruments` instruments, sized at start;
/// an instrument past them gets every level of each of its records (exact, only longer).
/// Feed thread; allocates nothing after `init`.
struct DBNEvents {
    var decoder: DBNDecoder
    /// The events of the last record: `slots[0..<n]`.
    let slots: UnsafeMutablePointer<Event>
    private let index: InstrumentIndex
    /// Per instrument, the last record's levels as DBN lays them out (bid px, ask px, bid sz,
    /// ask sz, bid ct, ask ct: 32 bytes a level), 10 levels; absent levels (undefined price,
    /// no size, no orders) before the first, as an empty book has.
    private let last: UnsafeMutableRawPointer
    /// The index's memory, held unretained-by-copies (`deallocate` releases it), so copying
    /// this value (the merge keeps it in an enum) costs no reference counting.
    private let arena: Unmanaged<Arena>

    static let maxLevels = 10

    /// The most instruments tracked (21 MB of levels); past them every level is passed on.
    static let maxTracked = 1 << 16

    init(metadata: DBNMetadata, instruments: Int = 1024) {
        let instruments = min(max(instruments, 1), Self.maxTracked)
        decoder = DBNDecoder(metadata: metadata)
        slots = .allocate(capacity: 1 + 2 * Self.maxLevels)
        // A failed start-up allocation is the process's end, as any allocation failing.
        let memory = try! Arena(bytes: InstrumentIndex.arenaBytes(capacity: instruments), lock: false)
        arena = Unmanaged.passRetained(memory)
        index = try! InstrumentIndex(capacity: instruments, arena: memory)
        last = .allocate(byteCount: instruments * 32 * Self.maxLevels, alignment: 64)
        reset()
    }

    func deallocate() {
        slots.deallocate()
        last.deallocate()
        arena.release()
    }

    /// Forgets every instrument's levels (the engine empties its books: a restart, a new
    /// subscription), so the next record of each gives all its levels.
    func reset() {
        for l in 0..<(index.capacity * Self.maxLevels) {
            let p = last + 32 * l
            p.storeBytes(of: Event.undefinedPrice, as: Int64.self)
            p.storeBytes(of: Event.undefinedPrice, toByteOffset: 8, as: Int64.self)
            (p + 16).initializeMemory(as: UInt8.self, repeating: 0, count: 16)
        }
    }

    /// Decodes the record; its events are `slots[0..<n]` (0: the record yields none).
    @inline(__always)
    mutating func decode(_ rec: UnsafeRawPointer, length: Int) -> Int {
        guard decoder.decode(rec, length: length, into: &slots[0]) else { return 0 }
        let e = slots[0]
        guard e.kind == .level else { return 1 }
        let rtype = rec.load(fromByteOffset: 1, as: UInt8.self)
        let levels = rtype == DBNRType.mbp10 ? Self.maxLevels : 1
        let isTrade = e.action == Event.Action.trade
        let b = index.index(for: e.instrumentId)
        let previous: UnsafeMutableRawPointer? = b >= 0 ? last + b * 32 * Self.maxLevels : nil
        var n = isTrade ? 1 : 0
        for r in 0..<levels {
            let level = rec + 48 + 32 * r
            let before = previous.map { UnsafeRawPointer($0 + 32 * r) }
            if let before, memcmp(before, level, 32) == 0 { continue }
            for side in 0..<2 {
                let price: Int64 = level.le(8 * side), size: UInt32 = level.le(16 + 4 * side)
                let orders: UInt32 = level.le(24 + 4 * side)
                if let before, before.le(8 * side) == price, before.le(16 + 4 * side) == size,
                    before.le(24 + 4 * side) == orders
                {
                    continue
                }
                var out = e
                (out.kind, out.action, out.depth) = (.level, Event.Action.level, UInt8(r))
                out.side = side == 0 ? Event.Side.bid : Event.Side.ask
                (out.price, out.size, out.orderId) = (price, size, UInt64(orders))
                out.flags = e.flags & ~DBNFlags.last
                slots[n] = out
                n &+= 1
            }
            previous?.advanced(by: 32 * r).copyMemory(from: level, byteCount: 32)
        }
        if n > (isTrade ? 1 : 0) {
            slots[n &- 1].flags |= e.flags & DBNFlags.last
        } else if !isTrade && e.isLast {
            // Nothing moved, but the record closes a batch, and a book publishes at each close
            // (as an order book does): the best bid, unchanged, closes it.
            var out = e
            (out.kind, out.action, out.side, out.depth) = (.level, Event.Action.level, Event.Side.bid, 0)
            (out.price, out.size, out.orderId) = (rec.le(48), rec.le(64), UInt64(rec.le(72, as: UInt32.self)))
            slots[0] = out
            n = 1
        }
        return n
    }
}
