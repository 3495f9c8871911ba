import MallocCounter
import XCTest

@testable import HotPath

final class BookTests: XCTestCase {
    /// The top 10 after every F_LAST record equals the reference book that
    /// tools/dbn/make_fixtures.py builds from the official decoder's records.
    func testBooksEqualTheReferenceBookAfterEveryLastFlag() throws {
        let data = try TestPaths.requireSharedData()
        let table = readText(TestPaths.fixtures + "/dbn/books.tsv")!
        var checked = 0
        for row in table.split(separator: "\n").dropFirst() {
            let cols = row.split(separator: "\t").map(String.init)
            var text: [UInt8] = []
            var lines = 0
            let result = try BookReplay.run(DBNFile(path: data + "/dbn/" + cols[0])) { view in
                text += view.json.utf8
                text.append(0x0A)
                lines += 1
            }
            XCTAssertEqual(lines, Int(cols[1]), cols[0])
            XCTAssertEqual(
                sha256Hex(text), cols[2], "\(cols[0]): book differs from the reference (see Tests/Fixtures/dbn/books/)")
            XCTAssertEqual(result.skips.total, 0)
            checked += 1
        }
        XCTAssertEqual(checked, 10)
    }

    func makeBook(maxOrders: Int = 1024, maxInstruments: Int = 4, levels: Int = 64) throws -> (L3Book, Arena) {
        let arena = try Arena(bytes: 4 << 20, lock: false)
        defer { withExtendedLifetime(arena) {} }  // what is carved from it holds raw pointers
        var config = L3Book.Config()
        config.maxOrders = maxOrders
        config.maxInstruments = maxInstruments
        config.levelsPerSide = levels
        return (try L3Book(config: config, arena: arena), arena)
    }

    func event(
        _ action: UInt8, _ side: UInt8, id: UInt64, price: Int64, size: UInt32, instrument: UInt32 = 1,
        last: Bool = true
    ) -> Event {
        var e = Event()
        e.action = action; e.side = side; e.orderId = id; e.price = price; e.size = size
        e.instrumentId = instrument; e.kind = .order; e.flags = last ? 0x80 : 0
        return e
    }

    func testAddCancelModifyAggregateByLevel() throws {
        let (book, arena) = try makeBook()
        withExtendedLifetime(arena) {
            book.apply(event(Event.Action.add, Event.Side.bid, id: 1, price: 100, size: 5))
            book.apply(event(Event.Action.add, Event.Side.bid, id: 2, price: 100, size: 3))
            book.apply(event(Event.Action.add, Event.Side.bid, id: 3, price: 99, size: 7))
            book.apply(event(Event.Action.add, Event.Side.ask, id: 4, price: 101, size: 2))
            book.apply(event(Event.Action.cancel, Event.Side.bid, id: 1, price: 100, size: 2))  // partial
            var v = book.view(instrumentId: 1)!
            XCTAssertEqual(v.bid(0), .init(price: 100, size: 6, count: 2))
            XCTAssertEqual(v.bid(1), .init(price: 99, size: 7, count: 1))
            XCTAssertEqual(v.ask(0), .init(price: 101, size: 2, count: 1))
            book.apply(event(Event.Action.modify, Event.Side.bid, id: 2, price: 98, size: 4))  // price change
            book.apply(event(Event.Action.modify, Event.Side.bid, id: 1, price: 100, size: 1))  // size down
            v = book.view(instrumentId: 1)!
            XCTAssertEqual(v.info.bidLevels, 3)
            XCTAssertEqual(
                [v.bid(0), v.bid(1), v.bid(2)],
                [
                    .init(price: 100, size: 1, count: 1), .init(price: 99, size: 7, count: 1),
                    .init(price: 98, size: 4, count: 1),
                ])
            book.apply(event(Event.Action.clear, Event.Side.none, id: 0, price: Event.undefinedPrice, size: 0))
            XCTAssertEqual(book.view(instrumentId: 1)!.info.bidLevels, 0)
            XCTAssertEqual(book.orders.count, 0)
            XCTAssertEqual(v.info.stale, BookStale.none)
        }
    }

