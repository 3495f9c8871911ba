import CSupport
import Foundation
import MallocCounter
import Synchronization
import XCTest

@testable import HotPath

/// The engine on a live MoldUDP64 session against a replay of the same session's file: the
/// same signals, record for record; and what a loss past recovery does to a run.
final class LiveRunTests: XCTestCase {
    static let demo = TestPaths.root + "/demo"

    /// The demo's configuration made deterministic: no conflation, feature windows on exchange
    /// time, no data-age or rate gates (both read receive times, which a live run has and a
    /// replay of a Nasdaq binary file does not).
    func config(output: String = "") throws -> EngineConfig {
        let text = """
            [engine]
            max_instruments = 8
            max_orders = 65536
            [rings]
            events = 65536
            events_full = "spin"
            signals = 65536
            signals_full = "spin"
            [features]
            names = ["spread_bps", "imbalance_l1", "imbalance_l5", "bid_depth_5", "ask_depth_5", "ofi", "ofi_1s", "ofi_5s",
                     "signed_volume_5s", "return_1s", "return_5s", "realized_vol_60s", "event_rate_1s", "trade_count_5s",
                     "levels_bid", "levels_ask"]
            levels = 5
            tick = 0.01
            clock = "exchange"
            [[models]]
            path = "\(Self.demo)/model-lgb.txt"
            weight = 0.7
            [[models]]
            path = "\(Self.demo)/model-mlp.onnx"
            weight = 0.3
            [signal]
            evaluate = "top_change"
            conflate = false
            strong = 0.3
            medium = 0.15
            buy_output = 2
            sell_output = 0
            [risk]
            max_position = 20
            max_notional = 2500.0
            [output]
            progress = false
            \(output)
            """
        let path = temporaryFile(Array(text.utf8), suffix: ".toml")
        defer { unlink(path) }
        var c = try EngineConfig.load(path: path)
        let cpus = PinnedThread.currentAffinity().cpus
        c.feedCore = cpus.first
        c.engineCore = cpus.last
        return c
    }

    /// What a signal decides, without its receive time.
    struct Decision: Equatable {
        var sequence: UInt64, instrument: UInt32, side: UInt8, strength: UInt8, edge: Double
        init(_ s: Signal) {
            sequence = s.sequence; instrument = s.instrumentId; side = s.side; strength = s.strength.rawValue;
            edge = s.edge
        }
    }

    func decisions(_ path: String) -> [Decision] {
        let bytes = readBytes(path) ?? []
        return bytes.withUnsafeBytes { b in
            stride(from: 0, to: b.count, by: 64).map { Decision(b.loadUnaligned(fromByteOffset: $0, as: Signal.self)) }
        }
    }

    /// Receives 64-byte signal datagrams on a thread until told to stop.
    final class Listener: @unchecked Sendable {
        let fd: Int32
        let port: UInt16
        var received: [Decision] = []
        let stop = Atomic<Bool>(false)
        let done = DispatchSemaphore(value: 0)

        init() {
            var failed: UnsafePointer<CChar>? = nil
            fd = hp_udp_open_rx("127.0.0.1", 0, nil, 4 << 20, &failed)
            port = UInt16(hp_udp_local_port(fd))
            Thread { [self] in
                let buffer = UnsafeMutableRawPointer.allocate(byteCount: 2048, alignment: 64)
                var from = sockaddr_in()
                var quietPolls = 0
                while quietPolls < 2_000 {
                    let n = hp_udp_recvfrom(fd, buffer, 2048, &from)
                    if n == 64 {
                        received.append(Decision(buffer.loadUnaligned(as: Signal.self)))
                        quietPolls = 0
                    } else {
                        if stop.load(ordering: .acquiring) { quietPolls += 1 }
                        usleep(50)
                    }
                }
                buffer.deallocate()
                close(fd)
                done.signal()
            }.start()
        }

