import MallocCounter
import Synchronization
import XCTest

@testable import HotPath

final class FileReplayTests: XCTestCase {
    final class Sink: @unchecked Sendable {
        var count = 0
        var checksum: UInt64 = 0
        /// Market events whose exchange time is earlier than the one before.
        var backwards = 0
        var lastTs: UInt64 = 0
        var restarts = 0
    }

    /// Replays through a pinned feed thread into the ring and counts what a pinned consumer
    /// pops, with an order-sensitive checksum over the decoded fields.
    func replay(
        _ file: FeedFile, pace: FileReplay.Pace, ringCapacity: Int = 1024, loops: Int = 1
    ) throws -> (FileReplay.Stats, Sink, UInt64) {
        let arena = try Arena(bytes: 1 << 20, lock: false)
        defer { withExtendedLifetime(arena) {} }
        let ring = try SPSCRing<Event>(capacity: ringCapacity, policy: .spin, arena: arena)
        let cpus = PinnedThread.currentAffinity().cpus
        var configured = FileReplay(file: file, clock: Clock.calibrated())
        configured.pace = pace
        configured.loops = loops
        let replay = configured
        let sink = Sink()
        let done = Atomic<Bool>(false)
        let statsBox = UnsafeMutablePointer<FileReplay.Stats>.allocate(capacity: 1)
        statsBox.initialize(to: FileReplay.Stats())
        defer { statsBox.deinitialize(count: 1); statsBox.deallocate() }
        let statsAddress = UInt(bitPattern: statsBox)
        let started = Clock.monotonicNs()
        try withUnsafePointer(to: done) { donePointer in
            let doneAddress = UInt(bitPattern: donePointer)
            let consumer = try PinnedThread.start(name: "test-engine", cpu: cpus.last) {
                let c = ring.consumer
                let finished = UnsafePointer<Atomic<Bool>>(bitPattern: doneAddress)!
                while true {
                    if let e = c.pop() {
                        sink.count += 1
                        sink.checksum =
                            sink.checksum &* 31 &+ e.orderId &+ UInt64(bitPattern: e.price) &+ UInt64(e.size)
                        if e.kind == .restart {
                            sink.restarts += 1
                        } else {
                            if e.tsEvent < sink.lastTs { sink.backwards += 1 }
                            sink.lastTs = e.tsEvent
                        }
                    } else if finished.pointee.load(ordering: .acquiring) && c.count == 0 {
                        break
                    }
                }
            }
            let feed = try PinnedThread.start(name: "test-feed", cpu: cpus.first) {
                UnsafeMutablePointer<FileReplay.Stats>(bitPattern: statsAddress)!.pointee = replay.run(
                    into: ring.producer)
                UnsafePointer<Atomic<Bool>>(bitPattern: doneAddress)!.pointee.store(true, ordering: .releasing)
            }
            feed.join()
            consumer.join()
        }
        return (statsBox.pointee, sink, Clock.monotonicNs() - started)
    }

    func testEveryDecodedEventArrivesThroughTheRingInOrder() throws {
        let data = try TestPaths.requireSharedData()
        let path = data + "/dbn/esh4-glbx-mdp3-20231225.mbo.dbn.zst"
        // The reference: the same decode, single-threaded, no ring.
        let dbn = try DBNFile(path: path)
        var decoder = DBNDecoder(metadata: dbn.metadata)
        var cursor = dbn.cursor()
        var e = Event()
        var expected: UInt64 = 0, n = 0
        while cursor.next() == .record {
            guard decoder.decode(cursor.record, length: cursor.length, into: &e) else { continue }
            expected = expected &* 31 &+ e.orderId &+ UInt64(bitPattern: e.price) &+ UInt64(e.size)
            n += 1
        }
        let (stats, sink, _) = try replay(.dbn(dbn), pace: .max, ringCapacity: 256)
        XCTAssertEqual(stats.records, 68_792)
        XCTAssertEqual(stats.events, n)
        XCTAssertEqual(stats.dropped, 0)
        XCTAssertEqual(sink.count, n)
        XCTAssertEqual(sink.checksum, expected, "the checksum is order-sensitive: events arrive once, in order")
        XCTAssertNil(stats.error)
    }

