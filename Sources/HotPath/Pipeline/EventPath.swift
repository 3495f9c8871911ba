/// The one per-event path from a market-data event to a feature vector: a trade feeds its
/// instrument's trade state; an order event (`.order`) moves the order book and a price-level
/// event (`.level`, action L) the price-level book; a book that publishes updates its
/// instrument's feature vector from its view. The engine (`EngineCore`, which times each step),
/// `hotpath features` (`FeatureReplay`) and `bench features` step events through it, so they
/// compute the same vectors by construction.
///
/// Both books number instruments alike (the price-level book uses the order book's slots); an
/// instrument is served by one kind of feed. `views[b]` is book `b`'s published view: the order
/// book's until a level event publishes the price-level book's, so reading it costs what
/// reading one book's does. Each book's row is the fixed vector (`MicrostructureFeatures.count`
/// values), then the configured indicator columns (`IndicatorColumns`), which a trade updates
/// when it closes a bar, then the configured per-event columns (`EventColumns`). Raw pointers
/// into arena memory, sized at start; no step allocates.
public struct EventPath: @unchecked Sendable {
    public let book: L3Book
    public let levels: L2Book
    @usableFromInline let views: UnsafeMutablePointer<BookView>
    public let features: UnsafeMutablePointer<MicrostructureFeatures>
    /// Per book, its latest row (`width` values).
    public let rows: UnsafeMutablePointer<Double>
    public let books: Int
    /// A row's values: the fixed vector, then the indicator columns, then the event columns.
    public let width: Int
    /// Per book, its bar series and indicators (none when no column is configured).
    let columns: UnsafeMutablePointer<IndicatorColumns.State>
    let hasColumns: Bool
    /// Per book, its per-event columns (none when none is configured).
    let events: UnsafeMutablePointer<EventColumns.State>
    let hasEvents: Bool
    /// Whether an event column counts cancels (each cancel then finds its book).
    let countsCancels: Bool
    /// Trades the configured volume bar series skipped as too large (`features.oversized_trades`
    /// in the engine's counters).
    let oversized: UnsafeMutablePointer<UInt64>

    /// What `move` returns for an event that moves no book (a trade, a status change, a restart).
    public static let notBook = -2

    /// Arena bytes `init` carves.
    public static func arenaBytes(book: L3Book.Config, features: MicrostructureFeatures.Config) -> Int {
        let n = book.maxInstruments, c = features.indicators
        return L3Book.arenaBytes(book) + L2Book.arenaBytes(maxInstruments: n, depth: book.depth)
            + Arena.footprint(BookView.self, count: n) + Arena.footprint(MicrostructureFeatures.self, count: n)
            + n * MicrostructureFeatures.arenaBytes(features)
            + Arena.footprint(Double.self, count: n * width(features))
            + Arena.footprint(IndicatorColumns.State.self, count: n) + Arena.footprint(UInt64.self, count: 1)
            + (c.columns.isEmpty ? 0 : n * IndicatorColumns.State.arenaBytes(c))
            + Arena.footprint(EventColumns.State.self, count: n)
            + n * EventColumns.State.arenaBytes(features.events, capacity: features.historyCapacity)
    }

    /// A row's width for `features`.
    public static func width(_ features: MicrostructureFeatures.Config) -> Int {
        MicrostructureFeatures.count + features.indicators.columns.count + features.events.columns.count
    }

