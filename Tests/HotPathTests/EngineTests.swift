import CSupport
import Foundation
import MallocCounter
import XCTest

@testable import HotPath

#if canImport(Glibc)
import Glibc
#endif

/// The engine end to end: determinism, signal and suppression counts against an independent
/// computation, graceful stop, and a flat malloc count.
final class EngineTests: XCTestCase {
    static let demo = TestPaths.root + "/demo"

    /// The demo configuration with absolute model paths and `extra` TOML appended per table.
    func config(
        risk: String = "", signal: String = "evaluate = \"top_change\"", output: String = "signals = \"\"",
        extra: String = ""
    ) throws -> EngineConfig {
        let text = """
            [engine]
            max_instruments = 8
            max_orders = 65536
            [rings]
            events = 4096
            events_full = "spin"
            signals = 65536
            signals_full = "spin"
            [features]
            names = ["spread_bps", "imbalance_l1", "imbalance_l5", "bid_depth_5", "ask_depth_5", "ofi", "ofi_1s", "ofi_5s",
                     "signed_volume_5s", "return_1s", "return_5s", "realized_vol_60s", "event_rate_1s", "trade_count_5s",
                     "levels_bid", "levels_ask"]
            [[models]]
            path = "\(Self.demo)/model-lgb.txt"
            weight = 0.7
            [[models]]
            path = "\(Self.demo)/model-mlp.onnx"
            weight = 0.3
            [signal]
            \(signal)
            [risk]
            \(risk)
            [output]
            \(output)
            progress = false
            \(extra)
            """
        let path = temporaryFile(Array(text.utf8), suffix: ".toml")
        defer { unlink(path) }
        var c = try EngineConfig.load(path: path)
        let cpus = PinnedThread.currentAffinity().cpus
        c.feedCore = cpus.first
        c.engineCore = cpus.last
        return c
    }

    func demoSession(messages: Int, seed: UInt64 = 0xD3E1) throws -> FeedFile {
        var g = ITCHGenerator.demoSession
        g.seed = seed
        let path = temporaryFile(g.generate(messages: messages), suffix: ".itch")
        defer { unlink(path) }
        return try FeedFile.open(path)
    }

    func run(
        _ c: EngineConfig, _ file: FeedFile, pace: FileReplay.Pace = .max, loops: Int = 1,
        signalsTo path: String? = nil
    ) throws -> (RunReport, Engine.FeedOutcome) {
        let engine = try Engine(config: c)
        var replay = FileReplay(file: file, clock: engine.clock)
        replay.pace = pace
        replay.loops = loops
        let sink = try path.map { p throws(EngineError) in
            try SignalSink(path: p, format: .binary, existing: .overwrite)
        }
        let result = try engine.run(feeds: [replay], sink: sink)
        sink?.close()
        return result
    }

    /// Files replayed one after another whose times go back (two sessions of the same day)
    /// run to the end: the time since the first event goes negative rather than trapping, and
    /// merged, the same two files are one session in time order.
    func testTwoSessionsOfOneDayRunInOrderOrMerged() throws {
        let c = try config()
        for merged in [false, true] {
            let engine = try Engine(config: c)
            let a = try demoSession(messages: 20_000, seed: 1), b = try demoSession(messages: 20_000, seed: 2)
            var first = FileReplay(file: a, clock: engine.clock)
            let second = FileReplay(file: b, clock: engine.clock)
            if merged { first.mergedWith = [b] }
            let (report, outcome) = try engine.run(feeds: merged ? [first] : [first, second], sink: nil)
            XCTAssertTrue(outcome.errors.isEmpty)
            XCTAssertEqual(report.counter("feed.events"), report.counter("engine.events"))
            XCTAssertGreaterThan(report.counter("engine.events") ?? 0, 30_000, merged ? "merged" : "in order")
        }
    }

    func testReplayingESH4TwiceGivesIdenticalSignals() throws {
        let data = try TestPaths.requireSharedData()
        let file = try FeedFile.open(data + "/dbn/esh4-glbx-mdp3-20231225.mbo.dbn.zst")
        let c = try config(risk: "max_position = 5\nmax_signals_per_s = 100", signal: "evaluate = \"every_event\"")
        let a = "/tmp/hotpath-test-signals-a.bin", b = "/tmp/hotpath-test-signals-b.bin"
        defer { unlink(a); unlink(b) }
        let (first, _) = try run(c, file, signalsTo: a)
        let (second, _) = try run(c, file, signalsTo: b)
        let bytes = try XCTUnwrap(readBytes(a))
        XCTAssertGreaterThan(bytes.count, 0, "the bundled model should emit some signals on ESH4")
        XCTAssertEqual(bytes.count % MemoryLayout<Signal>.stride, 0)
        XCTAssertEqual(bytes, readBytes(b))
        XCTAssertEqual(first.counters.map(\.1), second.counters.map(\.1))
    }

