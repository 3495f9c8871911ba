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
        var o = DatabentoServer.Options()
        o.key = Self.key
        o.heartbeatSeconds = 0.05
        o.sessions = sessions
        o.disconnectAfter = disconnectAfter
        let server = try DatabentoServer(files: [file], options: o)
        // Bounded in time as in count: the server gives up 60 s from now whatever happens.
        let deadline = Clock.monotonicNs() + 60_000_000_000
        let thread = Thread { server.run(stop: { Clock.monotonicNs() > deadline }) }
        thread.start()
        return (server, thread)
    }

    func options(_ server: DatabentoServer, _ file: DBNFile) throws -> DatabentoOptions {
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

    /// Receive and decode allocate nothing per record: the count is the same for 2,000 and
    /// 60,000 records of one stream (the file holds 68,792).
    func testReceivePathMallocsStayFlat() throws {
        try requireOptimizedBuild()
        let data = try TestPaths.requireSharedData()
        guard case let .dbn(file) = try FeedFile.open(data + "/dbn/esh4-glbx-mdp3-20231225.mbo.dbn.zst") else {
            return XCTFail()
        }
        func mallocs(_ n: Int) throws -> UInt64 {
            let (server, thread) = try serve(file, disconnectAfter: n)
            let session = try DatabentoSession(options: try options(server, file), key: Self.key)
            _ = try session.metadata()
            var cursor = session.cursor()
            var decoder = DBNDecoder(metadata: file.metadata)
            var event = Event()
            var records = 0
            let before = hp_thread_malloc_count()
            _ = cursor.walk(refill: { session.refill(&$0) }) { c in
                records += 1
                _ = decoder.decode(c.record, length: c.length, into: &event)
                return true
            }
            let count = hp_thread_malloc_count() - before
            XCTAssertEqual(records, n)
            while !thread.isFinished { usleep(1_000) }
            return count
        }
        XCTAssertEqual(try mallocs(2_000), try mallocs(60_000))
    }
}