        func finish() -> [Decision] {
            stop.store(true, ordering: .releasing)
            done.wait()
            return received
        }
    }

    func serve(
        _ path: String, to port: UInt16, rerequests: UInt16, configure: (inout MoldServer.Options) -> Void = { _ in }
    )
        throws -> (DispatchSemaphore, () -> MoldServer.Report)
    {
        guard case let .itch(itch) = try FeedFile.open(path) else { throw XCTSkip("not ITCH") }
        var options = MoldServer.Options(to: HostPort(host: "127.0.0.1", port: port))
        options.rerequestPort = rerequests
        options.lingerNs = 300_000_000
        options.pace = .rate(messagesPerSecond: 200_000)
        configure(&options)
        let server = try MoldServer(source: itch, options: options)
        let done = DispatchSemaphore(value: 0)
        final class Box: @unchecked Sendable { var report = MoldServer.Report() }
        let box = Box()
        Thread {
            box.report = (try? server.run()) ?? MoldServer.Report()
            done.signal()
        }.start()
        return (done, { box.report })
    }

    /// Binds the feed's socket, then calls `serve` (so nothing is sent before the socket is
    /// there), then runs the engine on the feed.
    func liveRun(
        _ c: EngineConfig, url: String, signalsTo path: String, serve: () throws -> Void
    ) throws -> (Engine, RunReport, Engine.FeedOutcome) {
        guard case let .moldUDP64(options) = try SourceURL.parse(url) else { throw XCTSkip("not a live URL") }
        let engine = try Engine(config: c)
        var live = LiveFeedRun(feed: try MoldUDP64Feed(options: options), clock: engine.clock)
        try serve()
        live.onLoss = c.onLoss
        live.idleNs = 10_000_000_000
        let sink = try SignalSink(path: path, format: .binary, existing: .overwrite)
        let (report, outcome) = try engine.run(sources: [.live(live)], sink: sink)
        sink.close()
        return (engine, report, outcome)
    }

    func testLiveRunSendsWhatAReplayWrites() throws {
        var g = ITCHGenerator.demoSession
        g.seed = 0xD3E1
        let session = temporaryFile(g.generate(messages: 120_000), suffix: ".itch")
        defer { unlink(session) }
        let replayed = "/tmp/hotpath-test-live-replay.bin", written = "/tmp/hotpath-test-live-run.bin"
        defer { unlink(replayed); unlink(written) }

        let replayEngine = try Engine(config: try config())
        let sink = try SignalSink(path: replayed, format: .binary, existing: .overwrite)
        _ = try replayEngine.run(
            feeds: [FileReplay(file: try FeedFile.open(session), clock: replayEngine.clock)], sink: sink)
        sink.close()
        let want = decisions(replayed)
        XCTAssertGreaterThan(want.count, 100, "the demo model should signal on the demo session")

        let listener = Listener()
        let data = MoldUDP64Tests.freePort(), requests = MoldUDP64Tests.freePort()
        var c = try config(output: "url = \"udp://127.0.0.1:\(listener.port)\"")
        c.feeds = [.init(source: try SourceURL.parse("moldudp64://127.0.0.1:\(data)"), text: "")]
        let liveConfig = c
        var served: DispatchSemaphore?
        let (_, report, outcome) = try liveRun(
            liveConfig, url: "moldudp64://127.0.0.1:\(data)?rerequest=127.0.0.1:\(requests)",
            signalsTo: written
        ) {
            served = try serve(session, to: data, rerequests: requests) {
                $0.drop = 0.01; $0.seed = 9
            }.0
        }
        served?.wait()
        let sent = listener.finish()
        XCTAssertEqual(outcome.errors, [])
        XCTAssertTrue(
            decisions(written) == want,
            "the live run file sink: \(decisions(written).count) of \(want.count); \(report.counters.filter { $0.1 != 0 })"
        )
        XCTAssertEqual(sent.count, want.count, "signals received over UDP")
        XCTAssertTrue(sent == want, "the signals sent over UDP")
        let counter = { (name: String) in report.counters.first { $0.0 == name }?.1 ?? 0 }
        XCTAssertEqual(counter("moldudp64.messages_lost"), 0)
        XCTAssertGreaterThan(counter("moldudp64.messages_recovered"), 0)
        XCTAssertEqual(
            counter("egress.sent"), UInt64(want.count), "\(report.counters.filter { $0.0.hasPrefix("egress") })")
        for stage in ["wire", "egress", "wire_to_signal"] {
            XCTAssertGreaterThan(report.stage(stage)?.count ?? 0, 0, "\(stage) is measured")
        }
    }

