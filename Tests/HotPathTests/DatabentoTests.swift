import CSupport
import Foundation
import MallocCounter
import XCTest

@testable import HotPath

/// The Databento Live gateway: the challenge answer, URLs, and the client against the
/// emulator over loopback (records as the file decodes them, at any read size; a refused
/// key; a dropped session; no allocation per record).
final class DatabentoTests: XCTestCase {
    static let key = "db-unittestapikey1234567890FFFFF"

    func testChallengeAnswerMatchesTheTestVector() {
        let r = DatabentoAuth.response(challenge: "abcd1234", key: Self.key)
        XCTAssertTrue(r.hasPrefix("be87ce3d"), r)
        XCTAssertTrue(r.hasSuffix("-FFFFF"), r)
        XCTAssertEqual(r.count, 70)
    }

    func testURLs() throws {
        guard
            case let .databento(o) = try SourceURL.parse("databento://?dataset=GLBX.MDP3&schema=mbo&symbols=ESH4,ESM4")
        else {
            return XCTFail("not a databento URL")
        }
        XCTAssertEqual(o.host, "glbx-mdp3.lsg.databento.com")
        XCTAssertEqual(o.port, 13_000)
        XCTAssertEqual(o.symbols, ["ESH4", "ESM4"])
        XCTAssertEqual(
            DatabentoAuth.subscriptions(o, id: 1),
            ["schema=mbo|stype_in=raw_symbol|symbols=ESH4,ESM4|snapshot=0|id=1|is_last=1"])
        var many = o
        many.symbols = (0..<1_001).map { "S\($0)" }
        XCTAssertEqual(
            DatabentoAuth.subscriptions(many, id: 1).map { $0.hasSuffix("is_last=1") }, [false, false, true])
        for bad in [
            "databento://127.0.0.1:1?schema=mbo&symbols=A", "databento://127.0.0.1?dataset=D&schema=mbo&symbols=A",
            "databento://127.0.0.1:1?dataset=D&schema=mbo&symbols=A&key=\(Self.key)",
            "databento://127.0.0.1:1?dataset=D&schema=mbo&symbols=A&colour=red",
        ] {
            XCTAssertThrowsError(try SourceURL.parse(bad), bad) { error in
                XCTAssertFalse("\(error)".contains(Self.key), "\(error)")
            }
        }
    }

    /// Serves `file` on a thread until `sessions` are done; returns the server.
    func serve(_ file: DBNFile, sessions: Int = 1, disconnectAfter: Int? = nil) throws -> (DatabentoServer, Thread) {
        try Self.serve([file], sessions: sessions, disconnectAfter: disconnectAfter)
    }

    static func serve(
        _ files: [DBNFile], sessions: Int = 1, disconnectAfter: Int? = nil, fault: DatabentoServer.Fault? = nil
    ) throws -> (
        DatabentoServer, Thread
    ) {
        var o = DatabentoServer.Options()
        o.key = Self.key
        o.heartbeatSeconds = 0.05
        o.sessions = sessions
        o.disconnectAfter = disconnectAfter
        o.fault = fault
        let server = try DatabentoServer(files: files, options: o)
        // Bounded in time as in count: the server gives up 60 s from now whatever happens.
        let deadline = Clock.monotonicNs() + 60_000_000_000
        let thread = Thread { server.run(stop: { Clock.monotonicNs() > deadline }) }
        thread.start()
        return (server, thread)
    }

    func options(_ server: DatabentoServer, _ file: DBNFile) throws -> DatabentoOptions {
        try Self.options(server, file)
    }

    static func options(_ server: DatabentoServer, _ file: DBNFile) throws -> DatabentoOptions {
        let schema = DatabentoAuth.schemas.first { $0.value == file.metadata.schema }!.key
        let url =
            "databento://127.0.0.1:\(server.port)?dataset=\(file.metadata.dataset)&schema=\(schema)&symbols=ALL_SYMBOLS"
        guard case let .databento(o) = try SourceURL.parse(url) else { throw XCTSkip("not a databento URL") }
        return o
    }

