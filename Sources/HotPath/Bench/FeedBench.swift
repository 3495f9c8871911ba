import CSupport

/// `hotpath bench feed`: decode (and optionally book) a DBN file held in memory, looped, on
/// one pinned thread. Decode-only turns every record into an `Event`; with the book it also
/// applies each event to the L3 (MBO) or L2 (MBP) book and publishes the top-10 view after
/// each F_LAST record. Books are cleared between loops so every loop replays the same
/// session.
public struct FeedBench {
    public struct Result: Sendable {
        public var records: Int
        public var events: Int
        public var published: Int
        public var seconds: Double
        public var recordsPerSecond: Double { Double(records) / seconds }
        public var nsPerRecord: Double { seconds * 1e9 / Double(records) }
        public var cpu: Int

        public var json: String {
            JSONText.object([
                ("records", "\(records)"), ("seconds", format("%.6f", seconds)),
                ("records_per_s", format("%.0f", recordsPerSecond)), ("ns_per_record", format("%.3f", nsPerRecord)),
                ("events", "\(events)"), ("published", "\(published)"), ("cpu", "\(cpu)"),
            ])
        }
    }

    public let file: FeedFile
    public var book = false
    public var loops = 20
    public var config = L3Book.Config()

    public init(file: FeedFile) { self.file = file }

    /// Runs on a thread pinned to the last CPU this process may use.
    public func run() throws -> Result {
        let cpu = PinnedThread.currentAffinity().cpus.last ?? 0
        let box = ResultBox()
        let arena = try Arena(bytes: BookReplay.arenaBytes(config), cpu: cpu)
        let l3 = try L3Book(config: config, arena: arena)
        let l2 = try L2Book(maxInstruments: config.maxInstruments, depth: config.depth, arena: arena)
        let (file, book, loops) = (self.file, self.book, self.loops)
        let thread = try PinnedThread.start(name: "bench-feed", cpu: cpu) {
            switch file {
            case let .dbn(dbn):
                box.result =
                    book ? Self.decodeAndBook(dbn, loops: loops, l3: l3, l2: l2) : Self.decodeOnly(dbn, loops: loops)
            case let .itch(itch):
                box.result = Self.itch(itch, loops: loops, book: l3, applyToBook: book)
            }
        }
        thread.join()
        withExtendedLifetime(arena) {}
        var r = box.result!
        r.cpu = cpu
        return r
    }

    /// Decodes into a 4096-slot circular buffer of events, as the feed thread decodes into
    /// ring slots, so every field is really stored.
    static func decodeOnly(_ file: DBNFile, loops: Int) -> Result {
        var decoder = DBNDecoder(metadata: file.metadata)
        var cursor = file.cursor()
        let slots = UnsafeMutablePointer<Event>.allocate(capacity: 4096)
        slots.initialize(repeating: Event(), count: 4096)
        defer { slots.deallocate() }
        var records = 0, events = 0
        let t0 = Clock.monotonicNs()
        for _ in 0..<loops {
            cursor.rewind()
            _ = cursor.walk { c in
                records &+= 1
                if decoder.decode(c.record, length: c.length, into: &slots[events & 4095]) { events &+= 1 }
                return true
            }
        }
        let t1 = Clock.monotonicNs()
        // Read the slots back so the stores are observable.
        var check: UInt64 = 0
        for i in 0..<4096 { check &+= slots[i].orderId ^ slots[i].tsRecv }
        hp_black_hole(check)
        return Result(records: records, events: events, published: 0, seconds: Double(t1 - t0) / 1e9, cpu: 0)
    }

    static func decodeAndBook(_ file: DBNFile, loops: Int, l3: L3Book, l2: L2Book) -> Result {
        var decoder = DBNDecoder(metadata: file.metadata)
        var cursor = file.cursor()
        var e = Event()
        var records = 0, events = 0, published = 0
        let t0 = Clock.monotonicNs()
        for _ in 0..<loops {
            cursor.rewind()
            l3.clearAll()
            _ = cursor.walk { c in
                records &+= 1
                guard decoder.decode(c.record, length: c.length, into: &e) else { return true }
                events &+= 1
                // Look one record ahead: start loading the order slot the next MBO record
                // will touch while this one is applied.
                if c.hasNext { l3.orders.prefetch(c.peekOrderId()) }
                let b = e.kind == .order ? l3.apply(e) : e.kind == .level ? l2.apply(record: c.record, event: e) : -1
                if b >= 0 { published &+= 1 }
                return true
            }
        }
        let t1 = Clock.monotonicNs()
        return Result(records: records, events: events, published: published, seconds: Double(t1 - t0) / 1e9, cpu: 0)
    }
}

extension FeedBench {
    /// ITCH: decode every message into events (and apply them to the L3 book).
    static func itch(_ file: ITCHFile, loops: Int, book: L3Book, applyToBook: Bool) -> Result {
        var decoder = ITCHDecoder()
        // 4096 slots used as a ring, plus one so a replace's second event never runs off the end.
        let slots = UnsafeMutablePointer<Event>.allocate(capacity: 4097)
        slots.initialize(repeating: Event(), count: 4097)
        defer { slots.deallocate() }
        var records = 0, events = 0, published = 0
        let t0 = Clock.monotonicNs()
        for _ in 0..<loops {
            guard var reader = try? file.reader() else { break }
            book.clearAll()
            _ = reader.walk { message in
                records &+= 1
                let at = slots + (events & 4095)
                let n = decoder.decode(message, into: at)
                events &+= n
                if applyToBook {
                    for k in 0..<n where at[k].kind == .order { if book.apply(at[k]) >= 0 { published &+= 1 } }
                }
                return true
            }
        }
        let t1 = Clock.monotonicNs()
        return Result(records: records, events: events, published: published, seconds: Double(t1 - t0) / 1e9, cpu: 0)
    }
}

final class ResultBox: @unchecked Sendable {
    var result: FeedBench.Result?
}