    func testRecordedPaceFollowsReceiveTimesScaledBySpeed() throws {
        let data = try TestPaths.requireSharedData()
        let dbn = try DBNFile(path: data + "/dbn/orderbooks_mbo_2024-05-08T00-00-00_2024-05-08T00-00-02.dbn.zst")
        // Its receive times span about 2 s; at 20× the replay must take at least ~0.1 s.
        var first: UInt64 = 0, last: UInt64 = 0
        var cursor = dbn.cursor()
        while cursor.next() == .record {
            let ts: UInt64 = cursor.record.le(40)
            if first == 0 { first = ts }
            last = ts
        }
        let span = last - first
        let (stats, sink, elapsed) = try replay(.dbn(dbn), pace: .recorded(speed: 20))
        XCTAssertEqual(sink.count, stats.events)
        XCTAssertGreaterThanOrEqual(Double(elapsed), Double(span) / 20 * 0.95)
    }

    func testITCHReplaysThroughTheRing() throws {
        let (stats, sink, _) = try replay(
            .itch(ITCHFile(path: TestPaths.fixtures + "/itch/synthetic.itch")), pace: .max)
        XCTAssertEqual(stats.records, 12)
        XCTAssertEqual(stats.events, 9)  // A F E C X U(2) P D
        XCTAssertEqual(sink.count, 9)
    }

    /// A 20,000-message demo session (its file already unlinked: the mapping stays).
    func demoSession() throws -> FeedFile {
        let path = temporaryFile(ITCHGenerator.demoSession.generate(messages: 20_000), suffix: ".itch")
        defer { unlink(path) }
        return try FeedFile.open(path)
    }

    /// Loops replay as one session: each loop after the first starts with a restart event,
    /// and exchange time never goes back.
    func testLoopsRestartTheBooksAndContinueTheClock() throws {
        let file = try demoSession()
        var perLoop = 0
        try file.forEachEvent { _ in perLoop += 1 }
        let (stats, sink, _) = try replay(file, pace: .max, loops: 3)
        XCTAssertEqual(stats.events, 3 * perLoop + 2, "each loop's events, and a restart before the second and third")
        XCTAssertEqual(sink.count, 3 * perLoop + 2)
        XCTAssertEqual(sink.restarts, 2)
        XCTAssertEqual(sink.backwards, 0, "each loop's times continue from the last loop's")
        XCTAssertNil(stats.error)
    }

    /// Two files as one feed come out merged by event time: exactly the two-pointer merge of
    /// each file's own events (the first file's on a tie), with every record counted.
    func testTwoFilesMergedComeOutInTimeOrder() throws {
        func session(_ seed: UInt64, _ messages: Int) throws -> FeedFile {
            var g = ITCHGenerator.demoSession
            g.seed = seed
            let path = temporaryFile(g.generate(messages: messages), suffix: ".itch")
            defer { unlink(path) }
            return try FeedFile.open(path)
        }
        let a = try session(1, 20_000), b = try session(2, 15_000)
        let arena = try Arena(bytes: 32 << 20, lock: false)
        defer { withExtendedLifetime(arena) {} }
        func events(_ file: FeedFile, mergedWith: [FeedFile] = []) throws -> ([Event], FileReplay.Stats, UInt64) {
            let ring = try SPSCRing<Event>(capacity: 1 << 17, policy: .drop, arena: arena)  // holds every event
            var replay = FileReplay(file: file, clock: Clock.calibrated())
            replay.mergedWith = mergedWith
            let position = UnsafeMutablePointer<Atomic<UInt64>>.allocate(capacity: 1)
            position.initialize(to: Atomic(0))
            defer { position.deallocate() }
            let stats = replay.run(into: ring.producer, position: UnsafePointer(position))
            var out: [Event] = []
            while let e = ring.consumer.pop() { out.append(e) }
            return (out, stats, position.pointee.load(ordering: .relaxed))
        }
        let (ea, sa, _) = try events(a), (eb, sb, _) = try events(b)
        let (merged, stats, position) = try events(a, mergedWith: [b])
        XCTAssertNil(stats.error)
        XCTAssertEqual(stats.dropped, 0)
        XCTAssertEqual(stats.records, sa.records + sb.records)
        XCTAssertEqual(position, UInt64(a.byteCount + b.byteCount))
        var expected: [Event] = []
        var (i, j) = (0, 0)
        while i < ea.count || j < eb.count {
            if j == eb.count || (i < ea.count && ea[i].tsEvent <= eb[j].tsEvent) {
                expected.append(ea[i])
                i += 1
            } else {
                expected.append(eb[j])
                j += 1
            }
        }
        func key(_ e: Event) -> [UInt64] {
            [
                e.tsEvent, e.orderId, UInt64(bitPattern: e.price), UInt64(e.size), UInt64(e.instrumentId),
                UInt64(e.action),
            ]
        }
        XCTAssertEqual(merged.count, ea.count + eb.count)
        XCTAssertEqual(merged.map(key), expected.map(key))
        XCTAssertTrue(zip(merged, merged.dropFirst()).allSatisfy { $0.tsEvent <= $1.tsEvent }, "in time order")
        XCTAssertNotEqual(merged.map(key), (ea + eb).map(key), "interleaved, not one after the other")
    }

