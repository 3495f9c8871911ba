/// Order-by-order books for a set of instruments, built from MBO or ITCH events.
///
/// Semantics (Databento's MBO rules, which ITCH events are normalised to):
/// - Add: the order rests at its price. With F_TOB (top-of-book publishers) the side is
///   replaced by this one level instead.
/// - Cancel: takes `size` off the order (a partial cancel); at 0 the order leaves the book.
/// - Modify: the order's new price and size replace the old (moving level when the price
///   changes); an unknown order id is treated as an add, as Databento's reference book does.
/// - Clear (R): empties that instrument's book.
/// - Trade, fill, none: no change (fills arrive as cancels).
/// - ITCH's extra actions: execute takes shares off like a cancel; delete removes the order
///   whatever its size; replace removes the order and the replaceAdd that follows it rests
///   on the same side with the new id, price and size.
/// Priority within a level is not modelled: levels aggregate size and order count.
///
/// Inconsistent input never traps: it is counted (`counters`), the book is marked stale with
/// its first reason (cleared by a clear; a crossed book only for that publish), and
/// processing goes on.
/// All memory is carved from the arena at start-up; `apply` allocates nothing.
///
/// `apply` and the per-action paths are `@_transparent` (inlined always, even in a large
/// caller): with `@inline(__always)` the optimiser left them as calls inside the feed loop,
/// each passing the 64-byte event through memory (BENCHMARKS.md, "Design measurements").
public struct L3Book: @unchecked Sendable {
    public struct Config: Sendable {
        public var maxInstruments = 64
        public var maxOrders = 1 << 18
        /// Price levels a side can hold off the tick grid (while the tick is learnt, or for
        /// prices outside the ladder's window).
        public var levelsPerSide = 4096
        /// Ticks in each side's price ladder (a window around the first prices seen).
        public var ladderSlots = 4096
        /// Levels per side in the published view: 1...PriceLadder.maxDepth (64).
        public var depth = 10
        public init() {}
    }

    /// The book's counters; each counts into its own slot (`rawValue`).
    public enum Counter: Int, CaseIterable, Sendable {
        case events, published, unknownOrder, sizeUnderflow, duplicateOrder, crossedBook, levelOverflow,
            orderTableFull, tooManyInstruments, badSide

        public var name: String {
            switch self {
            case .events: "events"
            case .published: "published"
            case .unknownOrder: "unknown_order"
            case .sizeUnderflow: "size_underflow"
            case .duplicateOrder: "duplicate_order"
            case .crossedBook: "crossed_book"
            case .levelOverflow: "level_overflow"
            case .orderTableFull: "order_table_full"
            case .tooManyInstruments: "too_many_instruments"
            case .badSide: "bad_side"
            }
        }

        /// Whether the counter reports an inconsistency in the input (not plain activity).
        public var isProblem: Bool { self != .events && self != .published }
    }

    public static let counterNames = Counter.allCases.map(\.name)

    public let config: Config
    public let orders: OrderTable
    /// Book b's bids at [2b], its asks at [2b + 1]: the side picks the index arithmetically
    /// ('B' is even, 'A' odd), so random sides cost no mispredicted branch.
    @usableFromInline let sides: UnsafeMutablePointer<PriceLadder>
    @usableFromInline let views: UnsafeMutablePointer<BookView>
    @usableFromInline let stale: UnsafeMutablePointer<UInt8>
    /// Per book: the side of the order the last `replace` removed.
    @usableFromInline let replaceSide: UnsafeMutablePointer<UInt8>
    public let instruments: InstrumentIndex
    /// The counters, in `counterNames` order: raw memory, so copying the book never touches
    /// a reference count.
    @usableFromInline let counterSlots: UnsafeMutablePointer<UInt64>

    /// Arena bytes `init(config:arena:…)` carves: size arenas with this.
    public static func arenaBytes(_ config: Config) -> Int {
        let n = config.maxInstruments
        let perBook =
            2 * PriceLadder.arenaBytes(slots: config.ladderSlots, overflowLevels: config.levelsPerSide)
            + BookView.arenaBytes(depth: config.depth)
        return OrderTable.arenaBytes(capacity: config.maxOrders) + n * perBook
            + Arena.footprint(PriceLadder.self, count: 2 * n) + Arena.footprint(BookView.self, count: n)
            + 2 * Arena.footprint(UInt8.self, count: n) + InstrumentIndex.arenaBytes(capacity: n)
            + Arena.footprint(UInt64.self, count: counterNames.count)
    }