    /// The records of one session with `server` as JSON lines, up to the first heartbeat;
    /// the session is closed on return, so the server moves on.
    func read(_ server: DatabentoServer, _ file: DBNFile, sizes: (() -> Int)? = nil) throws -> [String] {
        let session = try DatabentoSession(options: try options(server, file), key: Self.key)
        session.readSizes = sizes
        return try liveLines(session)
    }

    /// The session's records as JSON lines until the first heartbeat after the data.
    func liveLines(_ session: DatabentoSession) throws -> [String] {
        let metadata = try session.metadata()
        var cursor = session.cursor()
        var lines: [String] = []
        var printed = 0
        _ = DBNFile.jsonLines(
            metadata: metadata, cursor: &cursor, refill: { session.refill(&$0) }, raw: false, limit: nil,
            printed: &printed,
            control: { c in
                c.record.load(fromByteOffset: 1, as: UInt8.self) == DBNRType.system
                    && DBNFile.isHeartbeat(c.record, length: c.length) ? .stop : .emit
            }
        ) { lines.append($0) }
        return lines
    }

    func testEveryDBNFileReadsOverTheGatewayAsFromTheFile() throws {
        let data = try TestPaths.requireSharedData()
        let names = try FileManager.default.contentsOfDirectory(atPath: data + "/dbn").filter { $0.contains(".dbn") }
            .sorted()
        XCTAssertGreaterThan(names.count, 10)
        for name in names {
            guard case let .dbn(file) = try FeedFile.open(data + "/dbn/" + name) else { continue }
            var want: [String] = []
            try file.jsonLines { want.append($0) }
            let (server, thread) = try serve(file)
            XCTAssertEqual(try read(server, file), want, name)
            while !thread.isFinished { usleep(1_000) }
        }
    }

    func testOneByteAndRandomReadsDecodeAlike() throws {
        let data = try TestPaths.requireSharedData()
        guard case let .dbn(file) = try FeedFile.open(data + "/dbn/test_data.mbp-10.dbn") else { return XCTFail() }
        var want: [String] = []
        try file.jsonLines { want.append($0) }
        var rng = SystemRandomNumberGenerator()
        for sizes in [{ 1 }, { Int.random(in: 1...700, using: &rng) }] as [() -> Int] {
            let (server, thread) = try serve(file)
            XCTAssertEqual(try read(server, file, sizes: sizes), want)
            while !thread.isFinished { usleep(1_000) }
        }
    }

    func testAWrongKeyIsRefusedInTheGatewaysWordsWithoutTheKey() throws {
        let data = try TestPaths.requireSharedData()
        guard case let .dbn(file) = try FeedFile.open(data + "/dbn/test_data.mbo.dbn") else { return XCTFail() }
        let (server, thread) = try serve(file)
        let wrong = "db-wrongwrongwrongwrongwrongWRONG"
        XCTAssertThrowsError(try DatabentoSession(options: try options(server, file), key: wrong)) { error in
            guard case let .rejected(_, message) = error as? DatabentoError else { return XCTFail("\(error)") }
            XCTAssertEqual(message, "Authentication failed.")
            XCTAssertFalse("\(error)".contains(wrong))
            XCTAssertFalse((error as? DatabentoError)?.isTransient ?? true)
        }
        while !thread.isFinished { usleep(1_000) }
        XCTAssertEqual(server.refused, 1)
    }

