import CSupport
import Foundation
import MallocCounter
import XCTest

@testable import HotPath

/// The MoldUDP64 session on its own (packets built here), then `serve` → `decode` over
/// loopback on both receive paths.
final class MoldUDP64Tests: XCTestCase {
    // MARK: the session, without sockets

    /// A downstream packet of `count` one-byte-typed messages numbered from `seq` (count 0:
    /// heartbeat; 0xFFFF: end of session).
    func packet(_ seq: UInt64, _ count: Int, session: String = "TEST") -> [UInt8] {
        var b = Array(session.utf8) + [UInt8](repeating: 0x20, count: 10 - session.utf8.count)
        withUnsafeBytes(of: seq.bigEndian) { b += $0 }
        withUnsafeBytes(of: UInt16(truncatingIfNeeded: count).bigEndian) { b += $0 }
        if count != 0xFFFF {
            for i in 0..<count { b += [0, 3, 0x58, UInt8(truncatingIfNeeded: seq + UInt64(i)), 0] }
        }
        return b
    }

    struct Fed {
        var session: MoldSession
        var seen: [UInt64] = []

        init(_ options: MoldSession.Options = .init()) { session = MoldSession(options: options) }

        mutating func feed(_ p: [UInt8], retransmitted: Bool = false) {
            var got: [UInt64] = []
            p.withUnsafeBytes { b in
                session.receive(b.baseAddress!, length: b.count, rxNs: 7, retransmitted: retransmitted) { m in
                    XCTAssertEqual(m.captureNs, 7)
                    XCTAssertEqual(
                        m.pointer.load(fromByteOffset: 1, as: UInt8.self), UInt8(truncatingIfNeeded: m.sequence))
                    got.append(m.sequence)
                }
            }
            seen += got
        }

        mutating func poll(_ now: UInt64) -> [UInt8]? {
            var got: [UInt64] = []
            let due = session.poll(nowNs: now) { got.append($0.sequence) }
            seen += got
            return due ? Array(UnsafeRawBufferPointer(start: session.request, count: 20)) : nil
        }
    }

    func testInOrderDuplicatesAndEnd() {
        var s = Fed()
        s.feed(packet(1, 3))
        s.feed(packet(4, 2))
        s.feed(packet(4, 2))  // duplicate
        s.feed(packet(6, 0))  // heartbeat at the next sequence: no gap
        s.feed(packet(6, 0xFFFF))
        XCTAssertEqual(s.seen, [1, 2, 3, 4, 5])
        XCTAssertTrue(s.session.finished)
        let c = s.session.counts
        XCTAssertEqual(
            [c.packets, c.messages, c.duplicates, c.heartbeats, c.endOfSession, c.gaps], [5, 5, 2, 1, 1, 0])
        s.session.deallocate()
    }

    func testReorderIsHeldAndNotRequested() {
        var s = Fed()
        s.feed(packet(1, 2))
        s.feed(packet(5, 2))  // ahead: held
        XCTAssertEqual(s.seen, [1, 2])
        XCTAssertTrue(s.session.hasHole)
        XCTAssertNil(s.poll(1_000))  // starts the wait
        s.feed(packet(3, 2))  // the late one: delivers it and the held packet
        XCTAssertEqual(s.seen, [1, 2, 3, 4, 5, 6])
        XCTAssertFalse(s.session.hasHole)
        XCTAssertEqual(s.session.counts.outOfOrder, 1)
        XCTAssertEqual(s.session.counts.gaps, 1)
        XCTAssertEqual(s.session.counts.rerequestsSent, 0)
        s.session.deallocate()
    }