    /// The view changes only when a batch closes: records without F_LAST (the first fills of
    /// one match) do not show through it, whether they resize a published level or add one.
    func testViewChangesOnlyAtTheEndOfABatch() throws {
        let (book, arena) = try makeBook()
        withExtendedLifetime(arena) {
            // Enough distinct prices for the ladders to learn their tick (25).
            for i in 0..<20 {
                book.apply(
                    event(Event.Action.add, Event.Side.bid, id: UInt64(1 + i), price: 10_000 - Int64(i) * 25, size: 5))
                book.apply(
                    event(Event.Action.add, Event.Side.ask, id: UInt64(101 + i), price: 10_025 + Int64(i) * 25, size: 4)
                )
            }
            let v = book.view(instrumentId: 1)!
            let (bids, asks, version) = ((0..<10).map(v.bid), (0..<10).map(v.ask), v.info.version)
            XCTAssertEqual(bids[0], .init(price: 10_000, size: 5, count: 1))
            book.apply(event(Event.Action.cancel, Event.Side.bid, id: 1, price: 10_000, size: 2, last: false))
            book.apply(event(Event.Action.cancel, Event.Side.bid, id: 2, price: 9_975, size: 1, last: false))
            book.apply(event(Event.Action.add, Event.Side.ask, id: 200, price: 10_025, size: 1, last: false))
            XCTAssertEqual((0..<10).map(v.bid), bids, "resized levels show before the batch ends")
            XCTAssertEqual((0..<10).map(v.ask), asks)
            XCTAssertEqual(v.info.version, version)
            book.apply(event(Event.Action.cancel, Event.Side.ask, id: 102, price: 10_050, size: 1, last: true))
            XCTAssertEqual(
                [v.bid(0), v.bid(1)], [.init(price: 10_000, size: 3, count: 1), .init(price: 9_975, size: 4, count: 1)])
            XCTAssertEqual(
                [v.ask(0), v.ask(1)],
                [.init(price: 10_025, size: 5, count: 2), .init(price: 10_050, size: 3, count: 1)])
            XCTAssertEqual(v.info.version, version + 1)
        }
    }

    /// Random adds, cancels and modifies against a plain model of the resting orders, through
    /// the ladder's tick learning, a finer tick that relays its window, and prices outside it:
    /// the slots the book keeps with its orders go stale there, and must never be trusted then.
    func testRandomOrderFlowMatchesTheModelThroughRelayouts() throws {
        let (book, arena) = try makeBook(maxOrders: 4096, levels: 4096)
        withExtendedLifetime(arena) {
            var live: [UInt64: (side: UInt8, price: Int64, size: UInt32)] = [:]
            var rng: UInt64 = 0x9E37_79B9
            func next(_ n: Int) -> Int {
                rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return Int(rng % UInt64(n))
            }
            func top(_ side: UInt8) -> [PriceLevels.Level] {
                var levels: [Int64: (UInt32, UInt32)] = [:]
                for o in live.values where o.side == side {
                    levels[o.price, default: (0, 0)].0 += o.size; levels[o.price, default: (0, 0)].1 += 1
                }
                let prices = levels.keys.sorted(by: side == Event.Side.bid ? (>) : (<)).prefix(10)
                return prices.map { .init(price: $0, size: levels[$0]!.0, count: levels[$0]!.1) }
            }
            var nextId: UInt64 = 1
            for step in 0..<30_000 {
                let side = next(2) == 0 ? Event.Side.bid : Event.Side.ask
                // Bids below 1,000 ticks of 500, asks above; later a finer tick, sometimes far away.
                var price = Int64(side == Event.Side.bid ? 900 + next(100) : 1001 + next(100)) * 500
                if step > 3_000 && next(40) == 0 { price += 250 }
                if next(300) == 0 { price += (side == Event.Side.bid ? -1 : 1) * 50_000_000 }
                let size = UInt32(1 + next(20))
                let last = next(4) != 0
                let roll = next(10)
                if live.isEmpty || roll < 4 {
                    book.apply(event(Event.Action.add, side, id: nextId, price: price, size: size, last: last))
                    live[nextId] = (side, price, size)
                    nextId += 1
                } else {
                    let id = live.keys.sorted()[next(live.count)]
                    let o = live[id]!
                    if roll < 8 {
                        let take = min(o.size, roll < 6 ? o.size : size)
                        book.apply(event(Event.Action.cancel, o.side, id: id, price: o.price, size: take, last: last))
                        live[id] = take == o.size ? nil : (o.side, o.price, o.size - take)
                    } else {
                        let newPrice =
                            roll == 8
                            ? o.price : price + (o.side == side ? 0 : (o.side == Event.Side.bid ? -50_000 : 50_000))
                        book.apply(event(Event.Action.modify, o.side, id: id, price: newPrice, size: size, last: last))
                        live[id] = (o.side, newPrice, size)
                    }
                }
                guard last else { continue }
                let v = book.view(instrumentId: 1)!
                let bids = (0..<Int(v.info.bidLevels)).map(v.bid), asks = (0..<Int(v.info.askLevels)).map(v.ask)
                XCTAssertEqual(bids, top(Event.Side.bid), "step \(step)")
                XCTAssertEqual(asks, top(Event.Side.ask), "step \(step)")
                if bids != top(Event.Side.bid) || asks != top(Event.Side.ask) { return }
            }
            XCTAssertEqual(
                book.counter("unknown_order") + book.counter("size_underflow") + book.counter("level_overflow"), 0)
        }
    }

