import MallocCounter
import XCTest

@testable import HotPath

#if canImport(Glibc)
import Glibc
#endif

/// Price-level feeds (MBP-1, MBP-10, BBO) drive the engine: `DBNEvents` turns each record
/// into `.level` events, and the engine's `L2Book` holds exactly the records' levels.
extension EngineTests {
    /// An MBP-10 file made from the ESH4 MBO session: after each order-book publish, one record
    /// with the book's top ten levels (every record closes a batch), and one for each trade,
    /// carrying the levels as they stand. Returns the file and each publish's levels (bids then
    /// asks, ten each; absent levels have an undefined price).
    func mbp10FromESH4() throws -> (path: String, views: [[PriceLevels.Level]]) {
        let data = try TestPaths.requireSharedData()
        guard case let .dbn(mbo) = try FeedFile.open(data + "/dbn/esh4-glbx-mdp3-20231225.mbo.dbn.zst") else {
            throw XCTSkip("not DBN")
        }
        var config = L3Book.Config()
        (config.maxInstruments, config.maxOrders, config.depth) = (8, 65536, 10)
        let arena = try Arena(bytes: L3Book.arenaBytes(config), lock: false)
        defer { withExtendedLifetime(arena) {} }
        let book = try L3Book(config: config, arena: arena)
        var out = Array(UnsafeRawBufferPointer(rebasing: mbo.input.bytes[0..<mbo.metadata.recordsOffset]))
        var views: [[PriceLevels.Level]] = []
        let absent = PriceLevels.Level(price: Event.undefinedPrice, size: 0, count: 0)
        func levels(_ instrument: UInt32) -> [PriceLevels.Level] {
            guard let b = book.instruments.lookup(instrument) else { return Array(repeating: absent, count: 20) }
            let v = book.view(book: b), h = v.info
            return (0..<10).map { $0 < Int(h.bidLevels) ? v.bid($0) : absent }
                + (0..<10).map { $0 < Int(h.askLevels) ? v.ask($0) : absent }
        }
        func write(_ e: Event, _ l: [PriceLevels.Level]) {
            var r = [UInt8](repeating: 0, count: 368)
            func put<T: FixedWidthInteger>(_ v: T, _ at: Int) {
                withUnsafeBytes(of: v.littleEndian) { for (i, byte) in $0.enumerated() { r[at + i] = byte } }
            }
            (r[0], r[1]) = (92, DBNRType.mbp10)
            put(e.publisherId, 2)
            put(e.instrumentId, 4)
            put(e.tsEvent, 8)
            put(e.price, 16)
            put(e.size, 24)
            (r[28], r[29], r[30], r[31]) = (e.action, e.side, e.flags | DBNFlags.last, 0)
            put(e.tsRecv, 32)
            put(UInt32(truncatingIfNeeded: e.sequence), 44)
            for k in 0..<10 {
                let bid = l[k], ask = l[10 + k], at = 48 + 32 * k
                put(bid.price, at)
                put(ask.price, at + 8)
                put(bid.size, at + 16)
                put(ask.size, at + 20)
                put(bid.count, at + 24)
                put(ask.count, at + 28)
            }
            out += r
        }
        try FeedFile.dbn(mbo).forEachEvent { e in
            if e.action == Event.Action.trade {
                write(e, levels(e.instrumentId))
                return
            }
            guard e.kind == .order, book.apply(e) >= 0 else { return }
            let l = levels(e.instrumentId)
            views.append(l)
            write(e, l)
        }
        return (temporaryFile(out, suffix: ".dbn"), views)
    }

    /// Each `.level` event set of a record, applied to the engine's kind of price-level book,
    /// publishes exactly the record's levels: the MBO book's top ten, publish for publish.
    func testLevelEventsRebuildEachRecordsLevels() throws {
        let (path, views) = try mbp10FromESH4()
        defer { unlink(path) }
        let arena = try Arena(bytes: L2Book.arenaBytes(maxInstruments: 8, depth: 10), lock: false)
        defer { withExtendedLifetime(arena) {} }
        let l2 = try L2Book(maxInstruments: 8, depth: 10, arena: arena)
        var published = 0, levelEvents = 0, records = 0
        try FeedFile.open(path).forEachEvent { e in
            guard e.kind == .level, e.action == Event.Action.level else { return }
            levelEvents += 1
            let b = l2.apply(level: e)
            guard b >= 0 else { return }
            let v = l2.view(book: b), h = v.info
            let absent = PriceLevels.Level(price: Event.undefinedPrice, size: 0, count: 0)
            let got =
                (0..<10).map { $0 < Int(h.bidLevels) ? v.bid($0) : absent }
                + (0..<10).map { $0 < Int(h.askLevels) ? v.ask($0) : absent }
            if published < views.count, got != views[published] {
                XCTFail("publish \(published): the levels differ from the order book's")
            }
            published += 1
        }
        records = views.count
        XCTAssertEqual(published, records)
        XCTAssertGreaterThan(records, 40_000)
        print("mbp-10 from esh4: \(records) records, \(levelEvents) level events")
        // Most records move one or two levels, not all twenty.
        XCTAssertLessThan(levelEvents, 4 * records, "\(levelEvents) level events for \(records) records")
    }