    public init(
        book config: L3Book.Config, features featureConfig: MicrostructureFeatures.Config, arena: Arena,
        counters: CounterRegistry? = nil, thread: String = "engine"
    ) throws(ArenaError) {
        let n = config.maxInstruments
        books = n
        book = try L3Book(config: config, arena: arena, counters: counters, thread: thread)
        levels = try L2Book(instruments: book.instruments, depth: config.depth, arena: arena)
        views = try arena.allocate(BookView.self, count: n)
        for b in 0..<n { (views + b).initialize(to: book.view(book: b)) }
        features = try arena.allocate(MicrostructureFeatures.self, count: n)
        for b in 0..<n {
            (features + b).initialize(to: try MicrostructureFeatures(config: featureConfig, memory: .arena(arena)))
        }
        width = Self.width(featureConfig)
        rows = try arena.allocate(Double.self, count: n * width)
        rows.update(repeating: .nan, count: n * width)
        let c = featureConfig.indicators
        hasColumns = !c.columns.isEmpty
        columns = try arena.allocate(IndicatorColumns.State.self, count: n)
        if let counters, hasColumns {
            let group = counters.makeGroup(thread: thread, names: ["features.oversized_trades"])
            oversized = UnsafeMutableRawPointer(group.slots).bindMemory(to: UInt64.self, capacity: 1)
        } else {
            oversized = try arena.allocate(UInt64.self, count: 1)
            oversized.initialize(to: 0)
        }
        if hasColumns {
            for b in 0..<n {
                (columns + b).initialize(
                    to: try IndicatorColumns.State(
                        c, offset: MicrostructureFeatures.count, oversizedTrades: oversized, arena: arena))
            }
        }
        let e = featureConfig.events
        hasEvents = !e.columns.isEmpty
        countsCancels = e.countsCancels
        events = try arena.allocate(EventColumns.State.self, count: n)
        if hasEvents {
            for b in 0..<n {
                (events + b).initialize(
                    to: try EventColumns.State(
                        e, offset: MicrostructureFeatures.count + c.columns.count,
                        capacity: featureConfig.historyCapacity, arena: arena))
            }
        }
    }

    /// Moves the book `e` is for. Returns the book that published, −1 when none did (mid-batch,
    /// or no slot left), or `notBook`.
    @inline(__always)
    public func move(_ e: Event) -> Int {
        if e.kind == .order {
            if countsCancels && e.action == Event.Action.cancel { countCancel(e) }
            return book.apply(e)
        }
        guard e.kind == .level && e.action == Event.Action.level else { return Self.notBook }
        let b = levels.apply(level: e)
        if b >= 0 { views[b] = levels.view(book: b) }
        return b
    }

    /// Book `b`'s feature vector after the publish `e` made.
    @inline(__always)
    public func updateFeatures(book b: Int, event e: Event) {
        features[b].book(views[b], event: e, into: rows + b &* width)
        if hasEvents {
            events[b].book(
                row: rows + b &* width, view: views[b], at: features[b].clockTime(e), exchangeTime: e.tsEvent)
        }
    }

    /// A cancel into its instrument's cancel rates (only when an event column counts them).
    @inline(never)
    func countCancel(_ e: Event) {
        guard let b = book.instruments.lookup(e.instrumentId) else { return }
        events[b].cancel(at: features[b].clockTime(e))
    }

    /// A trade into its instrument's trade state. Returns its book, or −1 when it has none.
    @inline(__always)
    public func trade(_ e: Event) -> Int {
        guard let b = book.instruments.lookup(e.instrumentId) else { return -1 }
        features[b].trade(e)
        guard e.price != Event.undefinedPrice else { return b }
        let price = Double(e.price) / 1e9, row = rows + b &* width
        if hasColumns { columns[b].trade(price: price, size: Double(e.size), at: features[b].clockTime(e), row: row) }
        if hasEvents { events[b].trade(price: price, side: e.side, at: features[b].clockTime(e), row: row) }
        return b
    }

    /// Book `b`'s published view.
    @inline(__always)
    public func view(_ b: Int) -> BookView { views[b] }

    /// Empties every book (a restart, a new subscription); features keep their state.
    public func clearAll(stale reason: UInt8 = BookStale.none) {
        levels.clearAll()
        book.clearAll(stale: reason)
    }

    /// Feature values left undefined and bad inputs skipped, over every book.
    public var featureCounts: (undefined: Int, badInputs: Int) {
        (0..<books).reduce((0, 0)) { ($0.0 + features[$1].undefined, $0.1 + features[$1].badInputs) }
    }

    /// Trades the configured volume bar series skipped as too large, over every book.
    public var oversizedTrades: Int { Int(oversized.pointee) }

    /// Feature updates (published views and trades) so far, over every book.
    public var featureUpdates: Int { (0..<books).reduce(0) { $0 + features[$1].updates } }

    /// Frees the feature states' window memory (the arena holds the rest). Once, at the end.
    public func release() {
        for b in 0..<books { features[b].release() }
        features.deinitialize(count: books)
    }
}