    func testGapIsRequestedRetriedAndFilledByReplies() {
        var options = MoldSession.Options()
        options.waitNs = 100
        options.timeoutNs = 1_000
        var s = Fed(options)
        s.feed(packet(1, 1))
        s.feed(packet(10, 1))  // 2…9 missing
        XCTAssertNil(s.poll(10_000))
        XCTAssertNil(s.poll(10_050))
        XCTAssertEqual(s.poll(10_100), packet(2, 8).prefix(20).map { $0 }, "asks for 8 from sequence 2")
        XCTAssertNil(s.poll(10_500))
        XCTAssertEqual(s.poll(11_100), packet(2, 8).prefix(20).map { $0 }, "asks again after the time-out")
        s.feed(packet(2, 3), retransmitted: true)  // a reply that did not hold everything
        XCTAssertEqual(s.poll(11_200), packet(5, 5).prefix(20).map { $0 }, "asks for the rest at once")
        s.feed(packet(5, 5), retransmitted: true)
        XCTAssertEqual(s.seen, Array(1...10))
        XCTAssertEqual(s.session.counts.messagesRecovered, 8)
        XCTAssertEqual(s.session.counts.rerequestsSent, 3)
        XCTAssertEqual(s.session.counts.messagesLost, 0)
        s.session.deallocate()
    }

    func testGivenUpHoleCountsItsMessagesLost() {
        var options = MoldSession.Options()
        options.waitNs = 0
        options.timeoutNs = 100
        options.retries = 2
        var s = Fed(options)
        s.feed(packet(1, 1))
        s.feed(packet(6, 2))
        var now: UInt64 = 1
        var requests = 0
        while s.session.hasHole && now < 100_000 {
            if s.poll(now) != nil { requests += 1 }
            now += 50
        }
        XCTAssertEqual(requests, 3, "the first request and two retries")
        XCTAssertEqual(s.seen, [1, 6, 7], "what waited behind the hole is delivered")
        XCTAssertEqual(s.session.counts.messagesLost, 4)
        s.session.deallocate()
    }

    func testTailLossSeenFromHeartbeatAndEndOfSession() {
        var s = Fed()
        s.feed(packet(1, 2))
        s.feed(packet(9, 0xFFFF))
        XCTAssertTrue(s.session.hasHole)
        XCTAssertFalse(s.session.finished)
        s.feed(packet(3, 6), retransmitted: true)
        XCTAssertTrue(s.session.finished)
        XCTAssertEqual(s.seen, Array(1...8))
        s.session.deallocate()
    }

    func testSessionChangeStartsOverAndNamedSessionFilters() {
        var s = Fed()
        s.feed(packet(1, 2))
        s.feed(packet(7, 1, session: "STRAY"))  // mid-session: skipped, the session goes on
        s.feed(packet(3, 1))
        s.feed(packet(4, 0xFFFF))
        s.feed(packet(1, 1, session: "NEXT"))  // after end of session: the next one starts
        XCTAssertEqual(s.seen, [1, 2, 3, 1])
        XCTAssertEqual(s.session.counts.otherSession, 1)
        XCTAssertEqual(s.session.counts.sessionChanges, 1)
        s.session.deallocate()
        var options = MoldSession.Options()
        options.session = "NEXT"
        var named = Fed(options)
        named.feed(packet(1, 2))
        named.feed(packet(5, 1, session: "NEXT"))
        XCTAssertEqual(named.seen, [5])
        XCTAssertEqual(named.session.counts.otherSession, 1)
        named.session.deallocate()
    }

    func testBadPacketsAreCountedAndSkipped() {
        var s = Fed()
        var p = packet(1, 2)
        p.removeLast()  // the second message runs past the end
        s.feed(p)
        s.feed(Array(p.prefix(12)))
        XCTAssertEqual(s.session.counts.badPackets, 2)
        XCTAssertEqual(s.seen, [])
        s.session.deallocate()
    }

    func testFullWindowGivesUpTheOldestHole() {
        var options = MoldSession.Options()
        options.window = 2
        var s = Fed(options)
        s.feed(packet(1, 1))
        s.feed(packet(3, 1))
        s.feed(packet(5, 1))
        s.feed(packet(7, 1))  // window full: the hole at 2 is given up, 3 delivered; 4 still missing
        XCTAssertEqual(s.seen, [1, 3])
        XCTAssertEqual(s.session.counts.windowOverflows, 1)
        XCTAssertEqual(s.session.counts.messagesLost, 1)
        s.session.deallocate()
    }

