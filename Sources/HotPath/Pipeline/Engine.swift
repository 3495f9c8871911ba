import CSupport
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The whole pipeline on three threads, each pinned as configured:
///
/// ```
/// feed thread    FileReplay: take record → decode → stamp ──► event ring
///                (LiveFeedRun: poll socket → MoldUDP64 session → decode → stamp ──► event ring)
///                (DatabentoFeedRun: recv → DBN records → decode → stamp ──► event ring)
/// engine thread  EngineCore.process: book → features → models → signal → gates ──► signal ring
///                (and, with `[output] url`, each signal straight out by UDP: SignalEgress)
/// output thread  (the caller) signals → sink; every snapshot interval: collect the
///                histograms, check budgets (sets the breaching flag the gates read), poll the
///                kill-switch file and SIGINT/SIGTERM, print progress
/// ```
///
/// Each thread also measures what the host takes from it (`HiccupThread`): the feed and
/// engine threads while they spin idle, the output thread by how late it wakes. The report
/// shows these beside the stages, so a tail reads as the host's or the engine's.
///
/// Everything the feed and engine threads touch is sized from the configuration and carved
/// from one arena (bound to the engine core's NUMA node, pre-faulted, locked) before they
/// start. Stopping: at the end of the input, or on SIGINT/SIGTERM (after
/// `hp_install_stop_handlers`), the feed thread stops taking records; the engine thread
/// drains every event already in its ring; the output thread drains every signal, flushes
/// the sink and builds the report. Nothing in flight is lost.
///
/// An `Engine` runs once.
public final class Engine: @unchecked Sendable {
    public let config: EngineConfig
    public let clock: Clock
    public let counters = CounterRegistry()
    public let arena: Arena
    public let ensemble: Ensemble?
    let events: SPSCRing<Event>
    let signals: SPSCRing<Signal>
    /// `[output] wide`: each emitted signal's `MemberRecord`, pushed just before the signal.
    let members: SPSCRing<MemberRecord>?
    let histograms: UnsafeMutablePointer<HistogramRecorder>
    public let core: EngineCore
    /// Stop requested, feed done, engine done: the threads' hand-offs.
    let flags: Flags
    /// The engine thread's pop buffer (`batchCapacity` events).
    let batch: Batch
    /// Events per pop: with conflation, larger batches let a behind engine catch up faster
    /// (BENCHMARKS.md, "End to end").
    static let batchCapacity = 256
    /// Host hiccups on the feed thread (paced replays) and on the engine thread.
    let feedHiccups: HiccupMeter
    let engineHiccups: HiccupMeter

    struct Batch: @unchecked Sendable { let events: UnsafeMutableBufferPointer<Event> }

    /// Three flags on one cache line of their own, in arena memory.
    struct Flags: @unchecked Sendable {
        let p: UnsafeMutablePointer<Atomic<Bool>>
        static let count = 3
        /// Set by a stop request (a signal, a test); the feed thread stops at its next event.
        var stop: UnsafePointer<Atomic<Bool>> { UnsafePointer(p) }
        /// Set by the feed thread when every feed has ended.
        var feedDone: UnsafePointer<Atomic<Bool>> { UnsafePointer(p + 1) }
        /// Set by the engine thread when it has drained the ring after the feed ended.
        var engineDone: UnsafePointer<Atomic<Bool>> { UnsafePointer(p + 2) }
    }

    /// Each feed's position in its input (bytes taken, loops included; `FileReplay.run`),
    /// and the sum of their sizes: how far a run has got, for the progress line.
    struct Positions: @unchecked Sendable {
        let p: UnsafeMutablePointer<Atomic<UInt64>>
        let count: Int
        let totalBytes: UInt64

        init(_ replays: [FileReplay]) {
            count = replays.count
            totalBytes = replays.reduce(0) {
                $0 + UInt64($1.file.byteCount + $1.mergedWith.reduce(0) { $0 + $1.byteCount })
                    * UInt64(max($1.loops, 0))
            }
            p = .allocate(capacity: max(count, 1))
            for i in 0..<count { (p + i).initialize(to: Atomic(0)) }
        }