    /// - Parameter counters: where the named counters live (a cold thread can read them);
    ///   nil keeps them private to the book (read them with `counter(_:)`).
    public init(
        config: Config = Config(), arena: Arena, counters: CounterRegistry? = nil, thread: String = "engine"
    ) throws(ArenaError) {
        self.config = config
        guard (1...PriceLadder.maxDepth).contains(config.depth) else {
            throw .badRequest("book depth \(config.depth) is outside 1...\(PriceLadder.maxDepth)")
        }
        orders = try OrderTable(capacity: config.maxOrders, arena: arena)
        sides = try arena.allocate(PriceLadder.self, count: 2 * config.maxInstruments)
        views = try arena.allocate(BookView.self, count: config.maxInstruments)
        for i in 0..<config.maxInstruments {
            (sides + 2 * i).initialize(
                to: try PriceLadder(
                    slots: config.ladderSlots, overflowLevels: config.levelsPerSide, isBid: true, arena: arena))
            (sides + 2 * i + 1).initialize(
                to: try PriceLadder(
                    slots: config.ladderSlots, overflowLevels: config.levelsPerSide, isBid: false, arena: arena))
            (views + i).initialize(to: try BookView(depth: config.depth, arena: arena))
        }
        stale = try arena.allocate(UInt8.self, count: config.maxInstruments)
        replaceSide = try arena.allocate(UInt8.self, count: config.maxInstruments)
        instruments = try InstrumentIndex(capacity: config.maxInstruments, arena: arena)
        if let counters {
            let group = counters.makeGroup(thread: thread, names: L3Book.counterNames.map { "book." + $0 })
            counterSlots = UnsafeMutableRawPointer(group.slots).bindMemory(
                to: UInt64.self, capacity: L3Book.counterNames.count)
        } else {
            counterSlots = try arena.allocate(UInt64.self, count: L3Book.counterNames.count)
        }
    }

    /// A counter's value by name (cold path).
    public func counter(_ name: String) -> UInt64 {
        guard let i = L3Book.counterNames.firstIndex(of: name) else { return 0 }
        return UnsafeRawPointer(counterSlots + i).loadUnaligned(as: UInt64.self)
    }

    @inlinable @inline(__always)
    func count(_ counter: Counter) { counterSlots[counter.rawValue] &+= 1 }

    @inlinable @inline(__always)
    func markStale(_ book: Int, _ reason: UInt8) { if stale[book] == 0 { stale[book] = reason } }

    /// The published view of `instrumentId`'s book, if it has one.
    public func view(instrumentId: UInt32) -> BookView? {
        instruments.lookup(instrumentId).map { views[$0] }
    }

    @inlinable @inline(__always)
    func levels(_ book: Int, _ side: UInt8) -> PriceLadder { sides[book &* 2 &+ Int(side & 1)] }

    /// Applies one order event. Returns the book index when the event closed a batch and the
    /// book's view was published, else -1.
    @_transparent
    @discardableResult
    public func apply(_ e: Event) -> Int {
        count(.events)
        let b = instruments.index(for: e.instrumentId)
        if _slowPath(b < 0) { count(.tooManyInstruments); return -1 }
        sides[2 &* b].setClosesBatch(e.isLast)
        sides[2 &* b &+ 1].setClosesBatch(e.isLast)
        switch e.action {
        case Event.Action.add: add(b, e)
        case Event.Action.cancel, Event.Action.execute: cancel(b, e)
        case Event.Action.modify: modify(b, e)
        case Event.Action.clear: clear(b)
        case Event.Action.delete: remove(b, e.orderId, rememberSide: false)
        case Event.Action.replace: remove(b, e.orderId, rememberSide: true)
        case Event.Action.replaceAdd:
            var added = e
            added.side = replaceSide[b]
            add(b, added)
        default: break
        }
        if e.isLast {
            publish(b, e)
            return b
        }
        return -1
    }

    @_transparent @usableFromInline
    func add(_ b: Int, _ e: Event) {
        guard e.side == Event.Side.bid || e.side == Event.Side.ask else { count(.badSide); return }
        let side = levels(b, e.side)
        if _slowPath(e.flags & DBNFlags.tob != 0) {
            side.removeAll()
            if e.price != Event.undefinedPrice { _ = side.add(price: e.price, size: e.size, orders: 1) }
            return
        }
        let s = side.slot(e.price)
        switch orders.insert(
            .init(
                id: e.orderId, price: e.price, size: e.size, book: UInt16(b), side: e.side, used: 1,
                slot: Int32(truncatingIfNeeded: s)))
        {
        case .inserted:
            if _slowPath(!side.add(price: e.price, size: e.size, orders: 1, at: s)) {
                count(.levelOverflow); markStale(b, BookStale.levelOverflow)
                orders.remove(slot: orders.find(e.orderId))
            }
        case .duplicate:
            count(.duplicateOrder); markStale(b, BookStale.duplicateOrder)
        case .full:
            count(.orderTableFull); markStale(b, BookStale.orderTableFull)
        }
    }