    func testLossPastRecoveryMakesTheBooksStaleAndSuppressesSignals() throws {
        var g = ITCHGenerator.demoSession
        g.seed = 0xD3E1
        let session = temporaryFile(g.generate(messages: 120_000), suffix: ".itch")
        defer { unlink(session) }
        let written = "/tmp/hotpath-test-live-loss.bin"
        defer { unlink(written) }
        let data = MoldUDP64Tests.freePort(), requests = MoldUDP64Tests.freePort()
        var served: (DispatchSemaphore, () -> MoldServer.Report)?
        let (_, run, outcome) = try liveRun(
            try config(), url: "moldudp64://127.0.0.1:\(data)?rerequest=127.0.0.1:\(requests)&timeout_ms=10&retries=1",
            signalsTo: written
        ) {
            served = try serve(session, to: data, rerequests: requests) {
                $0.drop = 0.01
                $0.rerequestStopsAfter = 5  // the re-request server goes silent mid-run
            }
        }
        served?.0.wait()
        let report = served!.1
        XCTAssertEqual(outcome.errors, [], "the run goes on")
        XCTAssertGreaterThan(report().rerequestsIgnored, 0)
        let counter = { (name: String) in run.counters.first { $0.0 == name }?.1 ?? 0 }
        XCTAssertGreaterThan(counter("moldudp64.messages_lost"), 0, "the loss is counted")
        // Each event after the loss carries the gap flag, and a book that lost orders is stale:
        // which gate names a suppression depends on where the loss fell (stale comes first).
        XCTAssertGreaterThan(
            counter("engine.suppressed_sequence_gap") + counter("engine.suppressed_stale_book"), 0,
            "signals after the loss are suppressed and counted")
        XCTAssertGreaterThan(counter("moldudp64.end_of_session"), 0, "the session ran to its end")
    }

    func testOnLossStopEndsTheRunNamingTheLoss() throws {
        var g = ITCHGenerator.demoSession
        g.seed = 7
        let session = temporaryFile(g.generate(messages: 20_000), suffix: ".itch")
        defer { unlink(session) }
        let data = MoldUDP64Tests.freePort()
        var c = try config()
        c.onLoss = .stop
        var served: DispatchSemaphore?
        let (_, _, outcome) = try liveRun(c, url: "moldudp64://127.0.0.1:\(data)?timeout_ms=5", signalsTo: "/dev/null")
        {
            served = try serve(session, to: data, rerequests: 0) {
                $0.drop = 0.05; $0.lingerNs = 0
            }.0
        }
        served?.wait()
        XCTAssertEqual(outcome.errors.count, 1)
        XCTAssertTrue(
            outcome.errors.first?.description.contains("lost past recovery; stopping (feed.on_loss = \"stop\")")
                ?? false, "\(outcome.errors)")
    }