    func testURLs() throws {
        guard
            case let .moldUDP64(o) = try SourceURL.parse(
                "moldudp64://239.1.1.1:26477?interface=10.0.0.2&rerequest=10.0.0.9:26478&session=ABC&io=recvmmsg&from=5"
            )
        else {
            return XCTFail("not a MoldUDP64 URL")
        }
        XCTAssertEqual(o.address, HostPort(host: "239.1.1.1", port: 26477))
        XCTAssertTrue(o.address.isMulticast)
        XCTAssertEqual(o.interface, "10.0.0.2")
        XCTAssertEqual(o.rerequest, HostPort(host: "10.0.0.9", port: 26478))
        XCTAssertEqual(o.recovery.session, "ABC")
        XCTAssertEqual(o.recovery.from, 5)
        XCTAssertEqual(o.io, .recvmmsg)
        XCTAssertEqual(try SourceURL.parse("data/x.itch"), .file("data/x.itch"))
        for (bad, says) in [
            ("moldudp64://1.2.3.4", "HOST:PORT"), ("moldudp64://1.2.3.4:9?ioo=uring", "unknown parameter \"ioo\""),
            ("moldudp64://host:9", "not a dotted IPv4"), ("udpx://1.2.3.4:9", "unknown scheme"),
            ("moldudp64://1.2.3.4:9?io=epoll", "expected uring or recvmmsg"),
        ] {
            XCTAssertThrowsError(try SourceURL.parse(bad)) { XCTAssertTrue("\($0)".contains(says), "\($0)") }
        }
    }

    // MARK: serve → decode over loopback

    /// A free UDP port on loopback (bound, read, closed).
    static func freePort() -> UInt16 { UDPReceiveBench.freePort() }

    struct Received {
        var lines: [String] = []
        var digest = Digest()
        var counts = MoldSession.Counts()
        var report = MoldServer.Report()
        var receivePath = ""
        var end = MoldUDP64Feed.End.idle
        var mallocs: UInt64 = 0
    }

    /// FNV-1a over each message's sequence and bytes, and the message count.
    struct Digest: Equatable {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        var count = 0
        mutating func add(_ m: ITCHReader.Message) {
            withUnsafeBytes(of: m.sequence) { for b in $0 { hash = (hash ^ UInt64(b)) &* 0x100_0000_01B3 } }
            for i in 0..<m.length {
                hash = (hash ^ UInt64(m.pointer.load(fromByteOffset: i, as: UInt8.self))) &* 0x100_0000_01B3
            }
            count += 1
        }
    }

    /// Serves `path` on a thread and decodes it here; JSON lines when `lines`.
    func serveAndDecode(
        _ path: String, io: MoldUDP64Options.IO = .uring, lines: Bool = true, query: String = "",
        configure: (inout MoldServer.Options) -> Void = { _ in }
    ) throws -> Received {
        let data = MoldUDP64Tests.freePort(), requests = MoldUDP64Tests.freePort()
        guard
            case let .moldUDP64(url) = try SourceURL.parse(
                "moldudp64://127.0.0.1:\(data)?rerequest=127.0.0.1:\(requests)&io=\(io)\(query)")
        else {
            throw XCTSkip("unreachable")
        }
        let feed = try MoldUDP64Feed(options: url)
        try feed.start()
        guard case let .itch(itch) = try FeedFile.open(path) else { throw XCTSkip("not ITCH") }
        var options = MoldServer.Options(to: HostPort(host: "127.0.0.1", port: data))
        options.rerequestPort = requests
        options.lingerNs = 300_000_000
        options.pace = .rate(messagesPerSecond: 300_000)
        configure(&options)
        let server = try MoldServer(source: itch, options: options)
        var out = Received()
        let served = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var report = MoldServer.Report()
        let thread = Thread {
            report = (try? server.run()) ?? MoldServer.Report()
            served.signal()
        }
        thread.start()
        if lines { out.lines.reserveCapacity(itch.input.bytes.count / 16) }
        let before = hp_thread_malloc_count()
        var digest = Digest()
        if lines {
            out.end = feed.drain(idleNs: 10_000_000_000) { m in
                if let line = ITCHJSON.line(m) { out.lines.append(line) }
            }
        } else {
            out.end = feed.drain(idleNs: 10_000_000_000) { digest.add($0) }
            out.mallocs = hp_thread_malloc_count() - before
        }
        served.wait()
        out.digest = digest
        out.counts = feed.session.counts
        out.report = report
        out.receivePath = feed.receivePath
        return out
    }

