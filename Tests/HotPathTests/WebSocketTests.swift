import Foundation
import MallocCounter
import XCTest

@testable import HotPath

/// The TLS WebSocket client against a real WebSocket server (Python `websockets`, with
/// `trustme` certificates: tools/live/ws_peer.py): messages as sent, through random
/// fragmentation and pings; certificate and host-name checks; each malformed frame refused
/// with its close code and counted; no allocation per message.
final class WebSocketTests: XCTestCase {
    /// The Python with `websockets` and `trustme` (scripts/test.sh makes .build-venv/live).
    static func python() throws -> String {
        let candidates = [
            ProcessInfo.processInfo.environment["HOTPATH_LIVE_PYTHON"], TestPaths.root + "/.build-venv/live/bin/python",
            NSHomeDirectory() + "/.cache/hotpath-peers/bin/python",
        ].compactMap { $0 }
        for python in candidates where FileManager.default.isExecutableFile(atPath: python) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: python)
            p.arguments = ["-c", "import websockets, trustme"]
            try p.run()
            p.waitUntilExit()
            if p.terminationStatus == 0 { return python }
        }
        throw XCTSkip("no Python with websockets and trustme (scripts/test.sh makes .build-venv/live)")
    }

    struct Peer {
        let process: Process
        let port: UInt16
        let caFile: String
    }

    /// Starts ws_peer.py on `lines`; returns once it listens.
    static func peer(_ lines: [String], _ extra: [String] = []) throws -> Peer {
        let dir = try temporaryDirectory()
        let session = dir + "/session.jsonl"
        try (lines.joined(separator: "\n") + "\n").write(toFile: session, atomically: true, encoding: .utf8)
        return try peer(file: session, certs: dir, extra)
    }

    static func temporaryDirectory() throws -> String {
        let dir = NSTemporaryDirectory() + "hotpath-ws-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Starts ws_peer.py on the session in `file`, its CA in `certs`; returns once it listens.
    static func peer(file session: String, certs dir: String, _ extra: [String] = []) throws -> Peer {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try Self.python())
        p.arguments =
            [TestPaths.root + "/tools/live/ws_peer.py", "--certs", dir, "--session", session, "--timeout", "30"]
            + extra
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        var line = Data()
        while !line.contains(0x0A) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line += chunk
        }
        let text = String(decoding: line, as: UTF8.self)
        guard text.hasPrefix("listening "), let port = UInt16(text.dropFirst(10).prefix { $0 != "\n" }) else {
            p.terminate()
            throw XCTSkip("ws_peer.py did not start: \(text)")
        }
        return Peer(process: p, port: port, caFile: dir + "/ca.pem")
    }

    static func options(_ peer: Peer, host: String = "127.0.0.1", ca: Bool = true) -> WebSocketClient.Options {
        var o = WebSocketClient.Options()
        o.host = host
        o.port = peer.port
        o.path = "/ws"
        o.caFile = ca ? peer.caFile : nil
        o.maxMessage = 4096
        return o
    }

    /// Hands each data message to `body` until the connection ends (bounded: 60 s).
    static func eachMessage(_ ws: WebSocketClient, _ body: (UnsafeRawBufferPointer) -> Void) {
        let deadline = Clock.monotonicNs() + 60_000_000_000
        loop: while Clock.monotonicNs() < deadline {
            switch ws.next() {
            case let .message(bytes, _): body(bytes)
            case .quiet: continue
            case .ended: break loop
            }
        }
    }

    /// Reads text messages until the end.
    static func readAll(_ ws: WebSocketClient) -> [String] {
        var got: [String] = []
        eachMessage(ws) { got.append(String(decoding: $0, as: UTF8.self)) }
        return got
    }

    static let session: [String] = (0..<2_000).map { i in
        #"{"type":"orderbook_delta","sid":1,"seq":\#(i + 1),"msg":{"market_ticker":"KX-TEST","price_dollars":"0.\#(String(format: "%04d", (i * 37) % 10_000))","delta_fp":"\#(i % 7 - 3).50","side":"\#(i % 2 == 0 ? "yes" : "no")","note":"\#(String(repeating: "é", count: i % 40))"}}"#
    }

    func testMessagesArriveAsSentThroughFragmentsAndPings() throws {
        let peer = try Self.peer(Self.session, ["--fragment", "7", "--ping-every", "50"])
        defer { peer.process.terminate() }
        let ws = try WebSocketClient(Self.options(peer))
        XCTAssertEqual(Self.readAll(ws), Self.session)
        XCTAssertEqual(ws.failure, .closed(peer: ws.peer, code: 1000, reason: ""))
        XCTAssertGreaterThan(ws.counts.fragmented, 100)
        XCTAssertEqual(ws.counts.pings, 40)
        XCTAssertNotNil(ws.tlsVersion)
    }

    /// Writing to a TLS connection the peer has dropped fails; it does not raise SIGPIPE
    /// (which, left at its default, ends the process: `hotpath book` died so once).
    func testWritingToADroppedConnectionRaisesNoSIGPIPE() throws {
        let peer = try Self.peer([#"{"hotpath_peer":"drop"}"#])
        defer { peer.process.terminate() }
        let previous = signal(SIGPIPE, SIG_DFL)
        defer { signal(SIGPIPE, previous) }
        let ws = try WebSocketClient(Self.options(peer))
        var failed = false
        for _ in 0..<50 where !failed {
            usleep(20_000)
            failed = !ws.send(text: "{\"cmd\":\"ping\"}")
        }
        XCTAssertTrue(failed, "a write to a dropped connection succeeded 50 times")
    }

    func testCertificatesAreChecked() throws {
        // The system's store does not know the test CA: one line, nothing read.
        var p = try Self.peer(["{}"])
        XCTAssertThrowsError(try WebSocketClient(Self.options(p, ca: false))) { error in
            guard case let .tls(_, reason) = error as? WebSocketError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.hasPrefix("certificate verify failed"), reason)
            XCTAssertFalse(reason.contains("\n"))
        }
        p.process.terminate()
        // A name the certificate does not carry.
        p = try Self.peer(["{}"], ["--hostname", "venue.example"])
        XCTAssertThrowsError(try WebSocketClient(Self.options(p))) { error in
            guard case let .tls(_, reason) = error as? WebSocketError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("mismatch"), reason)
        }
        p.process.terminate()
    }

    /// Each broken frame: the messages before it, then a close with its code, counted.
    func testMalformedFramesAreRefusedByName() throws {
        let cases: [(String, UInt16, KeyPath<WebSocketClient.Counts, Int>?)] = [
            ("bad_opcode", 1002, \.protocolErrors), ("oversized", 1009, \.oversized), ("bad_utf8", 1007, \.invalidUTF8),
            ("masked", 1002, \.protocolErrors), ("reserved_bits", 1002, \.protocolErrors), ("truncated", 1006, nil),
        ]
        for (kind, code, counter) in cases {
            let peer = try Self.peer(Array(Self.session.prefix(10)), ["--malformed", kind])
            defer { peer.process.terminate() }
            let ws = try WebSocketClient(Self.options(peer))
            XCTAssertEqual(Self.readAll(ws), Array(Self.session.prefix(3)), kind)
            guard case let .closed(_, got, reason) = ws.failure else {
                return XCTFail("\(kind): \(String(describing: ws.failure))")
            }
            XCTAssertEqual(got, code, "\(kind): \(reason)")
            if let counter { XCTAssertEqual(ws.counts[keyPath: counter], 1, kind) }
        }
    }

    /// Receiving allocates nothing per message on TLS 1.2: the same count after 100 and after
    /// 1,900 messages, fragmented at random (pings: `testAPongCostsTwoMallocsInsideOpenSSL`). (On TLS 1.3, OpenSSL 3.0 allocates once per record inside SSL_read:
    /// `testTLS13AllocatesPerRecordInsideOpenSSL` holds that finding.)
    func testReceivingAllocatesNothingPerMessage() throws {
        try requireOptimizedBuild()
        let peer = try Self.peer(Self.session, ["--fragment", "3"])
        defer { peer.process.terminate() }
        var o = Self.options(peer)
        o.tls12Only = true
        let ws = try WebSocketClient(o)
        XCTAssertEqual(ws.tlsVersion, "TLSv1.2")
        var seen = 0
        var marks: [UInt64] = []
        marks.reserveCapacity(2)
        var before: UInt64 = 0
        Self.eachMessage(ws) { _ in
            seen += 1
            if seen == 100 { before = hp_thread_malloc_count() }
            if seen == 1_000 { marks.append(hp_thread_malloc_count() - before) }
            if seen == 1_900 { marks.append(hp_thread_malloc_count() - before) }
        }
        XCTAssertEqual(seen, 2_000)
        XCTAssertEqual(marks.count, 2)
        XCTAssertEqual(marks.first, marks.last, "mallocs between messages 100–1,000 and 100–1,900")
    }

    /// A pong is one masked frame from a fixed buffer, sent by one SSL_write; OpenSSL 3.0
    /// allocates twice in that write (TLS 1.2), so a ping costs 2 mallocs. Pings are the
    /// venue's keep-alive (seconds apart), not messages; this holds the figure.
    func testAPongCostsTwoMallocsInsideOpenSSL() throws {
        try requireOptimizedBuild()
        let peer = try Self.peer(Self.session)
        defer { peer.process.terminate() }
        var o = Self.options(peer)
        o.tls12Only = true
        let ws = try WebSocketClient(o)
        let payload: [UInt8] = [1, 2, 3, 4]
        let before = hp_thread_malloc_count()
        payload.withUnsafeBytes { p in for _ in 0..<100 { ws.sendControl(opcode: 10, p) } }
        XCTAssertLessThanOrEqual(hp_thread_malloc_count() - before, 200 + 8)
    }

    /// The finding behind `tls12Only`: raw TLS reads of the same stream, 1.2 against 1.3.
    func testTLS13AllocatesPerRecordInsideOpenSSL() throws {
        try requireOptimizedBuild()
        func mallocs(tls12Only: Bool) throws -> (reads: Int, mallocs: UInt64) {
            let peer = try Self.peer(Self.session)
            defer { peer.process.terminate() }
            var o = Self.options(peer)
            o.tls12Only = tls12Only
            let ws = try WebSocketClient(o)
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: 1 << 16, alignment: 64)
            defer { buffer.deallocate() }
            var total = 0, reads = 0
            let before = hp_thread_malloc_count()
            while total < 200_000 {
                let n = ws.stream.receive(into: buffer, count: 16 << 10)
                if n == -Int(EAGAIN) { continue }
                guard n > 0 else { break }
                total += n
                reads += 1
            }
            return (reads, hp_thread_malloc_count() - before)
        }
        let v12 = try mallocs(tls12Only: true), v13 = try mallocs(tls12Only: false)
        XCTAssertLessThan(v12.mallocs, 10, "TLS 1.2: \(v12)")
        XCTAssertGreaterThanOrEqual(
            v13.mallocs, UInt64(v13.reads), "TLS 1.3: \(v13); if this fails, OpenSSL stopped allocating")
    }
}