    /// The engine's counts per strength and per suppression reason, against a plain
    /// single-threaded recomputation written here: its own signal thresholds, gate order,
    /// position book and rate window.
    func testSignalCountsMatchAnIndependentComputation() throws {
        let risk = """
            max_position = 4
            order_size = 1
            max_notional = 300.0
            max_signals_per_s = 40
            """
        let c = try config(risk: risk)
        let file = try demoSession(messages: 120_000)
        let (report, outcome) = try run(c, file)
        XCTAssertTrue(outcome.errors.isEmpty)

        // Independent recomputation.
        let arena = try Arena(bytes: 64 << 20, lock: false)
        defer { withExtendedLifetime(arena) {} }
        let book = try L3Book(config: c.book, arena: arena)
        var features = [Int: MicrostructureFeatures]()
        var tops = [Int: [Int64]]()
        let models = try c.models.map { try ModelFile.load(path: $0.path) }
        let total = c.models.reduce(0) { $0 + $1.weight }
        let weights = c.models.map { $0.weight / total }
        let indices = c.featureNames.map { MicrostructureFeatures.names.firstIndex(of: $0)! }
        var full = [Double](repeating: 0, count: MicrostructureFeatures.count)
        var strength = [0, 0, 0], emitted = 0
        var suppressed = [String: Int]()
        var position = [Int: Int64](), recent: [UInt64] = []
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 64)
        defer { scratch.deallocate() }
        try file.forEachEvent { e in
            if e.action == Event.Action.trade {
                if let b = book.instruments.lookup(e.instrumentId) {
                    features[b, default: MicrostructureFeatures(config: c.features)].trade(e)
                }
                return
            }
            guard e.kind == .order else { return }
            let b = book.apply(e)
            guard b >= 0 else { return }
            let view = book.view(book: b)
            full.withUnsafeMutableBufferPointer {
                features[b, default: MicrostructureFeatures(config: c.features)].book(
                    view, event: e, into: $0.baseAddress!)
            }
            let h = view.info
            let bid = h.bidLevels > 0 ? view.bid(0) : PriceLevels.Level(price: 0, size: 0, count: 0)
            let ask = h.askLevels > 0 ? view.ask(0) : PriceLevels.Level(price: 0, size: 0, count: 0)
            let top = [bid.price, Int64(bid.size), ask.price, Int64(ask.size)]
            if tops[b] == top { return }
            tops[b] = top
            let row = indices.map { full[$0] }
            var p = [0.0, 0.0, 0.0]
            for (m, w) in zip(models, weights) {
                var out = [0.0, 0.0, 0.0]
                row.withUnsafeBufferPointer { x in
                    out.withUnsafeMutableBufferPointer {
                        m.predict(x.baseAddress!, into: $0.baseAddress!, scratch: scratch)
                    }
                }
                for k in 0..<3 { p[k] += w * out[k] }
            }
            let edge = p[2] - p[0]
            let level = abs(edge) >= 0.3 ? 2 : abs(edge) >= 0.15 ? 1 : 0
            strength[level] += 1
            guard level > 0 else { return }
            let t = e.tsRecv != 0 && e.tsRecv != UInt64.max ? e.tsRecv : e.tsEvent
            let next = position[b, default: 0] + (edge >= 0 ? 1 : -1)
            let mid = Double((bid.price + ask.price) / 2) / 1e9
            let reason: String?
            if h.stale != 0 {
                reason = "stale_book"
            } else if e.flags & 0x04 != 0 {
                reason = "sequence_gap"
            } else if !row.allSatisfy(\.isFinite) || !edge.isFinite {
                reason = "non_finite_feature"
            } else if recent.filter({ t - $0 < 1_000_000_000 }).count >= 40 {
                reason = "rate_limit"
            } else if abs(next) > 4 {
                reason = "position_limit"
            } else if Double(abs(next)) * mid > 300 {
                reason = "notional_limit"
            } else {
                reason = nil
            }
            if let reason { suppressed[reason, default: 0] += 1; return }
            position[b] = next
            recent.append(t)
            emitted += 1
        }
        func counter(_ n: String) -> Int { Int(report.counter("engine." + n) ?? 0) }
        XCTAssertEqual(counter("strength_weak"), strength[0])
        XCTAssertEqual(counter("strength_medium"), strength[1])
        XCTAssertEqual(counter("strength_strong"), strength[2])
        XCTAssertEqual(counter("emitted"), emitted)
        for reason in RiskGates.Reason.allCases {
            XCTAssertEqual(counter("suppressed_" + reason.name), suppressed[reason.name, default: 0], reason.name)
        }
        XCTAssertGreaterThan(emitted, 0)
        XCTAssertGreaterThan(suppressed.count, 1, "the limits should make several gates fire: \(suppressed)")
    }

    /// A looped replay empties the books at each restart: every book counter of three loops
    /// is three times one loop's (live orders at the session's end would otherwise be added
    /// twice), and every event the feed offered was processed.
    func testLoopedReplayRestartsTheBooks() throws {
        let c = try config()
        let file = try demoSession(messages: 30_000)
        let (once, _) = try run(c, file)
        let (thrice, outcome) = try run(c, file, loops: 3)
        XCTAssertTrue(outcome.errors.isEmpty)
        XCTAssertEqual(thrice.counter("engine.input_restarts"), 2)
        XCTAssertEqual(thrice.counter("feed.events"), thrice.counter("engine.events"))
        XCTAssertEqual(thrice.counter("feed.events"), 3 * once.counter("feed.events")! + 2)
        for (name, value) in once.counters where name.hasPrefix("engine.book.") {
            XCTAssertEqual(thrice.counter(name), 3 * value, name)
        }
        XCTAssertEqual(thrice.counter("engine.book.duplicate_order"), 0)
    }

    /// With conflation, a restart in mid-batch first evaluates the deferred books, as they
    /// stand, before it empties them.
    func testRestartEvaluatesDeferredBooksBeforeEmptyingThem() throws {
        let c = try config(signal: "evaluate = \"every_event\"\nconflate = true")
        let engine = try Engine(config: c)
        var events: [Event] = []
        try demoSession(messages: 5_000).forEachEvent { events.append($0) }
        for e in events { engine.core.process(e, last: false) }
        let evaluations = engine.core.counts[EngineCore.Count.evaluations.rawValue].value
        let pending = engine.core.pendingCount.pointee
        XCTAssertGreaterThan(pending, 0, "events in mid-batch should leave evaluations deferred")
        var restart = Event()
        restart.kind = .restart
        engine.core.process(restart, last: false)
        XCTAssertEqual(engine.core.pendingCount.pointee, 0)
        XCTAssertEqual(engine.core.counts[EngineCore.Count.evaluations.rawValue].value, evaluations + UInt64(pending))
        XCTAssertEqual(engine.core.book.orders.count, 0)
    }

    /// SIGTERM mid-replay: the feed stops, and every signal the engine computed reaches the sink.
    func testSIGTERMMidReplayFlushesEverySignal() throws {
        let c = try config(signal: "evaluate = \"top_change\"\nmedium = 0.05")
        let file = try demoSession(messages: 400_000)
        hp_clear_stop_signal()
        hp_install_stop_handlers()
        defer {
            hp_clear_stop_signal()
            signal(SIGTERM, SIG_DFL)
            signal(SIGINT, SIG_DFL)
        }
        // A debug build starts and evaluates several times slower: it gets longer before the
        // signal, so that some signals exist to flush (at 100 k/s the feed is still mid-session).
        let delay: UInt32 = isOptimizedBuild ? 400_000 : 1_500_000
        let killer = try PinnedThread.start(name: "test-kill", cpu: nil) {
            usleep(delay)
            kill(getpid(), SIGTERM)
        }
        let path = "/tmp/hotpath-test-sigterm.bin"
        defer { unlink(path) }
        // 100 k events/s: the session would take about four seconds.
        let (report, outcome) = try run(c, file, pace: .rate(eventsPerSecond: 100_000), signalsTo: path)
        killer.join()
        XCTAssertTrue(outcome.stoppedEarly, "SIGTERM should have stopped the feed")
        let written = (readBytes(path)?.count ?? 0) / MemoryLayout<Signal>.stride
        XCTAssertGreaterThan(written, 0)
        XCTAssertEqual(UInt64(written), report.counter("engine.emitted"))
        XCTAssertEqual(UInt64(written), report.counter("output.signals_written"))
        XCTAssertEqual(
            report.counter("feed.events"), report.counter("engine.events"), "every event the feed pushed was processed")
        XCTAssertLessThan(report.counter("feed.events")!, 300_000)
    }

    /// The engine thread's per-event work allocates nothing: the same malloc count over 2,000
    /// and 20,000 events.
    func testEngineProcessMallocCountIsFlat() throws {
        try requireOptimizedBuild()
        let c = try config(risk: "max_position = 3")
        let engine = try Engine(config: c)
        var events: [Event] = []
        try demoSession(messages: 40_000).forEachEvent { events.append($0) }
        func mallocs(_ n: Int) -> UInt64 {
            let before = hp_thread_malloc_count()
            for i in 0..<n { engine.core.process(events[i]) }
            return hp_thread_malloc_count() - before
        }
        _ = mallocs(1_000)
        XCTAssertEqual(mallocs(2_000), mallocs(20_000))
        XCTAssertGreaterThan(engine.core.counts[EngineCore.Count.evaluations.rawValue].value, 0)
    }

    /// Rule 1 for the whole per-event path (book, features, models, signal, gates): no
    /// reference counting once running.
    func testEngineProcessMakesNoRetains() throws {
        try requireOptimizedBuild()
        let engine = try Engine(
            config: try config(
                risk: "max_position = 3", signal: "evaluate = \"top_change\"\nmin_agreement = 1\nmin_confidence = 0.5"))
        var events: [Event] = []
        try demoSession(messages: 20_000).forEachEvent { events.append($0) }
        for i in 0..<1_000 { engine.core.process(events[i]) }
        let before = hp_thread_retain_count()
        events.withUnsafeBufferPointer { e in
            for i in 1_000..<e.count { engine.core.process(e[i]) }
        }
        XCTAssertEqual(hp_thread_retain_count() - before, 0)
        XCTAssertGreaterThan(engine.core.counts[EngineCore.Count.evaluations.rawValue].value, 0)
    }

    /// A recurrent model over a window: the engine keeps each instrument's last 60 rows of the
    /// 16 configured features and feeds them to an LSTM whose input is [60, 16]. Its output
    /// through the engine's window ring equals ONNX Runtime's on the same window; evaluations
    /// before an instrument has 60 rows are counted, not made; nothing allocates per event.
    func testARecurrentModelReadsEachInstrumentsWindow() throws {
        let dir = TestPaths.fixtures + "/models/rnn-lstm-60x16/"
        var c = try config(signal: "evaluate = \"every_event\"")
        c.models = [.init(path: dir + "model.onnx", weight: 1)]
        let engine = try Engine(config: c)
        let core = engine.core
        XCTAssertEqual(try XCTUnwrap(c.loadEnsemble()).windowSteps, 60)
        var events: [Event] = []
        try demoSession(messages: 40_000).forEachEvent { events.append($0) }
        func count(_ n: EngineCore.Count) -> UInt64 { core.counts[n.rawValue].value }
        func mallocs(_ range: Range<Int>) -> UInt64 {
            let before = hp_thread_malloc_count()
            for i in range { core.process(events[i]) }
            return hp_thread_malloc_count() - before
        }
        _ = mallocs(0..<2_000)
        if isOptimizedBuild { XCTAssertEqual(mallocs(2_000..<4_000), mallocs(4_000..<events.count)) }
        XCTAssertGreaterThan(count(.windowWarming), 0)
        XCTAssertLessThanOrEqual(count(.windowWarming), 59 * UInt64(c.book.maxInstruments))
        XCTAssertGreaterThan(count(.evaluations), 0)

        // The fixture's windows, row by row through the engine's own ring, into its ensemble.
        let x = readBytes(dir + "X.f32")!.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        let ref = readBytes(dir + "ref.f32")!.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        var worst: Double = 0
        for w in 0..<10 {
            for t in 0..<60 {
                for i in 0..<16 { core.full[core.indices[i]] = Double(x[(w * 60 + t) * 16 + i]) }
                core.pushWindow(book: 0)
            }
            _ = core.infer(book: 0)
            for k in 0..<3 { worst = max(worst, abs(core.outputs[k] - Double(ref[w * 3 + k]))) }
        }
        XCTAssertLessThanOrEqual(worst, 1e-5)
    }

    /// The online member learns on the engine thread from delayed labels: rows wait for their
    /// horizon, are scored (prequential log loss and accuracy), then learnt; a full label ring
    /// is counted, never grown; nothing allocates per event.
    func testTheOnlineMemberLearnsFromDelayedLabels() throws {
        var events: [Event] = []
        try demoSession(messages: 40_000).forEachEvent { events.append($0) }
        func run(_ online: String) throws -> Engine {
            let c = try config(signal: "evaluate = \"every_event\"", extra: "[online]\n" + online)
            let engine = try Engine(config: c)
            XCTAssertNotNil(engine.core.labels)
            func mallocs(_ range: Range<Int>) -> UInt64 {
                let before = hp_thread_malloc_count()
                for i in range { engine.core.process(events[i]) }
                return hp_thread_malloc_count() - before
            }
            _ = mallocs(0..<2_000)
            let (some, more) = (mallocs(2_000..<4_000), mallocs(4_000..<events.count))
            if isOptimizedBuild { XCTAssertEqual(some, more) }
            return engine
        }
        func count(_ engine: Engine, _ n: EngineCore.Count) -> UInt64 { engine.core.counts[n.rawValue].value }
        // Demo prices move in cents; [features] tick is 0.25 here: a cent is 0.04 ticks.
        let learning = try run("horizon_ms = 200\nweight = 0.5\nlr = 0.05\nthreshold_ticks = 0.04")
        XCTAssertGreaterThan(count(learning, .onlineLearned), 1_000)
        XCTAssertEqual(count(learning, .labelRingFull), 0)
        let (n, loss, accuracy) = learning.core.labels!.summary
        XCTAssertEqual(n, 1000)
        XCTAssertTrue(loss.isFinite && loss > 0, "\(loss)")
        XCTAssertTrue((0.2...0.99).contains(accuracy), "\(accuracy): three classes, learnt, not trivial")
        let full = try run("horizon_ms = 86400000\npending = 2")
        XCTAssertEqual(count(full, .onlineLearned), 0)
        XCTAssertGreaterThan(count(full, .labelRingFull), 0)

        // [drift] on the member's errors: each action, and each detection, counted.
        let online = "horizon_ms = 200\nlr = 0.05\nthreshold_ticks = 0.04\n[drift]\ndetector = \"page-hinkley\"\n"
        let counted = try run(online + "threshold = 2")
        XCTAssertGreaterThan(count(counted, .driftDetected), 0)
        XCTAssertEqual(count(counted, .onlineResets), 0)
        let reset = try run(online + "threshold = 2\naction = \"reset\"")
        XCTAssertEqual(count(reset, .onlineResets), count(reset, .driftDetected))
        XCTAssertGreaterThan(count(reset, .onlineResets), 0)
        let quiet = try run(online + "threshold = 2\naction = \"suppress\"\nperiod_ms = 1000")
        XCTAssertGreaterThan(quiet.core.counts[EngineCore.Count.suppressed(.drift)].value, 0)
        let risky = try run(online + "threshold = 2\naction = \"raise_risk\"\nperiod_ms = 1000")
        XCTAssertGreaterThan(count(risky, .riskRaised), 0)
        XCTAssertEqual(risky.core.counts[EngineCore.Count.suppressed(.drift)].value, 0)
        XCTAssertThrowsError(try config(extra: "[drift]\ndetector = \"adwin\"")) { error in
            XCTAssertEqual((error as! ConfigError).key, "drift.detector")
        }

        var report = RunReport()
        report.metrics = [("online.window_log_loss", 0.75), ("online.window_accuracy", 0.5)]
        let path = temporaryFile(Array(report.json.utf8), suffix: ".json")
        defer { unlink(path) }
        XCTAssertEqual(try RunReport.load(path: path).metrics.map(\.1), [0.5, 0.75])
    }

    /// Seed 004's ensemble rules: a confidence floor and k members on the signal's side. Each
    /// suppression is counted; every strengthened signal is emitted or counted once.
    func testEnsembleRulesSuppressAndCount() throws {
        var events: [Event] = []
        try demoSession(messages: 30_000).forEachEvent { events.append($0) }
        func counts(_ signal: String) throws -> [String: UInt64] {
            let engine = try Engine(config: try config(signal: "evaluate = \"every_event\"\n" + signal))
            for e in events { engine.core.process(e) }
            let names = EngineCore.Count.names
            return Dictionary(uniqueKeysWithValues: names.indices.map { (names[$0], engine.core.counts[$0].value) })
        }
        let plain = try counts("")
        let rules = try counts("min_confidence = 0.65\nmin_agreement = 2")
        XCTAssertEqual(plain["suppressed_low_confidence"], 0)
        XCTAssertGreaterThan(rules["suppressed_low_confidence"]!, 0)
        XCTAssertGreaterThan(rules["suppressed_disagreement"]!, 0)
        XCTAssertLessThan(rules["emitted"]!, plain["emitted"]!)
        for c in [plain, rules] {
            let strong = c["strength_medium"]! + c["strength_strong"]!
            let suppressed = c.filter { $0.key.hasPrefix("suppressed_") }.values.reduce(0, +)
            XCTAssertEqual(strong, c["emitted"]! + c["signal_ring_full"]! + suppressed)
        }
        XCTAssertThrowsError(try config(signal: "min_agreement = 3").loadEnsemble()) { error in
            XCTAssertEqual((error as! ConfigError).key, "signal.min_agreement")
        }
    }

    /// The regime session (`ITCHGenerator.regimeSession`, 600,000 messages) as events.
    func regimeSession() throws -> (ITCHGenerator, [Event]) {
        let generator = ITCHGenerator.regimeSession
        let path = temporaryFile(generator.generate(messages: 600_000), suffix: ".itch")
        defer { unlink(path) }
        var events: [Event] = []
        try FeedFile.open(path).forEachEvent { events.append($0) }
        return (generator, events)
    }

    /// The demo's two models under the regime session's HMM, each regime setting something;
    /// `extra` TOML after it.
    func regimeConfig(_ extra: String = "") throws -> EngineConfig {
        try config(
            extra: extra + "\n"
                + """
                [regimes]
                hmm = "\(TestPaths.fixtures)/adaptive/regime-session-hmm.json"
                inputs = ["range", "log_volume"]
                states = ["calm", "normal", "volatile"]
                [regimes.calm]
                weights = [1, 0]
                [regimes.normal]
                weights = [1, 1]
                max_position = 2
                [regimes.volatile]
                weights = [0, 1]
                min_confidence = 0.99
                """)
    }

    /// Rule 1 with `[regimes]` and `[drift] features` on: bars, the filter, the regime's
    /// weights and risk, and the feature detectors add no allocation and no reference counting
    /// per event.
    func testRegimesAllocateAndRetainNothingPerEvent() throws {
        try requireOptimizedBuild()
        let (_, events) = try regimeSession()
        let engine = try Engine(config: try regimeConfig("[drift]\nfeatures = [\"realized_vol_60s\", \"spread_bps\"]"))
        assertEngineAllocatesNothing(engine.core, events, warmUp: 100_000)
        XCTAssertGreaterThan(engine.core.counts[EngineCore.Count.regimeSwitches.rawValue].value, 10)
        XCTAssertGreaterThan(engine.core.counts[EngineCore.Count.driftDetected.rawValue].value, 0)
    }

    /// `[drift] features`: ADWIN per instrument on chosen features of the model row. On the
    /// regime session realised volatility moves with the regime, and its drifts are counted
    /// per feature, and act (here: suppress signals for a period). A feature not in the row is
    /// named.
    func testDriftOnChosenFeaturesIsCountedAndActs() throws {
        let (_, events) = try regimeSession()
        func run(_ drift: String) throws -> Engine {
            let engine = try Engine(config: try config(signal: "evaluate = \"top_change\"", extra: "[drift]\n" + drift))
            events.withUnsafeBufferPointer { e in for i in 0..<200_000 { engine.core.process(e[i]) } }
            return engine
        }
        let counted = try run("features = [\"realized_vol_60s\", \"return_5s\"]")
        let detected = counted.core.counts[EngineCore.Count.driftDetected.rawValue].value
        let perFeature = try XCTUnwrap(counted.core.featureDrift).detections
        XCTAssertGreaterThan(perFeature[0].value, 0)
        XCTAssertEqual(perFeature[0].value + perFeature[1].value, detected)
        XCTAssertEqual(counted.core.counts[EngineCore.Count.suppressed(.drift)].value, 0)
        let quiet = try run("features = [\"realized_vol_60s\"]\naction = \"suppress\"\nperiod_ms = 2000")
        XCTAssertGreaterThan(quiet.core.counts[EngineCore.Count.suppressed(.drift)].value, 0)
        XCTAssertThrowsError(try config(extra: "[drift]\nfeatures = [\"bar_close\"]")) { error in
            XCTAssertEqual((error as! ConfigError).key, "drift.features[0]")
        }
    }

    /// `[regimes]` on a session whose regimes the generator controls (`gen itch --regimes`,
    /// another seed than the HMM was fitted on, tools/adaptive/make_regime_session.py): the
    /// engine's regime agrees with the generator's on ≥ 90 % of bars, and each regime's weights,
    /// confidence floor and position limit are the ones in force when it holds.
    func testRegimesFollowTheGeneratorAndSwitchWeightsAndRisk() throws {
        let (generator, events) = try regimeSession()
        let schedule = generator.regimeSchedule(until: events.last!.tsEvent)
        func truth(_ t: UInt64) -> Int { schedule.last { $0.startNs <= t }!.regime }
        let engine = try Engine(config: try regimeConfig())
        let core = engine.core, regimes = try XCTUnwrap(core.regimes)
        let ensemble = try XCTUnwrap(engine.ensemble)
        func count(_ c: EngineCore.Count) -> UInt64 { core.counts[c.rawValue].value }
        func suppressed(_ r: RiskGates.Reason) -> UInt64 { core.counts[EngineCore.Count.suppressed(r)].value }
        var (bars, agree) = (0, 0)
        var lowConfidence = [UInt64](repeating: 0, count: 3), positionLimit = lowConfidence
        var weighed = [Int](repeating: 0, count: 3)
        for e in events {
            let b = core.book.instruments.lookup(e.instrumentId)
            let before = b.map { regimes.bars(book: $0) } ?? 0
            let regime = b.map { regimes.regime(book: $0) } ?? -1
            let (evaluations, low, position) = (
                count(.evaluations), suppressed(.lowConfidence), suppressed(.positionLimit)
            )
            core.process(e)
            guard let b else { continue }
            if regimes.bars(book: b) > before {
                bars += 1
                if regimes.regime(book: b) == truth(regimes.lastBarStart(book: b)) { agree += 1 }
            }
            guard regime >= 0, count(.evaluations) > evaluations else { continue }
            lowConfidence[regime] += suppressed(.lowConfidence) - low
            positionLimit[regime] += suppressed(.positionLimit) - position
            // Calm takes the first member alone, volatile the second, normal their mean.
            let m = ensemble.memberOutputs, n = ensemble.outputs
            for k in 0..<n {
                let expected = [m[k], (m[k] + m[n + k]) / 2, m[n + k]][regime]
                if expected.isNaN {
                    XCTAssert(core.outputs[k].isNaN)
                } else {
                    XCTAssertEqual(core.outputs[k], expected, accuracy: 1e-12)
                }
            }
            weighed[regime] += 1
        }
        XCTAssertGreaterThan(bars, 500)
        XCTAssertGreaterThanOrEqual(Double(agree) / Double(bars), 0.9, "\(agree) of \(bars) bars agree")
        XCTAssertEqual(Int(count(.regimeBars)), bars)
        XCTAssertGreaterThan(count(.regimeSwitches), 10)
        XCTAssert(weighed.allSatisfy { $0 > 100 }, "evaluations per regime: \(weighed)")
        XCTAssertEqual(lowConfidence[0] + lowConfidence[1], 0)
        XCTAssertGreaterThan(lowConfidence[2], 0)
        XCTAssertEqual(positionLimit[0] + positionLimit[2], 0)
        XCTAssertGreaterThan(positionLimit[1], 0)
    }

    /// Conflation: evaluations due inside a batch are made once per instrument at its end, on
    /// the book as it then stands — never lost, never repeated.
    func testConflationEvaluatesEachDeferredInstrumentOnceAtTheBatchEnd() throws {
        var events: [Event] = []
        try demoSession(messages: 30_000).forEachEvent { events.append($0) }
        func evaluations(conflate: Bool, batch: Int) throws -> (evaluations: UInt64, deferred: UInt64) {
            var c = try config()
            c.conflate = conflate
            let engine = try Engine(config: c)
            var i = 0
            while i < events.count {
                let n = min(batch, events.count - i)
                for k in 0..<n { engine.core.process(events[i + k], last: k == n - 1) }
                engine.core.flushDeferred()
                i += n
            }
            func count(_ c: EngineCore.Count) -> UInt64 { engine.core.counts[c.rawValue].value }
            return (count(.evaluations), count(.deferred))
        }
        let plain = try evaluations(conflate: false, batch: 64)
        let single = try evaluations(conflate: true, batch: 1)
        let batched = try evaluations(conflate: true, batch: 64)
        XCTAssertEqual(single.evaluations, plain.evaluations, "batches of one defer nothing")
        XCTAssertEqual(single.deferred, 0)
        XCTAssertGreaterThan(batched.deferred, 0)
        XCTAssertLessThan(batched.evaluations, plain.evaluations)
        // At most one evaluation per instrument per batch, and at least one per batch that
        // changed a top of book.
        XCTAssertLessThanOrEqual(batched.evaluations, UInt64((events.count + 63) / 64 * 4))
    }

    /// `[output] snapshots`: one JSON line per interval and a final one, each with the stages
    /// that saw samples and every counter.
    func testSnapshotsAreJSONLinesEndingWithTheFinalOne() throws {
        var c = try config()
        let path = "/tmp/hotpath-test-snapshots.jsonl"
        defer { unlink(path) }
        c.snapshotsPath = path
        c.snapshotNs = 50_000_000
        let (report, _) = try run(c, try demoSession(messages: 60_000), pace: .rate(eventsPerSecond: 300_000))
        let lines = try XCTUnwrap(readText(path)).split(separator: "\n")
        XCTAssertGreaterThan(lines.count, 2, "a 0.2 s run with 50 ms intervals")
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            XCTAssertNotNil(object?["stages"] as? [String: Any])
            XCTAssertNotNil(object?["counters"] as? [String: Any])
        }
        let last = try JSONSerialization.jsonObject(with: Data(lines.last!.utf8)) as! [String: Any]
        XCTAssertEqual(last["final"] as? Bool, true)
        let counters = last["counters"] as! [String: Any]
        XCTAssertEqual((counters["engine.events"] as? NSNumber)?.uint64Value, report.counter("engine.events"))
    }

    /// Every report carries each thread's host hiccups beside the stages; a paced feed and an
    /// idle engine spin, so a 0.2 s run measures them (the output thread's wake-ups always do).
    func testReportCarriesHostHiccupsPerThread() throws {
        let (report, _) = try run(
            try config(), try demoSession(messages: 40_000), pace: .rate(eventsPerSecond: 200_000))
        for thread in HiccupThread.allCases {
            XCTAssertNotNil(report.stage(thread.reportName), "\(thread.reportName) missing")
        }
        XCTAssertGreaterThan(
            report.stage("host_hiccup.output")?.count ?? 0, 0, "the output thread woke at least once late by 1 µs")
        let back = try RunReport.load(path: temporaryFile(Array(report.json.utf8), suffix: ".json"))
        let (was, now) = (
            try XCTUnwrap(report.stage("host_hiccup.engine")), try XCTUnwrap(back.stage("host_hiccup.engine"))
        )
        XCTAssertEqual([now.count, now.p50, now.p99, now.max], [was.count, was.p50, was.p99, was.max])
    }

    /// The binary signal record is the documented fixed 64 bytes, fields at fixed offsets.
    /// `[output] wide`: each signal is written with its members' own probabilities (which
    /// the ensemble's weights combine into its edge) and the regime; 216-byte binary records.
    /// An ITCH trading action (H) halts an instrument: its signals are suppressed, counted as
    /// `suppressed_halted`, until the resume (H with state T); every other signal is the one a
    /// run without the halt makes.
    func testAHaltSuppressesSignalsUntilTheResume() throws {
        var g = ITCHGenerator.demoSession
        g.seed = 0xD3E1
        let bytes = g.generate(messages: 120_000)
        var starts: [Int] = []
        var at = 0
        while at + 2 <= bytes.count {
            starts.append(at)
            at += 2 + Int(bytes[at]) << 8 + Int(bytes[at + 1])
        }
        // A message's 6-byte timestamp sits at its offset 5, after the 2-byte length.
        func ts(_ i: Int) -> UInt64 { (0..<6).reduce(UInt64(0)) { $0 << 8 | UInt64(bytes[starts[i] + 7 + $1]) } }
        let c = try config()
        let plain = temporaryFile(bytes, suffix: ".itch")
        defer { unlink(plain) }
        let a = temporaryFile([], suffix: ".bin")
        defer { unlink(a) }
        _ = try run(c, try FeedFile.open(plain), signalsTo: a)
        let before = Self.signals(try XCTUnwrap(readBytes(a)))
        let instrument = try XCTUnwrap(before.dropFirst(before.count / 3).first).instrumentId
        // Halt where a third of the session is done and resume at two thirds, each before a
        // message stamped later than the one before it.
        func boundary(_ from: Int) -> Int { (from..<starts.count).first { ts($0) > ts($0 - 1) }! }
        let haltAt = boundary(starts.count / 3), resumeAt = boundary(starts.count * 2 / 3)
        func trading(_ state: Character, _ i: Int) -> [UInt8] {
            var m = [UInt8](repeating: 0, count: 25)
            m[0] = UInt8(ascii: "H")
            m[1] = UInt8(instrument >> 8)
            m[2] = UInt8(instrument & 0xFF)
            for k in 0..<6 { m[5 + k] = UInt8(truncatingIfNeeded: ts(i) >> (8 * (5 - k))) }
            m[19] = state.asciiValue!
            return [0, 25] + m
        }
        let halted =
            Array(bytes[..<starts[haltAt]]) + trading("H", haltAt) + Array(bytes[starts[haltAt]..<starts[resumeAt]])
            + trading("T", resumeAt) + Array(bytes[starts[resumeAt]...])
        let path = temporaryFile(halted, suffix: ".itch")
        defer { unlink(path) }
        let b = temporaryFile([], suffix: ".bin")
        defer { unlink(b) }
        let (report, _) = try run(c, try FeedFile.open(path), signalsTo: b)
        let after = Self.signals(try XCTUnwrap(readBytes(b)))
        let window = ts(haltAt)..<ts(resumeAt)
        let inWindow = { (s: Signal) in s.instrumentId == instrument && window.contains(s.tsEvent) }
        let suppressed = before.filter(inWindow).count
        XCTAssertGreaterThan(suppressed, 0, "the halted instrument signals while it is halted in the plain run")
        XCTAssertEqual(report.counter("engine.suppressed_halted"), UInt64(suppressed))
        XCTAssertEqual(report.counter("engine.halts"), 1)
        XCTAssertEqual(report.counter("engine.resumes"), 1)
        func key(_ s: Signal) -> [Double] { [Double(s.instrumentId), Double(s.tsEvent), s.edge, Double(s.side)] }
        XCTAssertEqual(after.map(key), before.filter { !inWindow($0) }.map(key))
        XCTAssertTrue(after.contains { $0.instrumentId == instrument && $0.tsEvent >= window.upperBound }, "it resumes")
    }

    static func signals(_ bytes: [UInt8]) -> [Signal] {
        bytes.withUnsafeBytes { raw in
            (0..<raw.count / 64).map { raw.loadUnaligned(fromByteOffset: $0 * 64, as: Signal.self) }
        }
    }

    func testWideSignalsCarryEachMembersOutputs() throws {
        XCTAssertEqual(MemoryLayout<MemberRecord>.size, MemberRecord.size)
        XCTAssertEqual(MemoryLayout<MemberRecord>.offset(of: \MemberRecord.model), 144)
        XCTAssertEqual(MemoryLayout<MemberRecord>.offset(of: \MemberRecord.regime), 8)
        XCTAssertEqual(MemoryLayout<MemberRecord>.offset(of: \MemberRecord.members), 12)
        XCTAssertEqual(MemoryLayout<MemberRecord>.offset(of: \MemberRecord.buy), 16)
        XCTAssertEqual(MemoryLayout<MemberRecord>.offset(of: \MemberRecord.sell), 80)
        let c = try config(output: "signals = \"\"\nwide = true")
        let engine = try Engine(config: c)
        let path = temporaryFile([], suffix: ".bin")
        defer { unlink(path) }
        let sink = try SignalSink(path: path, format: .binary, members: 2, existing: .overwrite)
        let (report, _) = try engine.run(
            feeds: [FileReplay(file: try demoSession(messages: 60_000), clock: engine.clock)], sink: sink)
        sink.close()
        let bytes = try XCTUnwrap(FileManager.default.contents(atPath: path))
        XCTAssertEqual(bytes.count % 216, 0)
        XCTAssertGreaterThan(bytes.count / 216, 10)
        XCTAssertEqual(Int(report.counter("output.signals_written") ?? 0), bytes.count / 216)
        XCTAssertEqual(report.counter("output.wide_missing"), 0)
        bytes.withUnsafeBytes { raw in
            for i in 0..<bytes.count / 216 {
                let s = raw.loadUnaligned(fromByteOffset: i * 216, as: Signal.self)
                let m = raw.loadUnaligned(fromByteOffset: i * 216 + 64, as: MemberRecord.self)
                XCTAssertEqual(m.sequence, s.sequence)
                XCTAssertEqual(m.members, 2)
                XCTAssertEqual(m.regime, -1)
                XCTAssertEqual(s.edge, 0.7 * (m.buy[0] - m.sell[0]) + 0.3 * (m.buy[1] - m.sell[1]), accuracy: 1e-12)
                XCTAssertTrue(m.buy[2].isNaN)
                XCTAssertEqual(m.model, EnsembleIdentity.of(engine.models))
            }
        }
        XCTAssertEqual(MemberRecord.csvHeader(members: 2), "regime,m0_buy,m0_sell,m1_buy,m1_sell")
        XCTAssertEqual(MemberRecord.csv(nil, members: 2), ",,,,")
    }

    func testSignalRecordIs64Bytes() {
        XCTAssertEqual(MemoryLayout<Signal>.size, 64)
        XCTAssertEqual(MemoryLayout<Signal>.stride, 64)
        XCTAssertEqual(MemoryLayout<Signal>.offset(of: \.edge), 24)
        XCTAssertEqual(MemoryLayout<Signal>.offset(of: \.instrumentId), 56)
        XCTAssertEqual(MemoryLayout<Signal>.offset(of: \.risk), 63)
    }
}