    /// `arenaBytes` is what the books carve: an arena of exactly that size holds them (the
    /// engine, the replays and the benches size their arenas with it).
    func testArenaBytesCoverWhatTheBooksCarve() throws {
        for (orders, instruments, slots, levels, depth) in [
            (1 << 18, 64, 4096, 4096, 10), (100_000, 3, 1000, 17, 50), (1, 1, 1, 1, 1),
        ] {
            var config = L3Book.Config()
            (config.maxOrders, config.maxInstruments, config.ladderSlots, config.levelsPerSide, config.depth) = (
                orders, instruments, slots, levels, depth
            )
            let bytes = L3Book.arenaBytes(config),
                l2Bytes = L2Book.arenaBytes(maxInstruments: instruments, depth: depth)
            let arena = try Arena(bytes: bytes + l2Bytes, lock: false)
            try withExtendedLifetime(arena) {
                _ = try L3Book(config: config, arena: arena)
                XCTAssertLessThanOrEqual(arena.used, bytes, "L3 \(config)")
                _ = try L2Book(maxInstruments: instruments, depth: depth, arena: arena)
                XCTAssertLessThanOrEqual(arena.used, bytes + l2Bytes, "L2 \(config)")
            }
        }
    }

    func testInconsistentInputIsCountedAndMarksTheBookStale() throws {
        let (book, arena) = try makeBook(maxOrders: 16, maxInstruments: 1, levels: 2)
        withExtendedLifetime(arena) {
            book.apply(event(Event.Action.cancel, Event.Side.bid, id: 42, price: 100, size: 1))  // unknown order
            XCTAssertEqual(book.counter("unknown_order"), 1)
            XCTAssertEqual(book.view(instrumentId: 1)!.info.stale, BookStale.unknownOrder)
            book.apply(event(Event.Action.add, Event.Side.bid, id: 1, price: 100, size: 1))
            book.apply(event(Event.Action.cancel, Event.Side.bid, id: 1, price: 100, size: 5))  // underflow
            XCTAssertEqual(book.counter("size_underflow"), 1)
            XCTAssertEqual(book.view(instrumentId: 1)!.info.bidLevels, 0, "an underflowing cancel removes the order")
            book.apply(event(Event.Action.add, Event.Side.bid, id: 2, price: 100, size: 1))
            book.apply(event(Event.Action.add, Event.Side.bid, id: 2, price: 100, size: 1))  // duplicate
            XCTAssertEqual(book.counter("duplicate_order"), 1)
            book.apply(event(Event.Action.add, Event.Side.bid, id: 3, price: 99, size: 1))
            book.apply(event(Event.Action.add, Event.Side.bid, id: 4, price: 98, size: 1))  // third level: overflow
            XCTAssertEqual(book.counter("level_overflow"), 1)
            book.apply(event(Event.Action.add, Event.Side.ask, id: 5, price: 90, size: 1))  // crosses
            XCTAssertEqual(book.counter("crossed_book"), 1)
            book.apply(event(Event.Action.add, Event.Side.none, id: 6, price: 90, size: 1))
            XCTAssertEqual(book.counter("bad_side"), 1)
            // No book left for a third instrument.
            book.apply(event(Event.Action.add, Event.Side.bid, id: 7, price: 100, size: 1, instrument: 2))
            XCTAssertEqual(book.counter("too_many_instruments"), 1)
            for id in UInt64(100)..<130 {
                book.apply(event(Event.Action.add, Event.Side.bid, id: id, price: 100, size: 1))
            }
            XCTAssertGreaterThan(book.counter("order_table_full"), 0)
            // A clear resets the stale mark.
            book.apply(event(Event.Action.clear, Event.Side.none, id: 0, price: Event.undefinedPrice, size: 0))
            XCTAssertEqual(book.view(instrumentId: 1)!.info.stale, BookStale.none)
        }
    }