    func testEgressSendsAllocateNothing() throws {
        try requireOptimizedBuild()
        let listener = Listener()
        let counters = CounterRegistry()
        let egress = try SignalEgress(
            url: "udp://127.0.0.1:\(listener.port)", interface: nil, live: true, counters: counters, configFile: "test")
        let arena = try Arena(bytes: 16 << 20, lock: false)
        let histograms = try arena.allocate(HistogramRecorder.self, count: Stage.allCases.count)
        for i in 0..<Stage.allCases.count { (histograms + i).initialize(to: try HistogramRecorder(arena: arena)) }
        let clock = Clock.calibrated()
        var s = Signal()
        s.tsRecv = hp_realtime_ns()
        func send(_ n: Int) -> UInt64 {
            let before = hp_thread_malloc_count()
            for i in 0..<n {
                s.sequence = UInt64(i + 1)
                egress.send(s, madeTicks: clock.ticks(), clock: clock, histograms: histograms)
                histograms[Stage.egress.rawValue].poll()
            }
            return hp_thread_malloc_count() - before
        }
        _ = send(100)
        XCTAssertEqual(send(1_000), 0, "mallocs over 1,000 sends")
        XCTAssertEqual(send(10_000), 0, "mallocs over 10,000 sends")
        XCTAssertGreaterThan(listener.finish().count, 0)
        withExtendedLifetime(arena) {}
    }

    /// The feed thread's live loop, run here on the test thread into a ring big enough to hold
    /// every event: its mallocs (the receiver's set-up included) are the same for a session
    /// ten times longer.
    func testLiveFeedLoopMallocsStayFlatAsPacketsGrow() throws {
        try requireOptimizedBuild()
        func mallocs(messages: Int) throws -> (UInt64, Int) {
            let session = temporaryFile(ITCHGenerator().generate(messages: messages), suffix: ".itch")
            defer { unlink(session) }
            let arena = try Arena(bytes: 64 << 20, lock: false)
            let ring = try SPSCRing<Event>(capacity: 1 << 18, policy: .drop, arena: arena)
            let data = MoldUDP64Tests.freePort(), requests = MoldUDP64Tests.freePort()
            guard
                case let .moldUDP64(options) = try SourceURL.parse(
                    "moldudp64://127.0.0.1:\(data)?rerequest=127.0.0.1:\(requests)")
            else {
                throw XCTSkip("not a live URL")
            }
            var live = LiveFeedRun(feed: try MoldUDP64Feed(options: options), clock: .calibrated())
            live.idleNs = 10_000_000_000
            let (served, _) = try serve(session, to: data, rerequests: requests) { $0.drop = 0.01 }
            let before = hp_thread_malloc_count()
            let stats = live.run(into: ring.producer)
            let count = hp_thread_malloc_count() - before
            served.wait()
            XCTAssertNil(stats.error)
            XCTAssertEqual(stats.dropped, 0)
            withExtendedLifetime(arena) {}
            return (count, stats.records)
        }
        _ = try mallocs(messages: 2_000)  // first use of lazily made globals
        let (small, smallRecords) = try mallocs(messages: 20_000)
        let (large, largeRecords) = try mallocs(messages: 200_000)
        XCTAssertEqual(smallRecords, 20_000)
        XCTAssertEqual(largeRecords, 200_000)
        XCTAssertLessThanOrEqual(
            large, small, "mallocs for 200k messages (\(large)) against 20k (\(small)): start-up only")
        XCTAssertLessThan(small, 64, "start-up allocations only")
    }
}

/// The engine on a Databento Live session that the gateway drops after N records.
extension LiveRunTests {
    /// The demo configuration for ES futures: no position or notional limits (an ES
    /// contract's notional is above the demo's), and low thresholds, so the models signal.
    func futuresConfig() throws -> EngineConfig {
        var c = try config()
        c.limits.maxNotional = 0
        c.limits.maxPosition = 0
        c.policy.strong = 0.02
        c.policy.medium = 0.01
        return c
    }