    @_transparent @usableFromInline
    func cancel(_ b: Int, _ e: Event) {
        let slot = orders.find(e.orderId)
        if _slowPath(slot < 0) { count(.unknownOrder); markStale(b, BookStale.unknownOrder); return }
        let o = orders.entry(slot)
        var take = e.size
        if _slowPath(take > o.pointee.size) {
            count(.sizeUnderflow); markStale(b, BookStale.sizeUnderflow)
            take = o.pointee.size
        }
        let gone = take == o.pointee.size
        _ = levels(b, o.pointee.side).remove(
            price: o.pointee.price, size: take, orders: gone ? 1 : 0, hint: Int(o.pointee.slot))
        if gone { orders.remove(slot: slot) } else { o.pointee.size &-= take }
    }

    /// Removes an order whatever its size (ITCH delete, and the first half of a replace).
    @inlinable @inline(__always)
    func remove(_ b: Int, _ id: UInt64, rememberSide: Bool) {
        let slot = orders.find(id)
        if _slowPath(slot < 0) {
            count(.unknownOrder); markStale(b, BookStale.unknownOrder)
            if rememberSide { replaceSide[b] = Event.Side.none }
            return
        }
        let o = orders.entry(slot)
        if rememberSide { replaceSide[b] = o.pointee.side }
        _ = levels(b, o.pointee.side).remove(
            price: o.pointee.price, size: o.pointee.size, orders: 1, hint: Int(o.pointee.slot))
        orders.remove(slot: slot)
    }

    @_transparent @usableFromInline
    func modify(_ b: Int, _ e: Event) {
        let slot = orders.find(e.orderId)
        if slot < 0 { add(b, e); return }
        let o = orders.entry(slot)
        let side = levels(b, o.pointee.side)
        let hint = Int(o.pointee.slot)
        if o.pointee.price == e.price {
            if e.size >= o.pointee.size {
                _ = side.add(
                    price: e.price, size: e.size &- o.pointee.size, orders: 0, at: side.slot(e.price, hint: hint))
            } else {
                _ = side.remove(price: e.price, size: o.pointee.size &- e.size, orders: 0, hint: hint)
            }
        } else {
            _ = side.remove(price: o.pointee.price, size: o.pointee.size, orders: 1, hint: hint)
            let s = side.slot(e.price)
            if _slowPath(!side.add(price: e.price, size: e.size, orders: 1, at: s)) {
                count(.levelOverflow); markStale(b, BookStale.levelOverflow)
            }
            o.pointee.price = e.price
            o.pointee.slot = Int32(truncatingIfNeeded: s)
        }
        o.pointee.size = e.size
    }

    /// Empties every book (start-up or between replays), marking each `stale` (a
    /// `BookStale` reason) until its next clear.
    public func clearAll(stale reason: UInt8 = BookStale.none) {
        for b in 0..<instruments.count {
            sides[2 * b].removeAll()
            sides[2 * b + 1].removeAll()
            stale[b] = reason
        }
        orders.removeAll()
    }

    @usableFromInline @inline(never)
    func clear(_ b: Int) {
        sides[2 * b].removeAll()
        sides[2 * b + 1].removeAll()
        orders.removeAll(book: UInt16(b))
        stale[b] = 0
    }

    @_transparent @usableFromInline
    func publish(_ b: Int, _ e: Event) {
        let view = views[b]
        view.publish(bids: sides[2 &* b], asks: sides[2 &* b &+ 1], event: e, stale: stale[b])
        // A crossed book (normal in a pre-open auction) is stale for this publish only; the
        // other reasons stick until the book is cleared. The view's first levels are the bests.
        let h = view.header
        if h.pointee.bidLevels > 0 && h.pointee.askLevels > 0 && view.levels[0].price >= view.levels[view.depth].price {
            count(.crossedBook)
            if h.pointee.stale == 0 { h.pointee.stale = BookStale.crossed }
        }
        count(.published)
    }

    /// The view of book index `b`.
    @inlinable public func view(book b: Int) -> BookView { views[b] }
}
