import CSupport
import Foundation
import MallocCounter
import XCTest

@testable import HotPath

#if canImport(Glibc)
import Glibc
#endif

/// Shards over NATS against a real `nats-server` on loopback: three shards' signals are one
/// process's; a fleet kill stops every shard and resume restarts them; a server restart is
/// survived and counted; NATS output adds no allocation on the engine's path.
final class NATSTests: XCTestCase {
    /// A `nats-server` on a free loopback port, stopped at the end of the test (skips without one).
    final class Server {
        let local: LocalNATSServer
        init(jetstream: Bool = false) throws {
            guard LocalNATSServer.installed != nil else {
                throw XCTSkip("nats-server is not installed (scripts/setup.sh installs it)")
            }
            local = try LocalNATSServer(jetstream: jetstream)
        }
        var url: String { local.url(prefix: "hp") }
        func start() throws { try local.start() }
        func stop(crash: Bool = false) { local.stop(crash: crash) }
    }

    static let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path + "/hotpath"

    /// A temporary directory with a demo session and the deterministic demo configuration
    /// (no conflation, exchange-time windows, no gate that reads receive times or counts
    /// across instruments), its signals sent to `url` when given.
    func setUp(url: String?) throws -> String {
        guard access(Self.binary, X_OK) == 0 else {
            throw XCTSkip("\(Self.binary) is not built: the test needs the CLI")
        }
        let dir = NSTemporaryDirectory() + "hotpath-nats-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var text = try String(contentsOfFile: TestPaths.root + "/demo/config.toml", encoding: .utf8)
        text = text.replacingOccurrences(of: "path = \"model-", with: "path = \"\(TestPaths.root)/demo/model-")
        text = text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            if line.hasPrefix("conflate") { return "conflate = false" }
            if line.hasPrefix("tick = 0.01") { return "tick = 0.01\nclock = \"exchange\"" }
            if line.hasPrefix("signals = \"\""), let url { return "signals = \"\"\nurl = \"\(url)\"" }
            return ["max_age_ms", "max_signals_per_s", "kill_switch"].contains { line.hasPrefix($0) }
                ? "" : String(line)
        }.joined(separator: "\n")
        try text.write(toFile: dir + "/config.toml", atomically: true, encoding: .utf8)
        var g = ITCHGenerator.demoSession
        g.seed = 0xD3E1
        XCTAssertTrue(
            FileManager.default.createFile(atPath: dir + "/demo.itch", contents: Data(g.generate(messages: 300_000))))
        return dir
    }

    @discardableResult
    func hotpath(_ args: [String], stderr: String? = nil, wait: Bool = true) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary)
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        if let stderr {
            FileManager.default.createFile(atPath: stderr, contents: nil)
            p.standardError = FileHandle(forWritingAtPath: stderr)
        } else {
            p.standardError = FileHandle.nullDevice
        }
        try p.run()
        if wait {
            p.waitUntilExit()
            // 1: a latency budget of the demo configuration failed on this host; not this test's.
            XCTAssertLessThanOrEqual(p.terminationStatus, 1, "hotpath \(args.joined(separator: " "))")
        }
        return p
    }

    /// Every signal a subscriber gets on PREFIX.<shard>.<instrument>, with its arrival time.
    final class Subscriber: @unchecked Sendable {
        let link: NATSLink
        var signals: [(at: UInt64, shard: String, signal: Signal)] = []
        var heartbeats: [String: Int] = [:]

        init(url: String) throws {
            link = try NATSLink(url: url)
            XCTAssertTrue(link.subscribe("hp.>"))
        }

        /// Takes what has come until nothing has for `quietMs`.
        func drain(quietMs: Int = 1_500) {
            var quiet = 0
            while quiet < quietMs {
                guard let (subject, bytes, at) = link.next() else {
                    usleep(1_000)
                    quiet += 1
                    continue
                }
                quiet = 0
                take(subject, bytes, at)
            }
        }

        /// Takes what comes for `ms` milliseconds.
        func take(forMs ms: Int) {
            let end = Clock.monotonicNs() + UInt64(ms) * 1_000_000
            while Clock.monotonicNs() < end {
                if let (subject, bytes, at) = link.next() { take(subject, bytes, at) } else { usleep(500) }
            }
        }

        func take(_ subject: String, _ bytes: [UInt8], _ at: UInt64) {
            let tokens = subject.split(separator: ".")
            if tokens.count == 3 && tokens[1] == "health" {
                heartbeats[String(tokens[2]), default: 0] += 1
            } else if tokens.count == 3 && bytes.count == 64 {
                signals.append(
                    (
                        at, String(tokens[1]),
                        bytes.withUnsafeBytes { $0.loadUnaligned(as: Signal.self) }
                    ))
            }
        }
    }

    struct Key: Hashable, Comparable {
        let tsEvent: UInt64, instrument: UInt32, side: UInt8, strength: UInt8, edge: Double
        init(_ s: Signal) {
            (tsEvent, instrument, side, strength, edge) = (
                s.tsEvent, s.instrumentId, s.side, s.strength.rawValue, s.edge
            )
        }
        static func < (a: Key, b: Key) -> Bool {
            (a.tsEvent, a.instrument, a.side, a.strength, a.edge) < (
                b.tsEvent, b.instrument, b.side, b.strength, b.edge
            )
        }
    }

    func testThreeShardsOverNATSAreOneProcessRecordForRecord() throws {
        let server = try Server()
        let dir = try setUp(url: server.url)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // The single process, to a binary file (no NATS: its own configuration without the url).
        let single = try String(contentsOfFile: dir + "/config.toml", encoding: .utf8)
            .replacingOccurrences(of: "url = \"\(server.url)\"", with: "")
            .replacingOccurrences(of: "format = \"csv\"", with: "format = \"binary\"")
        try single.write(toFile: dir + "/single.toml", atomically: true, encoding: .utf8)
        try hotpath(["replay", dir + "/demo.itch", "--config", dir + "/single.toml", "--signals", dir + "/all.bin"])
        let want = try XCTUnwrap(readBytes(dir + "/all.bin")).withUnsafeBytes { raw in
            (0..<raw.count / 64).map { Key(raw.loadUnaligned(fromByteOffset: $0 * 64, as: Signal.self)) }
        }.sorted()
        XCTAssertGreaterThan(want.count, 1_000)

        let subscriber = try Subscriber(url: server.url)
        let shards = try (0..<3).map { k in
            try hotpath(
                [
                    "replay", dir + "/demo.itch", "--config", dir + "/config.toml", "--shard", "\(k)/3", "--report",
                    dir + "/r\(k).json",
                ],
                wait: false)
        }
        while shards.contains(where: \.isRunning) { subscriber.take(forMs: 20) }
        subscriber.drain()
        let got = subscriber.signals.map { Key($0.signal) }.sorted()
        XCTAssertEqual(got.count, want.count)
        XCTAssertTrue(got == want, "the union of the shards' signals is the single process's")
        XCTAssertEqual(Set(subscriber.signals.map(\.shard)), ["0-of-3", "1-of-3", "2-of-3"])
        // Sequenced per shard: 1, 2, 3, … on each.
        for shard in ["0-of-3", "1-of-3", "2-of-3"] {
            let sequences = subscriber.signals.filter { $0.shard == shard }.map(\.signal.sequence)
            XCTAssertEqual(sequences, Array(1...UInt64(sequences.count)), shard)
        }
        for k in 0..<3 {
            let report = try RunReport.load(path: dir + "/r\(k).json")
            XCTAssertGreaterThan(report.counter("feed.outside_shard") ?? 0, 0)
            XCTAssertEqual(report.counter("nats.published"), report.counter("output.signals_written"))
            XCTAssertEqual(report.counter("nats.buffer_full"), 0)
        }
    }

    /// Three shards replaying at 20× the recorded pace (about 4.5 s): `fleet kill` after 1.5 s
    /// stops every shard's signals (each counts its suppressions), `fleet resume` 1 s later
    /// restarts them.
    func testFleetKillStopsEveryShardAndResumeRestartsThem() throws {
        let server = try Server()
        let dir = try setUp(url: server.url)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let subscriber = try Subscriber(url: server.url)
        let shards = try (0..<3).map { k in
            try hotpath(
                [
                    "replay", dir + "/demo.itch", "--config", dir + "/config.toml", "--shard", "\(k)/3", "--pace",
                    "recorded", "--speed", "20", "--report", dir + "/r\(k).json",
                ], wait: false)
        }
        subscriber.take(forMs: 1_500)
        try hotpath(["fleet", "kill", server.url])  // returns once the server has it
        let killed = Clock.monotonicNs()
        subscriber.take(forMs: 1_000)
        let resumed = Clock.monotonicNs()
        try hotpath(["fleet", "resume", server.url])
        while shards.contains(where: \.isRunning) { subscriber.take(forMs: 20) }
        subscriber.drain(quietMs: 500)
        // Signals made before the kill may still be on their way (the output thread writes
        // every 10 ms); none is made after it.
        let settle: UInt64 = 100_000_000
        let during = subscriber.signals.filter { $0.at > killed + settle && $0.at < resumed }
        XCTAssertEqual(during.count, 0, "signals while killed: \(during.prefix(3).map(\.shard))")
        XCTAssertGreaterThan(subscriber.signals.filter { $0.at < killed }.count, 0, "signals before the kill")
        let after = Set(subscriber.signals.filter { $0.at > resumed + settle }.map(\.shard))
        XCTAssertEqual(after, ["0-of-3", "1-of-3", "2-of-3"], "every shard signals again after the resume")
        for k in 0..<3 {
            let report = try RunReport.load(path: dir + "/r\(k).json")
            XCTAssertEqual(report.counter("nats.fleet_kills"), 1)
            XCTAssertEqual(report.counter("nats.fleet_resumes"), 1)
            XCTAssertGreaterThan(report.counter("engine.suppressed_kill_switch") ?? 0, 0, "shard \(k)")
        }
        XCTAssertEqual(Set(subscriber.heartbeats.keys), ["0-of-3", "1-of-3", "2-of-3"])
    }

    /// nats-server stopped for a second mid-run and started again on its port: the shard
    /// reconnects (counted), the engine never waits (no ring drops), and signals come again.
    func testAServerRestartIsSurvivedAndCounted() throws {
        let server = try Server()
        let dir = try setUp(url: server.url)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let shard = try hotpath(
            [
                "replay", dir + "/demo.itch", "--config", dir + "/config.toml", "--pace", "recorded", "--speed", "20",
                "--report", dir + "/r.json",
            ], wait: false)
        usleep(1_200_000)
        server.stop()
        usleep(1_000_000)
        try server.start()
        let subscriber = try Subscriber(url: server.url)
        while shard.isRunning { subscriber.take(forMs: 20) }
        subscriber.drain(quietMs: 500)
        let report = try RunReport.load(path: dir + "/r.json")
        XCTAssertGreaterThanOrEqual(report.counter("nats.disconnects") ?? 0, 1)
        XCTAssertGreaterThanOrEqual(report.counter("nats.reconnects") ?? 0, 1)
        XCTAssertEqual(report.counter("feed.ring_full_dropped"), 0)
        XCTAssertEqual(report.counter("output.signal_ring_dropped"), 0)
        XCTAssertGreaterThan(subscriber.signals.count, 0, "signals after the restart")
        // Published, or counted: a full reconnect buffer, or a publish libnats refused while
        // the connection was being re-established.
        let sent =
            (report.counter("nats.published") ?? 0) + (report.counter("nats.buffer_full") ?? 0)
            + (report.counter("nats.failed") ?? 0)
        XCTAssertEqual(sent, report.counter("output.signals_written"), "every signal published or counted")
    }

    /// URLs: the prefix defaults to `hotpath`; `?jetstream=NAME` names each shard's stream
    /// NAME-<shard>; anything NATS cannot carry is refused.
    func testNATSAddresses() {
        let a = NATSAddress("nats://127.0.0.1:4222")
        XCTAssertEqual(a?.server, "nats://127.0.0.1:4222")
        XCTAssertEqual(a?.prefix, "hotpath")
        XCTAssertNil(a?.jetstream)
        let j = NATSAddress("nats://10.0.0.1:4222/desk.eu?jetstream=SIGNALS")
        XCTAssertEqual(j?.prefix, "desk.eu")
        XCTAssertEqual(j?.stream(shard: "1-of-3"), "SIGNALS-1-of-3")
        XCTAssertEqual(NATSAddress("nats://127.0.0.1:4222?jetstream=S")?.prefix, "hotpath")
        for bad in [
            "nats://127.0.0.1:4222/a..b", "nats://127.0.0.1:4222/a*", "nats://127.0.0.1:4222/a?jetstream=",
            "nats://127.0.0.1:4222/a?jetstream=x.y",
            "nats://127.0.0.1:4222/a?stream=x", "nats://127.0.0.1:4222/a?jetstream=a/b", "udp://h:4222", "nats://h/a",
        ] {
            XCTAssertNil(NATSAddress(bad), bad)
        }
    }

    /// With JetStream on, a server restart mid-run loses nothing: every signal ends acked (or
    /// acked as a copy the stream had), and the stream holds each sequence 1...n once.
    func testWithJetStreamAServerRestartLosesNoSignal() throws {
        let server = try Server(jetstream: true)
        let dir = try setUp(url: server.url + "?jetstream=SIG")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let shard = try hotpath(
            [
                "replay", dir + "/demo.itch", "--config", dir + "/config.toml", "--pace", "recorded", "--speed", "20",
                "--report", dir + "/r.json",
            ], stderr: dir + "/stderr", wait: false)
        usleep(1_200_000)
        XCTAssertTrue(shard.isRunning, "the replay outlasts the restart")
        server.stop(crash: true)
        usleep(1_000_000)
        try server.start()
        shard.waitUntilExit()
        let stderr = (try? String(contentsOfFile: dir + "/stderr", encoding: .utf8)) ?? ""
        XCTAssertLessThanOrEqual(shard.terminationStatus, 1, stderr)
        let report = try RunReport.load(path: dir + "/r.json")
        let written = try XCTUnwrap(report.counter("output.signals_written"))
        XCTAssertGreaterThan(written, 1_000)
        XCTAssertGreaterThanOrEqual(report.counter("nats.reconnects") ?? 0, 1)
        XCTAssertEqual(report.counter("nats.js_lost"), 0)
        XCTAssertEqual(report.counter("nats.js_refused"), 0)
        XCTAssertEqual(
            (report.counter("nats.js_acked") ?? 0) + (report.counter("nats.js_duplicates") ?? 0), written,
            "every signal acknowledged once")
        var sequences: [UInt64] = []
        let streams = try NATSLink(url: server.url).forEachStoredSignal(name: "SIG") { shard, _, s in
            XCTAssertEqual(shard, "all")
            sequences.append(s.sequence)
            return true
        }
        XCTAssertEqual(streams, 1)
        XCTAssertEqual(sequences.sorted(), Array(1...written), "the stream holds each signal once")
        print(
            "jetstream restart: \(written) signals, \(report.counter("nats.js_retried") ?? 0) re-sent, "
                + "\(report.counter("nats.js_duplicates") ?? 0) already stored")
    }

    /// With NATS output configured (JetStream too) the engine's per-event path is the same: no
    /// allocation, no retain.
    func testNATSOutputAddsNoAllocationOnTheEnginePath() throws {
        try requireOptimizedBuild()
        let server = try Server(jetstream: true)
        for url in [server.url, server.url + "?jetstream=SIG"] { try engineAllocations(url: url) }
    }

    func engineAllocations(url: String) throws {
        let dir = try setUp(url: url)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let engine = try Engine(config: try EngineConfig.load(path: dir + "/config.toml"))
        XCTAssertNotNil(engine.natsOutput)
        var events: [Event] = []
        try FeedFile.open(dir + "/demo.itch").forEachEvent { events.append($0) }
        assertEngineAllocatesNothing(engine.core, events, warmUp: 20_000)
    }

    /// The output thread (the caller of `run`) publishing over NATS: its allocations per
    /// signal, from two runs that differ only in length (start-up and thread creation cancel).
    /// Core NATS: none. JetStream: libnats' message, its header and its place among the
    /// publishes awaiting acknowledgment, stated in BENCHMARKS.md.
    func testTheOutputThreadsAllocationsPerSignalAreMeasured() throws {
        try requireOptimizedBuild()
        let server = try Server(jetstream: true)
        let core = try outputAllocationsPerSignal(url: server.url)
        XCTAssertLessThan(core, 0.1, "publishing a signal allocates nothing; heartbeats allocate once a second")
        let jetstream = try outputAllocationsPerSignal(url: server.url + "?jetstream=SIG")
        XCTAssertLessThan(jetstream, 16, "a JetStream publish allocates a bounded few")
    }

    func outputAllocationsPerSignal(url: String) throws -> Double {
        let dir = try setUp(url: url)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func run(messages: Int) throws -> (mallocs: UInt64, signals: UInt64) {
            let engine = try Engine(config: try EngineConfig.load(path: dir + "/config.toml"))
            var g = ITCHGenerator.demoSession
            g.seed = 0xD3E1
            let file = temporaryFile(g.generate(messages: messages), suffix: ".itch")
            defer { unlink(file) }
            let replay = FileReplay(file: try FeedFile.open(file), clock: engine.clock)
            let before = hp_thread_malloc_count()
            let (report, _) = try engine.run(feeds: [replay], sink: nil)
            return (hp_thread_malloc_count() - before, report.counter("nats.published") ?? 0)
        }
        let short = try run(messages: 100_000), long = try run(messages: 300_000)
        XCTAssertGreaterThan(long.signals, short.signals + 1_000)
        let perSignal = Double(Int64(long.mallocs) - Int64(short.mallocs)) / Double(long.signals - short.signals)
        print(
            "output thread over \(url): \(short.mallocs) and \(long.mallocs) allocations for \(short.signals) and "
                + "\(long.signals) signals: \(perSignal) per signal")
        return perSignal
    }
}