    /// The merge allocates only at its start: the same count for 10,000 messages as for 40,000.
    func testTheMergeAllocatesNothingPerEvent() throws {
        try requireOptimizedBuild()
        let arena = try Arena(bytes: 64 << 20, lock: false)
        defer { withExtendedLifetime(arena) {} }
        func mallocs(_ messages: Int) throws -> UInt64 {
            var g = ITCHGenerator.demoSession
            let a = temporaryFile(g.generate(messages: messages), suffix: ".itch")
            g.seed = 2
            let b = temporaryFile(g.generate(messages: messages), suffix: ".itch")
            defer { unlink(a); unlink(b) }
            let ring = try SPSCRing<Event>(capacity: 1 << 18, policy: .drop, arena: arena)
            var replay = FileReplay(file: try FeedFile.open(a), clock: Clock.calibrated())
            replay.mergedWith = [try FeedFile.open(b)]
            let before = hp_thread_malloc_count()
            let stats = replay.run(into: ring.producer)
            let made = hp_thread_malloc_count() - before
            XCTAssertEqual(stats.dropped, 0)
            return made
        }
        _ = try mallocs(5_000)  // first-use costs
        XCTAssertEqual(try mallocs(5_000), try mallocs(20_000))
    }

    /// The replay's position ends at every byte of every loop, and the progress line shows
    /// the share and the time left from it.
    func testReplayPositionCountsEveryLoopsBytes() throws {
        let file = try demoSession()
        let arena = try Arena(bytes: 16 << 20, lock: false)
        defer { withExtendedLifetime(arena) {} }
        let ring = try SPSCRing<Event>(capacity: 1 << 17, policy: .drop, arena: arena)  // holds every event
        var replay = FileReplay(file: file, clock: Clock.calibrated())
        replay.loops = 3
        let position = UnsafeMutablePointer<Atomic<UInt64>>.allocate(capacity: 1)
        position.initialize(to: Atomic(0))
        defer { position.deallocate() }
        let stats = replay.run(into: ring.producer, position: UnsafePointer(position))
        XCTAssertEqual(stats.dropped, 0)
        XCTAssertEqual(position.pointee.load(ordering: .relaxed), 3 * UInt64(file.byteCount))

        XCTAssertEqual(
            ProgressLine.text(
                seconds: 12, fraction: 0.4, tail: OutputLoop.progressTail(seconds: 12, events: 12_000_000, signals: 812)
            ),
            "\rhotpath: 12 s, 40 % of the input, ~18 s left, 12000000 events (1.00 M/s), 812 signals")
        XCTAssertEqual(
            ProgressLine.text(
                seconds: 4, fraction: nil, tail: OutputLoop.progressTail(seconds: 4, events: 2_000, signals: 0)),
            "\rhotpath: 4 s, 2000 events (0.5 k/s), 0 signals")
    }
}