    /// Runs `file` through the engine from `serve databento`, the first session dropped
    /// after `disconnectAfter` records; returns the signals' decisions and the report.
    func gatewayRun(_ file: DBNFile, disconnectAfter: Int) throws -> ([Decision], RunReport, Engine.FeedOutcome) {
        let (server, thread) = try DatabentoTests.serve([file], sessions: 2, disconnectAfter: disconnectAfter)
        let engine = try Engine(config: try futuresConfig())
        let feed = try DatabentoTests.feed(server, file)
        let path = "/tmp/hotpath-test-databento-run-\(getpid()).bin"
        defer { unlink(path) }
        let sink = try SignalSink(path: path, format: .binary, existing: .overwrite)
        let (report, outcome) = try engine.run(
            sources: [.databento(DatabentoFeedRun(feed: feed, clock: engine.clock))], sink: sink)
        sink.close()
        while !thread.isFinished { usleep(1_000) }
        return (decisions(path), report, outcome)
    }

    func replayDecisions(_ path: String) throws -> [Decision] {
        let engine = try Engine(config: try futuresConfig())
        let out = "/tmp/hotpath-test-databento-replay-\(getpid()).bin"
        defer { unlink(out) }
        let sink = try SignalSink(path: out, format: .binary, existing: .overwrite)
        _ = try engine.run(feeds: [FileReplay(file: try FeedFile.open(path), clock: engine.clock)], sink: sink)
        sink.close()
        return decisions(out)
    }

    /// After a reconnect the books are stale until the stream clears them. A stream with no
    /// clear: the run signals as the replay does until the reconnect, then every signal is
    /// suppressed as stale_book, and counted. The same stream opened by a clear (as a
    /// snapshot opens): signals resume after the reconnect. Either way the signals before the
    /// reconnect are the replay's first ones: nothing doubled, nothing dropped.
    func testDatabentoRunAcrossAReconnect() throws {
        let data = try TestPaths.requireSharedData()
        let counter = { (r: RunReport, name: String) in r.counters.first { $0.0 == name }?.1 ?? 0 }
        let path = data + "/dbn/esh4-glbx-mdp3-20231225.mbo.dbn.zst"
        guard case let .dbn(plain) = try FeedFile.open(path) else { return XCTFail() }
        let all = try replayDecisions(path)

        let (before, report, outcome) = try gatewayRun(plain, disconnectAfter: 30_000)
        XCTAssertEqual(outcome.errors, [])
        XCTAssertEqual(counter(report, "databento.reconnects"), 1)
        XCTAssertEqual(counter(report, "engine.source_resubscribes"), 1)
        XCTAssertGreaterThan(before.count, 100)
        XCTAssertTrue(before == Array(all.prefix(before.count)), "\(before.count) of \(all.count)")
        XCTAssertGreaterThan(counter(report, "engine.suppressed_stale_book"), UInt64(all.count - before.count) / 2)

        // The same records after a clear of their instrument (MBO action R, as a snapshot
        // starts), so the reconnect's new session rebuilds the book.
        let bytes = plain.input.bytes
        let first = plain.metadata.recordsOffset
        var clear = Array(bytes[first..<first + 56])
        clear[16..<36] = ArraySlice(repeating: 0, count: 20)
        withUnsafeBytes(of: Event.undefinedPrice.littleEndian) { for i in 0..<8 { clear[24 + i] = $0[i] } }
        clear[36] = DBNFlags.last | DBNFlags.snapshot
        clear[38] = Event.Action.clear
        clear[39] = Event.Side.none
        let cleared = temporaryFile(Array(bytes[0..<first]) + clear + Array(bytes[first...]), suffix: ".dbn")
        defer { unlink(cleared) }
        guard case let .dbn(snapshot) = try FeedFile.open(cleared) else { return XCTFail() }
        let (resumed, report2, outcome2) = try gatewayRun(snapshot, disconnectAfter: 30_001)
        XCTAssertEqual(outcome2.errors, [])
        XCTAssertEqual(counter(report2, "engine.source_resubscribes"), 1)
        XCTAssertTrue(resumed.prefix(before.count) == before[...], "\(resumed.count)")
        XCTAssertGreaterThan(resumed.count, before.count + (all.count - before.count) / 2)
    }
}