    /// The emulator drops the session after N records: the client sees exactly N, then a close.
    func testADroppedSessionEndsWithACloseAfterItsRecords() throws {
        let data = try TestPaths.requireSharedData()
        guard case let .dbn(file) = try FeedFile.open(data + "/dbn/esh4-glbx-mdp3-20231224.mbo.dbn.zst") else {
            return XCTFail()
        }
        let (server, thread) = try serve(file, disconnectAfter: 1_000)
        let session = try DatabentoSession(options: try options(server, file), key: Self.key)
        XCTAssertEqual(try liveLines(session).count, 1_000)
        guard case .closed = session.failure else { return XCTFail("\(String(describing: session.failure))") }
        XCTAssertTrue(session.failure?.isTransient ?? false)
        while !thread.isFinished { usleep(1_000) }
    }

    /// Receive and decode allocate nothing per record: through the feed's `refill` and
    /// `admit` (what decode, book and run use), the count is the same for 2,000 and 60,000
    /// records of one stream (the file holds 68,792).
    func testReceivePathMallocsStayFlat() throws {
        try requireOptimizedBuild()
        let data = try TestPaths.requireSharedData()
        guard case let .dbn(file) = try FeedFile.open(data + "/dbn/esh4-glbx-mdp3-20231225.mbo.dbn.zst") else {
            return XCTFail()
        }
        func mallocs(_ n: Int) throws -> UInt64 {
            let (server, thread) = try serve(file)
            let feed = try feed(server, file)
            var decoder = DBNDecoder(metadata: file.metadata)
            var event = Event()
            var count: UInt64 = 0
            _ = feed.run(stop: { false }) { session, _ in
                var cursor = session.cursor()
                let before = hp_thread_malloc_count()
                let end = cursor.walk(refill: { feed.refill(session, &$0, stop: { false }) }) { c in
                    if feed.admit(c) == .emit { _ = decoder.decode(c.record, length: c.length, into: &event) }
                    return feed.counts.records < n
                }
                count = hp_thread_malloc_count() - before
                return end
            }
            XCTAssertEqual(feed.counts.records, n)
            while !thread.isFinished { usleep(1_000) }
            return count
        }
        XCTAssertEqual(try mallocs(2_000), try mallocs(60_000))
    }

    /// A feed on `server` that stops at its first idle 0.3 s and says nothing on stderr.
    func feed(_ server: DatabentoServer, _ file: DBNFile, notes: Notes? = nil) throws -> DatabentoFeed {
        try Self.feed(server, file, notes: notes)
    }

    static func feed(_ server: DatabentoServer, _ file: DBNFile, notes: Notes? = nil) throws -> DatabentoFeed {
        let feed = try DatabentoFeed(options: try options(server, file), key: Self.key)
        feed.idleNs = 300_000_000
        feed.note = { notes?.lines.append($0) }
        return feed
    }

    final class Notes { var lines: [String] = [] }

    /// A decode across a dropped session prints the first session's records, then the whole
    /// stream of the second (the gateway does not resume; the emulator starts its file
    /// again): nothing is dropped or repeated without the note that says where.
    func testADecodeAcrossAReconnectSaysWhereTheNewSessionStarts() throws {
        let data = try TestPaths.requireSharedData()
        guard case let .dbn(file) = try FeedFile.open(data + "/dbn/test_data.mbp-10.dbn") else { return XCTFail() }
        var want: [String] = []
        try file.jsonLines { want.append($0) }
        let (server, thread) = try serve(file, sessions: 2, disconnectAfter: 1)
        let notes = Notes()
        let feed = try feed(server, file, notes: notes)
        var lines: [String] = []
        var printed = 0
        let end = feed.run(stop: { false }) { session, metadata in
            var cursor = session.cursor()
            return DBNFile.jsonLines(
                metadata: metadata, cursor: &cursor, refill: { feed.refill(session, &$0, stop: { false }) },
                raw: false, limit: nil, printed: &printed, control: feed.admit
            ) { lines.append($0) }.1
        }
        XCTAssertEqual(end, .idle)
        XCTAssertEqual(lines, Array(want.prefix(1)) + want)
        XCTAssertEqual(feed.counts.sessions, 2)
        XCTAssertEqual(feed.counts.reconnects, 1)
        XCTAssertEqual(feed.counts.records, 1 + want.count)
        XCTAssertTrue(
            notes.lines.contains { $0.contains("after 1 records: the gateway does not resume") }, "\(notes.lines)")
        while !thread.isFinished { usleep(1_000) }
    }