        func deallocate() { p.deallocate() }

        /// The share of all the feeds' bytes taken so far; nil when there is nothing to take.
        var fraction: Double? {
            guard totalBytes > 0 else { return nil }
            let taken = (0..<count).reduce(UInt64(0)) { $0 + p[$1].load(ordering: .relaxed) }
            return min(1, Double(taken) / Double(totalBytes))
        }
    }

    public init(config: EngineConfig, clock: Clock = .calibrated()) throws(EngineError) {
        self.config = config
        self.clock = clock
        do { ensemble = try config.loadEnsemble() } catch { throw .config(error) }
        let models = config.models.compactMap { ModelIdentity(path: $0.path, name: $0.name) }
        startModels = models
        if config.wideSignals, let n = ensemble?.memberCount, n > MemberRecord.maxMembers {
            throw .config(
                ConfigError(
                    file: config.file, key: "output.wide",
                    reason: "\(n) models; a wide record carries \(MemberRecord.maxMembers)"))
        }
        let b = config.book
        // Double-buffered histograms: one per stage, one per hiccup meter.
        let histogramBytes = (Stage.allCases.count + HiccupThread.allCases.count) * 2 * HistogramLayout.countsLength * 8
        // Books, views and feature windows (five time windows of 40-byte entries and one 16-byte
        // series per instrument, `history_capacity` entries each).
        let pathBytes = EventPath.arenaBytes(book: b, features: config.features)
        let wideBytes = config.wideSignals ? 2 * config.signalRing * MemoryLayout<MemberRecord>.stride : 0
        let bytes =
            8 << 20 + histogramBytes + pathBytes + (config.eventRing + config.signalRing) * 64
            + wideBytes
        let physical = Int(sysconf(Int32(_SC_PHYS_PAGES))) * Int(sysconf(Int32(_SC_PAGESIZE)))
        if physical > 0 && bytes > physical * 3 / 4 {
            throw .config(
                ConfigError(
                    file: config.file, key: "engine.max_instruments",
                    reason: "\(b.maxInstruments) instruments and \(b.maxOrders) orders need \(bytes >> 20) MiB "
                        + "(books, rings, feature windows of features.history_capacity entries); this host has \(physical >> 20) MiB"
                ))
        }
        do {
            arena = try Arena(bytes: bytes, cpu: config.engineCore, lock: true)
            events = try SPSCRing(capacity: config.eventRing, policy: config.eventRingPolicy, arena: arena)
            signals = try SPSCRing(capacity: config.signalRing, policy: config.signalRingPolicy, arena: arena)
            // Twice the signals': records whose signal the full signal ring dropped wait here
            // until the output thread passes them.
            if config.wideSignals {
                let policy = SPSCRing<MemberRecord>.FullPolicy(rawValue: config.signalRingPolicy.rawValue)!
                members = try SPSCRing(capacity: 2 * config.signalRing, policy: policy, arena: arena)
            } else {
                members = nil
            }
            fillsRing =
                config.fillsURL == nil
                ? nil : try SPSCRing<Fill>(capacity: Engine.fillsCapacity, policy: .drop, arena: arena)
            histograms = try arena.allocate(HistogramRecorder.self, count: Stage.allCases.count)
            for s in 0..<Stage.allCases.count { (histograms + s).initialize(to: try HistogramRecorder(arena: arena)) }
            let p = try arena.allocate(Atomic<Bool>.self, count: Flags.count, alignment: 128)
            for i in 0..<Flags.count { (p + i).initialize(to: Atomic(false)) }
            flags = Flags(p: p)
            let n = Engine.batchCapacity
            batch = Batch(events: UnsafeMutableBufferPointer(start: try arena.allocate(Event.self, count: n), count: n))
            feedHiccups = try HiccupMeter(thresholdNs: config.hiccupThresholdNs, clock: clock, arena: arena)
            engineHiccups = try HiccupMeter(thresholdNs: config.hiccupThresholdNs, clock: clock, arena: arena)
        } catch {
            throw .memory(file: config.file, error)
        }
        if case let .udp(url) = config.output {
            let live =
                !config.feeds.isEmpty && config.feeds.allSatisfy { if case .file = $0.source { false } else { true } }
            egress = try SignalEgress(
                url: url, interface: config.outputInterface, live: live, counters: counters, configFile: config.file)
        } else {
            egress = nil
        }
        do {
            core = try EngineCore(
                config: config, ensemble: ensemble, identity: EnsembleIdentity.of(models), arena: arena,
                counters: counters,
                histograms: histograms, signals: signals.producer, members: members?.producer,
                fills: fillsRing?.consumer, clock: clock, egress: egress)
        } catch {
            throw .memory(file: config.file, error)
        }
        if case let .nats(url) = config.output {
            do {
                natsOutput = try NATSOutput(
                    url: url, shard: config.shard?.id ?? "all", killSwitch: core.gates.killSwitch, counters: counters)
            } catch {
                throw .output(key: "output.url", error)
            }
        } else {
            natsOutput = nil
        }
        if let url = config.fillsURL, let ring = fillsRing {
            fillsInput = try FillsInput(url: url, ring: ring, counters: counters)
        } else {
            fillsInput = nil
        }
        if let path = config.snapshotsPath {
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw .output(key: "output.snapshots", SystemError(path, call: "open", errno: errno)) }
            snapshotFD = fd
        } else {
            snapshotFD = nil
        }
        do {
            metrics = try config.metricsListen.map { l throws(SystemError) in
                try MetricsServer(listen: l, cpu: config.outputCore)
            }
        } catch {
            throw .output(key: "metrics.listen", error)
        }
    }

    /// The configured models' names and file hashes at start-up.
    let startModels: [ModelIdentity]
    /// The models in use now (after any reload), for the report and /metrics.
    public var models: [ModelIdentity] { reloader?.models ?? startModels }

    /// `[output] url = "nats://…"`: signals, heartbeats and fleet control over NATS (the
    /// output thread and libnats' own threads; never the feed or engine thread).
    public let natsOutput: NATSOutput?

    /// `[fills]`: the fills receiver and its ring to the engine thread.
    public let fillsInput: FillsInput?
    let fillsRing: SPSCRing<Fill>?
    static let fillsCapacity = 4096

    /// Hot reload (`ModelReloader`): on SIGHUP when `reloadOnSignal` is set before `run` (the
    /// CLI sets it and installs the handler), and on model file changes with `[reload] watch`.
    public var reloadOnSignal = false
    public private(set) var reloader: ModelReloader? = nil

    /// `[metrics] listen`: the Prometheus endpoint, fed by the output thread.
    public let metrics: MetricsServer?

    /// The live feeds of the run, for their counters in the report.
    var liveFeeds: [MoldUDP64Feed] = []
    var gatewayFeeds: [DatabentoFeed] = []
    /// Sends signals as they are made (`[output] url`); `core` holds it unretained.
    public let egress: SignalEgress?

    /// Where interval snapshots go (`[output] snapshots`), opened at start-up.
    let snapshotFD: Int32?

    deinit {
        core.release()
        if let fd = snapshotFD { close(fd) }
    }

    /// What the feed thread reports when it is done.
    public struct FeedOutcome: Sendable {
        public var stats: [FileReplay.Stats] = []
        public var errors: [FeedFailure] { stats.compactMap(\.error) }
        public var stoppedEarly: Bool { stats.contains { $0.stoppedEarly } }
    }

    final class FeedBox: @unchecked Sendable { var outcome = FeedOutcome() }

    /// Runs `feeds` one after another through the pipeline; returns when every event has been
    /// processed and every signal written. `progress` prints a line on stderr every snapshot
    /// interval after the first two seconds.
    public func run(
        feeds: [FileReplay], sink: SignalSink?, progress: Bool = false
    ) throws(PinError) -> (RunReport, FeedOutcome) {
        try run(sources: feeds.map { .file($0) }, sink: sink, progress: progress)
    }

    /// One feed the feed thread drives: a file replay or a live source.
    public enum FeedRun: @unchecked Sendable {
        case file(FileReplay)
        case live(LiveFeedRun)
        case databento(DatabentoFeedRun)
    }

    /// As `run(feeds:)`, with live sources among the feeds (run in order, each to its end).
    public func run(
        sources: [FeedRun], sink: SignalSink?, progress: Bool = false
    ) throws(PinError) -> (RunReport, FeedOutcome) {
        let feedBox = FeedBox()
        if ensemble != nil && (reloadOnSignal || config.reloadWatch) {
            let flags = self.flags
            let r = ModelReloader(
                config: config, swap: core.swap, ensemble: ensemble, models: startModels, counters: counters,
                onSignal: reloadOnSignal, engineDone: { flags.engineDone.pointee.load(ordering: .acquiring) })
            try r.start()
            reloader = r
        }
        defer { reloader?.stop() }
        try fillsInput?.start(cpu: config.outputCore)
        defer { fillsInput?.stop() }
        // A sink appending to a file continues its sequence.
        if let sink { core.sequence.pointee = max(core.sequence.pointee, sink.resumesAfter) }
        let producer = events.producer, consumer = events.consumer
        let recorder = histograms[Stage.decode.rawValue], wire = histograms[Stage.wire.rawValue]
        let flags = self.flags, core = self.core, batchBuffer = self.batch, hiccups = self.engineHiccups,
            clock = self.clock
        let shard = config.shard?.filter
        let replays: [FeedRun] = sources.map {
            switch $0 {
            case var .file(replay):
                replay.decode = recorder
                replay.hiccups = feedHiccups
                replay.shard = shard
                return .file(replay)
            case var .live(live):
                live.decode = recorder
                live.wire = wire
                live.hiccups = feedHiccups
                live.shard = shard
                return .live(live)
            case var .databento(gateway):
                gateway.decode = recorder
                gateway.shard = shard
                return .databento(gateway)
            }
        }
        liveFeeds = replays.compactMap { if case let .live(l) = $0 { l.feed } else { nil } }
        gatewayFeeds = replays.compactMap { if case let .databento(d) = $0 { d.feed } else { nil } }
        let positions = Positions(replays.compactMap { if case let .file(r) = $0 { r } else { nil } })
        defer { positions.deallocate() }
        let engine = try PinnedThread.start(name: "hp-engine", cpu: config.engineCore) {
            let batch = batchBuffer.events
            while true {
                let n = consumer.pop(into: batch)
                if n == 0 {
                    hiccups.spin(at: clock.ticks())
                    core.pollHistograms()
                    core.pollSwap()
                    core.applyFills()
                    hiccups.recorder.poll()
                    if flags.feedDone.pointee.load(ordering: .acquiring) && consumer.count == 0 { break }
                    hp_cpu_relax()
                    continue
                }
                hiccups.busy()
                for i in 0..<n { core.process(batch[i], last: i == n - 1) }
                core.flushDeferred()
                core.pollHistograms()
                core.pollSwap()
                core.applyFills()
            }
            flags.engineDone.pointee.store(true, ordering: .releasing)
        }
        let feed: PinnedThread
        do {
            feed = try PinnedThread.start(name: "hp-feed", cpu: config.feedCore) {
                var files = 0
                for source in replays {
                    let stats: FileReplay.Stats
                    switch source {
                    case let .file(replay):
                        stats = replay.run(
                            into: producer, stop: flags.stop, position: UnsafePointer(positions.p + files))
                        files += 1
                    case let .live(live):
                        stats = live.run(into: producer, stop: flags.stop)
                    case let .databento(gateway):
                        stats = gateway.run(into: producer, stop: flags.stop)
                    }
                    feedBox.outcome.stats.append(stats)
                    if stats.stoppedEarly || stats.error != nil { break }
                }
                flags.feedDone.pointee.store(true, ordering: .releasing)
            }
        } catch {
            flags.feedDone.pointee.store(true, ordering: .releasing)
            engine.join()
            throw error
        }
        if let cpu = config.outputCore { _ = hp_pin_thread(pthread_self(), Int32(cpu)) }
        var output = OutputLoop(engine: self, positions: progress ? positions : nil)
        output.run(
            sink: sink, feedDone: { flags.feedDone.pointee.load(ordering: .acquiring) },
            engineDone: { flags.engineDone.pointee.load(ordering: .acquiring) })
        feed.join()
        engine.join()
        output.finish(sink: sink)
        let outcome = feedBox.outcome
        let final = report(output, outcome)
        metrics?.publish(PrometheusText.render(final))
        return (final, outcome)
    }

    /// What a scrape gets during the run: the stages so far and the counters that other
    /// threads keep atomically. The feed's own statistics and the live sessions' counters are
    /// the feed thread's and join at the end, in the final report.
    func liveReport(_ output: OutputLoop) -> RunReport {
        var r = RunReport()
        r.models = models
        r.stages =
            Stage.allCases.map { ($0.name, LatencySummary(output.cumulative[$0.rawValue])) }
            + HiccupThread.allCases.map { ($0.reportName, LatencySummary(output.hiccups[$0.rawValue])) }
        for v in counters.snapshot() { r.counters.append(("\(v.thread).\(v.name)", v.value)) }
        r.counters += [
            ("feed.ring_full_dropped", UInt64(events.stats.dropped)),
            ("output.signals_written", UInt64(output.written)),
            ("output.signal_ring_dropped", UInt64(signals.stats.dropped)),
            ("output.budget_breaches", output.breaches.reduce(0, +)),
        ]
        return r
    }

    func report(_ output: OutputLoop, _ outcome: FeedOutcome) -> RunReport {
        var r = RunReport()
        r.stages =
            Stage.allCases.map { ($0.name, LatencySummary(output.cumulative[$0.rawValue], ladder: true)) }
            + HiccupThread.allCases.map { ($0.reportName, LatencySummary(output.hiccups[$0.rawValue], ladder: true)) }
        func add(_ name: String, _ v: Int) { r.counters.append((name, UInt64(max(v, 0)))) }
        add("feed.records", outcome.stats.reduce(0) { $0 + $1.records })
        add("feed.events", outcome.stats.reduce(0) { $0 + $1.events })
        add("feed.skipped_records", outcome.stats.reduce(0) { $0 + $1.skipped })
        if config.shard != nil { add("feed.outside_shard", outcome.stats.reduce(0) { $0 + $1.outsideShard }) }
        add("feed.ring_full_dropped", outcome.stats.reduce(0) { $0 + $1.dropped })
        add("feed.errors", outcome.errors.count)
        add("feed.stopped_early", outcome.stoppedEarly ? 1 : 0)
        for v in counters.snapshot() { r.counters.append(("\(v.thread).\(v.name)", v.value)) }
        for (i, feed) in liveFeeds.enumerated() {
            let prefix = liveFeeds.count == 1 ? "moldudp64." : "moldudp64[\(i)]."
            for (name, value) in feed.session.counts.named { add(prefix + name, value) }
            add(prefix + "truncated", feed.truncated)
        }
        for (i, feed) in gatewayFeeds.enumerated() {
            let prefix = gatewayFeeds.count == 1 ? "databento." : "databento[\(i)]."
            for (name, value) in feed.counts.named { add(prefix + name, value) }
        }
        add("output.signals_written", output.written)
        add("output.signal_ring_dropped", signals.stats.dropped)
        if let nats = natsOutput { r.counters += nats.sessionCounters }
        if members != nil { add("output.wide_missing", output.wideMissing) }
        add("output.budget_breaches", Int(output.breaches.reduce(0, +)))
        add("histogram.clamped", Int(output.cumulative.reduce(0) { $0 + $1.clamped }))
        if let labels = core.labels {
            let (n, loss, accuracy) = labels.summary
            r.metrics = [
                ("online.window_labels", Double(n)), ("online.window_log_loss", loss),
                ("online.window_accuracy", accuracy),
            ]
        }
        r.intervals = output.intervals
        r.models = models
        r.budgets = r.verdicts(config.budgets)
        for i in r.budgets.indices { r.budgets[i].breaches = output.breaches[i] }
        return r
    }
}