    func testCrossedBookIsStaleOnlyWhileCrossed() throws {
        let (book, arena) = try makeBook()
        withExtendedLifetime(arena) {
            book.apply(event(Event.Action.add, Event.Side.bid, id: 1, price: 100, size: 1))
            book.apply(event(Event.Action.add, Event.Side.ask, id: 2, price: 99, size: 1))
            XCTAssertEqual(book.view(instrumentId: 1)!.info.stale, BookStale.crossed)
            book.apply(event(Event.Action.cancel, Event.Side.ask, id: 2, price: 99, size: 1))
            XCTAssertEqual(book.view(instrumentId: 1)!.info.stale, BookStale.none)
        }
    }

    func testOrderTableSurvivesChurnWithBackwardShiftDeletion() throws {
        let arena = try Arena(bytes: 1 << 20, lock: false)
        defer { withExtendedLifetime(arena) {} }  // what is carved from it holds raw pointers
        let table = try OrderTable(capacity: 64, arena: arena)
        var live = Set<UInt64>()
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let id = UInt64.random(in: 1...80, using: &rng)
            if live.contains(id) {
                table.remove(slot: table.find(id))
                live.remove(id)
            } else if live.count < 50 {
                XCTAssertEqual(table.insert(.init(id: id, price: 1, size: 1, book: 0, side: 66, used: 1)), .inserted)
                live.insert(id)
            }
            XCTAssertEqual(table.count, live.count)
        }
        for id in UInt64(1)...80 { XCTAssertEqual(table.find(id) >= 0, live.contains(id), "order \(id)") }
    }

    /// Decode + book + publish over the real ESH4 records: malloc count flat in the number of
    /// records, and no retains at all.
    func testDecodeAndBookDoNotAllocate() throws {
        try requireOptimizedBuild()
        let data = try TestPaths.requireSharedData()
        let dbn = try DBNFile(path: data + "/dbn/esh4-glbx-mdp3-20231225.mbo.dbn.zst")
        let (book, arena) = try makeBook(maxOrders: 1 << 16, maxInstruments: 4, levels: 4096)
        var retains: UInt64 = 0
        func run(records: Int) -> UInt64 {
            var decoder = DBNDecoder(metadata: dbn.metadata)
            var cursor = dbn.cursor()
            var e = Event()
            let before = hp_thread_malloc_count(), retainsBefore = hp_thread_retain_count()
            defer { retains += hp_thread_retain_count() - retainsBefore }
            var n = 0
            while n < records {
                if cursor.next() != .record {
                    cursor.rewind()
                    book.apply(event(Event.Action.clear, Event.Side.none, id: 0, price: 0, size: 0, instrument: 17077))
                    continue
                }
                if decoder.decode(cursor.record, length: cursor.length, into: &e) { book.apply(e) }
                n += 1
            }
            return hp_thread_malloc_count() - before
        }
        withExtendedLifetime(arena) {
            XCTAssertEqual(run(records: 1_000), run(records: 1_000_000))
        }
        XCTAssertEqual(retains, 0)
    }
}