    /// A gateway that goes wrong after a good handshake, as `serve databento --fault` makes
    /// one: a stall mid-record is ended by the heartbeat watchdog (counted) and the feed
    /// reconnects; bytes that are no record, and metadata claiming 4 GiB, end the run with an
    /// error that names them. Nothing crashes, and memory stays the session's window.
    func testAStalledGarbledOrOversizedGatewayIsCountedOrNamed() throws {
        let data = try TestPaths.requireSharedData()
        guard case let .dbn(file) = try FeedFile.open(data + "/dbn/test_data.mbp-10.dbn") else { return XCTFail() }
        var whole = 0
        try file.jsonLines { _ in whole += 1 }
        for fault in DatabentoServer.Fault.allCases {
            let (server, thread) = try Self.serve(
                [file], sessions: fault == .stall ? 2 : 1, disconnectAfter: 5, fault: fault)
            var o = try options(server, file)
            o.heartbeatSeconds = 1
            o.graceSeconds = 0
            let feed = try DatabentoFeed(options: o, key: Self.key)
            feed.idleNs = 1_500_000_000
            let notes = Notes()
            feed.note = { notes.lines.append($0) }
            var records = 0
            let end = feed.run(stop: { false }) { session, _ in
                var cursor = session.cursor()
                return cursor.walk(refill: { feed.refill(session, &$0, stop: { false }) }) { c in
                    if feed.admit(c) == .emit { records += 1 }
                    return true
                }
            }
            switch fault {
            case .stall:
                XCTAssertEqual(end, .idle, "\(fault)")
                XCTAssertEqual(feed.counts.heartbeatTimeouts, 1, "\(fault)")
                XCTAssertEqual(feed.counts.reconnects, 1, "\(fault)")
                XCTAssertEqual(records, min(5, whole) + whole, "\(fault)")
            case .garbage, .hugeLength:
                guard case let .failed(error) = end else { return XCTFail("\(fault): \(end)") }
                let want = fault == .garbage ? "stream offset" : "exceeds the"
                XCTAssertTrue("\(error)".contains(want), "\(fault): \(error)")
                XCTAssertEqual(records, fault == .garbage ? min(5, whole) : 0, "\(fault)")
                XCTAssertEqual(feed.counts.reconnects, 0, "\(fault)")
            }
            while !thread.isFinished { usleep(1_000) }
        }
    }

    /// After a reconnect the order books are emptied and stale until the stream clears them:
    /// a stream that opens with its snapshot (a clear per instrument) rebuilds them and books
    /// exactly as the file; one without a clear leaves every later view flagged.
    func testBooksAreStaleAfterAReconnectUntilTheStreamClearsThem() throws {
        let data = try TestPaths.requireSharedData()
        for (name, rebuilt) in [
            ("orderbooks_mbo_2024-05-08T00-00-00_2024-05-08T00-00-02.dbn.zst", true),
            ("test_data.mbo.dbn", false),
        ] {
            guard case let .dbn(file) = try FeedFile.open(data + "/dbn/" + name) else { return XCTFail() }
            var want: [String] = []
            _ = try BookReplay.run(file) { want.append($0.json) }
            let (server, thread) = try serve(file, sessions: 2, disconnectAfter: rebuilt ? 3_000 : 1)
            let feed = try feed(server, file)
            var views: [String] = []
            let (_, end) = try BookReplay.run(feed, stop: { false }) { views.append($0.json) }
            XCTAssertEqual(end, .idle, name)
            XCTAssertEqual(feed.counts.reconnects, 1, name)
            // The resubscription asks for the MBO snapshot that rebuilds the books.
            XCTAssertEqual(
                server.subscriptions.map { $0.map { $0.contains("|snapshot=1|") } }, [[false], [true]], name)
            if rebuilt {
                XCTAssertEqual(views, want, name)
            } else {
                XCTAssertFalse(want.isEmpty)
                XCTAssertGreaterThanOrEqual(views.count, want.count, name)
                XCTAssertTrue(
                    views.suffix(want.count).allSatisfy { $0.hasSuffix(",\"stale\":\"resubscribed\"}") }, name)
            }
            while !thread.isFinished { usleep(1_000) }
        }
    }