    func fileLines(_ path: String) throws -> [String] {
        var lines: [String] = []
        guard case let .itch(itch) = try FeedFile.open(path) else { return [] }
        try itch.jsonLines { lines.append($0) }
        return lines
    }

    func fileDigest(_ path: String) throws -> Digest {
        guard case let .itch(itch) = try FeedFile.open(path) else { return Digest() }
        var reader = try itch.reader()
        var m = ITCHReader.Message(
            pointer: itch.input.bytes.baseAddress!, length: 0, sequence: 0, captureNs: 0, offset: 0)
        var d = Digest()
        while reader.next(&m) == .message { d.add(m) }
        return d
    }

    static let session1M: String = {
        let path = NSTemporaryDirectory() + "hotpath-mold-1m-\(getpid()).itch"
        try! ITCHGenerator().write(messages: 1_000_000, to: path)
        return path
    }()

    func testEveryCaptureDecodesLiveAsFromTheFile() throws {
        let dir = try TestPaths.requireSharedData() + "/itch"
        let captures = (SystemFile.list(dir) ?? []).filter { $0.hasSuffix(".pcap") }
        XCTAssertFalse(captures.isEmpty)
        for (i, name) in captures.enumerated() {
            // Captures are excerpts: a jump in their numbering is a hole the server cannot fill,
            // given up quickly here and counted lost.
            let got = try serveAndDecode(
                dir + "/" + name, io: i % 2 == 0 ? .uring : .recvmmsg, query: "&timeout_ms=20&retries=1")
            XCTAssertEqual(got.end, .endOfSession, name)
            XCTAssertEqual(got.lines, try fileLines(dir + "/" + name), name)
        }
    }

    func testMillionMessageSessionOnBothPaths() throws {
        let want = try fileDigest(MoldUDP64Tests.session1M)
        XCTAssertEqual(want.count, 1_000_000)
        for io in [MoldUDP64Options.IO.uring, .recvmmsg] {
            let got = try serveAndDecode(MoldUDP64Tests.session1M, io: io, lines: false)
            XCTAssertEqual(got.end, .endOfSession)
            XCTAssertEqual(got.digest, want, "\(io)")
            XCTAssertEqual(got.counts.messagesLost, 0)
            if isOptimizedBuild { XCTAssertEqual(got.mallocs, 0, "\(io): mallocs while receiving 1 M messages") }
        }
    }

    func testLossReorderAndDuplicatesAreRecoveredExactly() throws {
        let want = try fileDigest(MoldUDP64Tests.session1M)
        for (seed, io) in [(UInt64(1), MoldUDP64Options.IO.uring), (2, .recvmmsg), (3, .uring)] {
            let got = try serveAndDecode(MoldUDP64Tests.session1M, io: io, lines: false) {
                $0.drop = 0.01
                $0.reorder = 0.01
                $0.duplicate = 0.01
                $0.seed = seed
            }
            XCTAssertEqual(got.digest, want, "seed \(seed)")
            XCTAssertEqual(got.counts.messagesLost, 0, "seed \(seed)")
            XCTAssertGreaterThan(got.counts.gaps, 0)
            XCTAssertGreaterThan(got.report.droppedMessages, 0)
            XCTAssertEqual(
                got.counts.messagesRecovered, got.report.droppedMessages,
                "seed \(seed): recovered = what the sender dropped")
            XCTAssertGreaterThan(got.counts.duplicates, 0)
            if isOptimizedBuild { XCTAssertEqual(got.mallocs, 0, "seed \(seed): mallocs while recovering") }
        }
    }