    /// An MBP-10 replay through the engine: its books move, the models run, signals come out.
    func testAnMBP10ReplayProducesSignals() throws {
        let (path, views) = try mbp10FromESH4()
        defer { unlink(path) }
        let c = try config(risk: "max_position = 5\nmax_signals_per_s = 100", signal: "evaluate = \"every_event\"")
        let (report, outcome) = try run(c, try FeedFile.open(path))
        XCTAssertTrue(outcome.errors.isEmpty)
        let bookEvents = Int(report.counter("engine.book_events") ?? 0)
        let notBook = Int(report.counter("engine.not_book") ?? 0)
        let evaluations = Int(report.counter("engine.evaluations") ?? 0)
        let emitted = Int(report.counter("engine.emitted") ?? 0)
        XCTAssertEqual(bookEvents, views.count)
        XCTAssertEqual(notBook, 0)
        XCTAssertGreaterThan(evaluations, 40_000)
        XCTAssertGreaterThan(emitted, 0)
    }

    /// Real CME MBP-1 records drive the engine as well.
    func testAnMBP1ReplayRunsTheModels() throws {
        let data = try TestPaths.requireSharedData()
        let file = try FeedFile.open(data + "/dbn/futures_mbp-1_2024-07-01T23-58_2024-07-02T00-02.dbn.zst")
        let c = try config(signal: "evaluate = \"every_event\"")
        let (report, outcome) = try run(c, file)
        XCTAssertTrue(outcome.errors.isEmpty)
        let notBook = Int(report.counter("engine.not_book") ?? 0)
        let bookEvents = Int(report.counter("engine.book_events") ?? 0)
        let evaluations = Int(report.counter("engine.evaluations") ?? 0)
        XCTAssertEqual(notBook, 0)
        XCTAssertGreaterThan(bookEvents, 1000)
        XCTAssertEqual(bookEvents, evaluations)
    }

    /// The level step allocates nothing per record on the feed thread (a replay's mallocs do
    /// not grow with its records), nor per event on the engine thread, and retains nothing.
    func testTheLevelPathAllocatesNothingPerEvent() throws {
        try requireOptimizedBuild()
        let (path, _) = try mbp10FromESH4()
        defer { unlink(path) }
        let file = try FeedFile.open(path)
        var events: [Event] = []
        try file.forEachEvent { events.append($0) }
        // The first half of the records (each 368 bytes, after the metadata), then all.
        let bytes = try XCTUnwrap(readBytes(path))
        guard case let .dbn(whole) = file else { return XCTFail("not DBN") }
        let half = whole.metadata.recordsOffset + (bytes.count - whole.metadata.recordsOffset) / 368 / 2 * 368
        let halfPath = temporaryFile(Array(bytes[..<half]), suffix: ".dbn")
        defer { unlink(halfPath) }
        let arena = try Arena(bytes: 200 << 20, lock: false)
        defer { withExtendedLifetime(arena) {} }
        // Mallocs and retains of a replay, and of a merge of the file with itself.
        func counts(_ path: String, merged: Bool) throws -> [UInt64] {
            let ring = try SPSCRing<Event>(capacity: 1 << 19, policy: .drop, arena: arena)
            var replay = FileReplay(file: try FeedFile.open(path), clock: Clock.calibrated())
            if merged { replay.mergedWith = [try FeedFile.open(path)] }
            let before = (hp_thread_malloc_count(), hp_thread_retain_count())
            let stats = replay.run(into: ring.producer)
            XCTAssertEqual(stats.dropped, 0)
            return [hp_thread_malloc_count() - before.0, hp_thread_retain_count() - before.1]
        }
        for merged in [false, true] {
            _ = try counts(halfPath, merged: merged)  // first-use costs
            XCTAssertEqual(try counts(halfPath, merged: merged), try counts(path, merged: merged), "merged: \(merged)")
        }

        let engine = try Engine(config: try config())
        assertEngineAllocatesNothing(engine.core, events, warmUp: 10_000)
    }
}

extension EngineTests {
    /// The engine and `hotpath features` (FeatureReplay) step events through one `EventPath`:
    /// for an ITCH session, an MBO file and an MBP-10 file, every published view gives the same
    /// row in both, bit for bit: the fixed vector, and with the demo's configured vector
    /// (demo/config-vector.toml) its indicator columns too.
    func testTheEngineAndFeaturesComputeIdenticalVectors() throws {
        var files: [(String, FeedFile)] = [("itch", try demoSession(messages: 30_000))]
        if let data = TestPaths.sharedData {
            files.append(("mbo", try FeedFile.open(data + "/dbn/esh4-glbx-mdp3-20231225.mbo.dbn.zst")))
        }
        let mbp = try? mbp10FromESH4()
        defer { if let mbp { unlink(mbp.path) } }
        if let mbp { files.append(("mbp-10", try FeedFile.open(mbp.path))) }
        for (c, (name, file)) in [try config(), try IndicatorColumnTests.demoVector()].flatMap({ c in
            files.map { (c, $0) }
        }) {
            var expected: [[UInt64]] = []
            _ = try FeatureReplay.run(file, config: c.features) { _, _, row in expected.append(row.map(\.bitPattern)) }
            let engine = try Engine(config: c)
            let core = engine.core
            var got: [[UInt64]] = []
            let published = core.counts[EngineCore.Count.bookEvents.rawValue]
            try file.forEachEvent { e in
                let before = published.value
                core.process(e)
                guard published.value != before, let b = core.book.instruments.lookup(e.instrumentId) else { return }
                let row = core.path.rows + b * core.path.width
                got.append((0..<core.path.width).map { row[$0].bitPattern })
            }
            XCTAssertEqual(got.first?.count, EventPath.width(c.features))
            XCTAssertGreaterThan(expected.count, 1000, name)
            XCTAssertEqual(got.count, expected.count, name)
            XCTAssertTrue(got == expected, "\(name): the vectors differ")
        }
    }
}