    /// A stream with a SymbolMappingMsg and an ErrorMsg (the file is test_data.mbo.dbn with
    /// both put before its records): the mapping names the instrument in the JSON that follows,
    /// the error is counted and said, and both print as the Transcoder prints them.
    func testSymbolMappingsAndGatewayErrorsOnTheStream() throws {
        let data = try TestPaths.requireSharedData()
        guard case let .dbn(plain) = try FeedFile.open(data + "/dbn/test_data.mbo.dbn") else { return XCTFail() }
        let iid = plain.cursorRecords().first!.le(4, as: UInt32.self)
        var mapping = [UInt8](repeating: 0, count: 176)
        mapping[0] = UInt8(176 / 4)
        mapping[1] = DBNRType.symbolMapping
        withUnsafeBytes(of: iid.littleEndian) { for i in 0..<4 { mapping[4 + i] = $0[i] } }
        for (i, b) in "ESH1".utf8.enumerated() { mapping[17 + i] = b }
        for (i, b) in "LIVE1".utf8.enumerated() { mapping[89 + i] = b }
        var error = [UInt8](repeating: 0, count: 320)
        error[0] = UInt8(320 / 4)
        error[1] = DBNRType.error
        for (i, b) in "Symbol ZZZ9 not found".utf8.enumerated() { error[16 + i] = b }
        let bytes = plain.input.bytes
        let path = FileManager.default.temporaryDirectory.path + "/hotpath-mapping-\(getpid()).dbn"
        defer { unlink(path) }
        let whole =
            Array(bytes[0..<plain.metadata.recordsOffset]) + mapping + error
            + Array(bytes[plain.metadata.recordsOffset...])
        FileManager.default.createFile(atPath: path, contents: Data(whole))
        guard case let .dbn(file) = try FeedFile.open(path) else { return XCTFail() }
        let (server, thread) = try serve(file)
        let notes = Notes()
        let feed = try feed(server, file, notes: notes)
        var lines: [String] = []
        var printed = 0
        _ = feed.run(stop: { false }) { session, metadata in
            var cursor = session.cursor()
            return DBNFile.jsonLines(
                metadata: metadata, cursor: &cursor, refill: { feed.refill(session, &$0, stop: { false }) },
                raw: false, limit: nil, printed: &printed, control: feed.admit
            ) { lines.append($0) }.1
        }
        XCTAssertEqual(feed.counts.symbolMappings, 1)
        XCTAssertEqual(feed.counts.gatewayErrors, 1)
        XCTAssertEqual(
            notes.lines.filter { $0.hasSuffix("gateway error: Symbol ZZZ9 not found") }.count, 1, "\(notes.lines)")
        XCTAssertTrue(lines[0].contains("\"stype_out_symbol\":\"LIVE1\""), lines[0])
        XCTAssertTrue(lines[1].contains("\"err\":\"Symbol ZZZ9 not found\""), lines[1])
        XCTAssertTrue(lines[2].hasSuffix("\"symbol\":\"LIVE1\"}"), lines[2])
        while !thread.isFinished { usleep(1_000) }
    }
}

extension DBNFile {
    /// The records' addresses (tests).
    func cursorRecords() -> [UnsafeRawPointer] {
        var cursor = cursor()
        var out: [UnsafeRawPointer] = []
        _ = cursor.walk {
            out.append($0.record); return true
        }
        return out
    }
}
