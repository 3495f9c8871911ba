/// Rebuilds books from a DBN file and hands each published view to `emit`: the engine's
/// decode → book path, single-threaded, for `hotpath book` and the tests.
public enum BookReplay {
    public struct Result: Sendable {
        public var skips: DBNFile.Skips
        /// The L3 book's counters by name (events, published, unknown_order, …).
        public var counters: [(String, UInt64)]
        public var problems: String? {
            let problems = Set(L3Book.Counter.allCases.filter(\.isProblem).map(\.name))
            let bad = counters.filter { problems.contains($0.0) && $0.1 != 0 }
            return bad.isEmpty ? nil : "book inconsistencies: " + bad.map { "\($0.0)=\($0.1)" }.joined(separator: " ")
        }
    }

    /// ITCH: every message's events are applied to the L3 book, which publishes after each
    /// message.
    public static func run(
        _ file: ITCHFile, config: L3Book.Config = L3Book.Config(), instrument: UInt32? = nil,
        emit: (BookView) -> Void
    ) throws -> (Result, ITCHFile.Summary) {
        let arena = try arena(config)
        defer { withExtendedLifetime(arena) {} }  // the books point into it
        var walk = try ITCHBookWalk(config: config, arena: arena)
        defer { walk.deallocate() }
        var reader = try file.reader()
        try reader.walk(refill: { file.input.refill(&$0) }) { message in
            walk.take(message, instrument: instrument, emit: emit)
            return true
        }.check(file: file.path, input: file.input)
        let c = walk.events.decoder.counts
        return (walk.result, ITCHFile.Summary(reader: reader.counts, unknownOrShort: c.unknownType + c.short))
    }

    /// A live MoldUDP64 session (`start()` is called here), until end of session, `idleNs`
    /// without data (0: no limit) or `stop`.
    public static func run(
        _ feed: MoldUDP64Feed, config: L3Book.Config = L3Book.Config(), instrument: UInt32? = nil,
        idleNs: UInt64 = 0, stop: () -> Bool = { false },
        emit: (BookView) -> Void
    ) throws -> (Result, MoldUDP64Feed.End) {
        let arena = try arena(config)
        defer { withExtendedLifetime(arena) {} }
        var walk = try ITCHBookWalk(config: config, arena: arena)
        defer { walk.deallocate() }
        try feed.start()
        let end = feed.drain(idleNs: idleNs, stop: stop) { walk.take($0, instrument: instrument, emit: emit) }
        return (walk.result, end)
    }

    /// The ITCH book step files and live sessions share: a message's events into the L3 book.
    struct ITCHBookWalk {
        let l3: L3Book
        var events = ITCHEvents()

        init(config: L3Book.Config, arena: Arena) throws {
            l3 = try L3Book(config: config, arena: arena)
        }

        func deallocate() { events.deallocate() }

        mutating func take(_ message: ITCHReader.Message, instrument: UInt32?, emit: (BookView) -> Void) {
            let n = events.decode(message)
            for i in 0..<n where events.slots[i].kind == .order {
                let b = l3.apply(events.slots[i])
                if b >= 0, instrument.map({ $0 == events.slots[i].instrumentId }) ?? true { emit(l3.view(book: b)) }
            }
        }

        var result: Result {
            let c = events.decoder.counts
            return Result(
                skips: .init(unknownType: c.unknownType, short: c.short),
                counters: L3Book.counterNames.map { ($0, l3.counter($0)) })
        }
    }

    /// Room for the L3 and L2 books of `config`.
    static func arena(_ config: L3Book.Config) throws -> Arena {
        try Arena(bytes: arenaBytes(config), lock: false)
    }

    /// Arena bytes for the L3 and L2 books of `config`.
    static func arenaBytes(_ config: L3Book.Config) -> Int {
        L3Book.arenaBytes(config) + L2Book.arenaBytes(maxInstruments: config.maxInstruments, depth: config.depth)
    }

    public static func run(
        _ file: DBNFile, config: L3Book.Config = L3Book.Config(), instrument: UInt32? = nil,
        emit: (BookView) -> Void
    ) throws -> Result {
        let arena = try arena(config)
        defer { withExtendedLifetime(arena) {} }  // the books point into it
        var walk = try DBNBookWalk(config: config, arena: arena, metadata: file.metadata)
        var cursor = file.cursor()
        try cursor.walk(refill: { file.input.refill(&$0) }) { c in
            walk.take(c, instrument: instrument, emit: emit)
            return true
        }.check(file: file.path, input: file.input)
        return walk.result
    }

    /// A Databento Live source, across its sessions, until `stop`, its idle time-out, or an
    /// end it cannot get past (`DatabentoFeed.End`). Each session after the first empties
    /// the L3 books and marks them `resubscribed`-stale until the stream clears them (an MBO
    /// snapshot, `snapshot=1`, starts with a clear); MBP records carry their levels whole, so
    /// an L2 book is rebuilt by its next record.
    public static func run(
        _ feed: DatabentoFeed, config: L3Book.Config = L3Book.Config(), instrument: UInt32? = nil,
        stop: () -> Bool, emit: (BookView) -> Void
    ) throws -> (Result, DatabentoFeed.End) {
        let arena = try arena(config)
        defer { withExtendedLifetime(arena) {} }
        var walk: DBNBookWalk?
        var skips = DBNFile.Skips()
        let end = feed.run(stop: stop) { session, metadata in
            if let w = walk {
                // The books live on; the decoder follows the new session's metadata.
                skips.add(w.skips)
                w.l3.clearAll(stale: BookStale.resubscribed)
                walk!.decoder = DBNDecoder(metadata: metadata)
            } else {
                do { walk = try DBNBookWalk(config: config, arena: arena, metadata: metadata) } catch {
                    return .failed(offset: 0, reason: "\(error)")
                }
            }
            var cursor = session.cursor()
            return cursor.walk(refill: { feed.refill(session, &$0, stop: stop) }) { c in
                if feed.admit(c) == .emit { walk!.take(c, instrument: instrument, emit: emit) }
                return true
            }
        }
        guard let walk else { return (Result(skips: skips, counters: L3Book.counterNames.map { ($0, 0) }), end) }
        var result = walk.result
        result.skips.add(skips)
        return (result, end)
    }

    /// The DBN book step files and live sessions share: MBO records into the L3 book,
    /// MBP/BBO records into the L2 book.
    struct DBNBookWalk {
        let l3: L3Book
        let l2: L2Book
        var decoder: DBNDecoder
        var event = Event()

        init(config: L3Book.Config, arena: Arena, metadata: DBNMetadata) throws {
            l3 = try L3Book(config: config, arena: arena)
            l2 = try L2Book(maxInstruments: config.maxInstruments, depth: config.depth, arena: arena)
            decoder = DBNDecoder(metadata: metadata)
        }

        @inline(__always)
        mutating func take(_ c: DBNRecordCursor, instrument: UInt32?, emit: (BookView) -> Void) {
            guard decoder.decode(c.record, length: c.length, into: &event) else { return }
            let b: Int
            switch event.kind {
            case .order: b = l3.apply(event)
            case .level: b = l2.apply(record: c.record, event: event)
            default: b = -1
            }
            if b >= 0, instrument.map({ $0 == event.instrumentId }) ?? true {
                emit(event.kind == .order ? l3.view(book: b) : l2.view(book: b))
            }
        }

        var skips: DBNFile.Skips {
            let c = decoder.counts
            return .init(unknownType: c.unknownType, short: c.short)
        }

        var result: Result {
            Result(skips: skips, counters: L3Book.counterNames.map { ($0, l3.counter($0)) })
        }
    }
}