    func testSilencedRerequestServerLossIsCountedAndTheSessionGoesOn() throws {
        let path = NSTemporaryDirectory() + "hotpath-mold-20k-\(getpid()).itch"
        try ITCHGenerator().write(messages: 20_000, to: path)
        defer { unlink(path) }
        let got = try serveAndDecode(path, lines: false, query: "&timeout_ms=10&retries=2") {
            $0.drop = 0.05
            $0.rerequestStopsAfter = 3
        }
        XCTAssertEqual(got.end, .endOfSession)
        XCTAssertGreaterThan(got.report.rerequestsIgnored, 0)
        XCTAssertGreaterThan(got.counts.messagesLost, 0)
        XCTAssertEqual(got.digest.count + got.counts.messagesLost, 20_000, "every message is delivered or counted lost")
    }

    func testWithoutARerequestServerAHoleIsGivenUpAfterItsTimeOut() {
        var options = MoldSession.Options()
        options.waitNs = 10
        options.timeoutNs = 100
        var s = Fed(options)
        s.feed(packet(1, 1))
        s.feed(packet(4, 1))
        var got: [UInt64] = []
        XCTAssertFalse(s.session.poll(nowNs: 1_000, canRequest: false) { got.append($0.sequence) })
        XCTAssertFalse(s.session.poll(nowNs: 1_109, canRequest: false) { got.append($0.sequence) })
        XCTAssertTrue(s.session.hasHole)
        XCTAssertFalse(s.session.poll(nowNs: 1_110, canRequest: false) { got.append($0.sequence) })
        XCTAssertEqual(got, [4])
        XCTAssertEqual(s.session.counts.messagesLost, 2)
        XCTAssertEqual(s.session.counts.rerequestsSent, 0)
        s.session.deallocate()
    }

    func testMulticastOnLoopback() throws {
        let dir = try TestPaths.requireSharedData() + "/itch"
        let port = MoldUDP64Tests.freePort(), requests = MoldUDP64Tests.freePort()
        guard
            case let .moldUDP64(url) = try SourceURL.parse(
                "moldudp64://239.255.77.1:\(port)?interface=127.0.0.1&rerequest=127.0.0.1:\(requests)&timeout_ms=20&retries=1"
            )
        else {
            return XCTFail("not a MoldUDP64 URL")
        }
        let feed: MoldUDP64Feed
        do { feed = try MoldUDP64Feed(options: url) } catch {
            throw XCTSkip(
                "this host does not let loopback join a multicast group (\(error)); as root: ip link set lo multicast on"
            )
        }
        try feed.start()
        guard case let .itch(itch) = try FeedFile.open(dir + "/Multiple.Packets.pcap") else {
            return XCTFail("not ITCH")
        }
        var options = MoldServer.Options(to: HostPort(host: "239.255.77.1", port: port))
        options.interface = "127.0.0.1"
        options.rerequestPort = requests
        options.lingerNs = 200_000_000
        let server = try MoldServer(source: itch, options: options)
        let done = DispatchSemaphore(value: 0)
        Thread {
            _ = try? server.run(); done.signal()
        }.start()
        var lines: [String] = []
        let end = feed.drain(idleNs: 3_000_000_000) { m in ITCHJSON.line(m).map { lines.append($0) } }
        done.wait()
        if end == .idle && lines.isEmpty {
            throw XCTSkip("multicast on loopback delivered nothing here; as root: ip link set lo multicast on")
        }
        XCTAssertEqual(end, .endOfSession)
        XCTAssertEqual(lines, try fileLines(dir + "/Multiple.Packets.pcap"))
    }

    func testRefusedIoUringFallsBackToRecvmmsgAndSaysSo() throws {
        setenv("HOTPATH_NO_URING", "1", 1)
        defer { unsetenv("HOTPATH_NO_URING") }
        let dir = try TestPaths.requireSharedData() + "/itch"
        let got = try serveAndDecode(dir + "/OrderDeleteMessage.pcap", io: .uring)
        XCTAssertTrue(got.receivePath.hasPrefix("recvmmsg busy-poll (io_uring refused:"), got.receivePath)
        XCTAssertEqual(got.lines, try fileLines(dir + "/OrderDeleteMessage.pcap"))
    }
}
