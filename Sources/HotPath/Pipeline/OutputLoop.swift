import CSupport
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The output thread's work (a cold path): drain signals into the sink, and once per snapshot
/// interval collect every stage's histogram, check the budgets on that interval, poll the
/// kill switch and stop signals, and print progress.
///
/// It drains whatever is queued, then sleeps 10 ms: on a two-core host it shares the feed
/// thread's CPU, and every wake-up delays the feed (BENCHMARKS.md, "Design measurements").
/// Signals wait in the ring for up to the sleep; their latency is measured at the push.
struct OutputLoop {
    let engine: Engine
    /// Where the feeds are, when a progress line is wanted.
    let positions: Engine.Positions?
    var progress: ProgressLine
    var cumulative = [HistogramSnapshot](repeating: HistogramSnapshot(), count: Stage.allCases.count)
    /// Per `HiccupThread`: the host's hiccups so far.
    var hiccups = [HistogramSnapshot](repeating: HistogramSnapshot(), count: HiccupThread.allCases.count)
    var breaches: [UInt64]
    var written = 0
    /// `[output] wide`: a member record popped ahead of its signal, and signals written
    /// without theirs (their record was dropped by a full ring).
    var pendingWide: MemberRecord? = nil
    var wideMissing = 0
    let started = Clock.monotonicNs()
    /// `keepIntervals`: one record per snapshot, for the report.
    var intervals: [RunReport.Interval] = []
    /// This thread's own hiccups since the last snapshot.
    var outputHiccups = HistogramSnapshot()
    /// Which ensemble made each signal (hot reload).
    var attribution: SignalAttribution

    init(engine: Engine, positions: Engine.Positions?) {
        self.engine = engine
        self.positions = positions
        progress = ProgressLine(enabled: positions != nil)
        breaches = [UInt64](repeating: 0, count: engine.config.budgets.count)
        attribution = SignalAttribution(engine.core.swap)
    }

    /// Writes signal `s` with its wide record and the identity of its ensemble.
    mutating func write(_ s: Signal, to sink: SignalSink?) {
        let model = attribution.identity(of: s.sequence)
        sink?.write(s, wide: engine.members != nil ? wideRecord(for: s) : nil, model: model)
        engine.natsOutput?.publish(s)
    }

    mutating func run(sink: SignalSink?, feedDone: () -> Bool, engineDone: () -> Bool) {
        let consumer = engine.signals.consumer
        let interval = engine.config.snapshotNs
        var nextSnapshot = started + interval
        var nextKillCheck = started
        var fileKilled = false, wasKilled = false
        let watch = engine.config.killSwitch.map { DirectoryWatch(files: [$0]) }
        defer { watch?.close() }
        let threshold = engine.config.hiccupThresholdNs
        _ = hp_set_timer_slack_ns(1)  // a wake-up's lateness is then the host's, not the timer's
        while true {
            // Signals are written from the ring's slots (no copy): this thread shares the
            // feed's CPU, and its bursts delay the feed.
            let n = consumer.consume(limit: 4096) { run in
                for s in run { write(s, to: sink) }
            }
            written += n
            engine.natsOutput?.service()
            if n == 0 {
                if engineDone() && consumer.count == 0 { break }
                sink?.flushIfPending()
                let asleep = Clock.monotonicNs()
                if let watch, watch.watching { watch.wait(ms: 10) } else { usleep(10_000) }  // see OutputLoop's comment
                let late = Clock.monotonicNs() &- asleep &- 10_000_000
                if late > threshold && late < 1 << 62 { outputHiccups.record(late) }
            }
            let now = Clock.monotonicNs()
            if hp_stop_signal() != 0 { engine.flags.stop.pointee.store(true, ordering: .relaxed) }
            // The kill switch: the file (at once on a change in its directory, else every
            // 100 ms) or the fleet's `kill` over NATS (which also sets it where it arrives).
            // Stored only when it changes, so a fleet kill is never overwritten by a stale
            // reading.
            if let path = engine.config.killSwitch, watch?.drain() == true || now >= nextKillCheck {
                fileKilled = SystemFile.exists(path)
                nextKillCheck = now + 100_000_000
            }
            let killed = fileKilled || (engine.natsOutput?.fleetKilled ?? false)
            if killed != wasKilled {
                engine.core.gates.killSwitch.pointee.store(killed, ordering: .relaxed)
                wasKilled = killed
            }
            if now >= nextSnapshot {
                snapshot(final: false, feedDone: feedDone())
                nextSnapshot = now + interval
                if let positions {
                    let core = engine.core
                    progress.update(
                        fraction: positions.fraction,
                        tail: OutputLoop.progressTail(
                            seconds: Double(now - started) / 1e9,
                            events: core.counts[EngineCore.Count.events.rawValue].value,
                            signals: core.counts[EngineCore.Count.emitted.rawValue].value))
                }
            }
        }
    }

    /// After the feed and engine threads have been joined.
    mutating func finish(sink: SignalSink?) {
        let consumer = engine.signals.consumer
        while let s = consumer.pop() {
            write(s, to: sink)
            written += 1
        }
        sink?.flush()
        engine.natsOutput?.complete()
        snapshot(final: true, feedDone: true)
        _ = engine.natsOutput?.link.flush()
        progress.finish()
    }

    /// Signal `s`'s member record: records before it belong to signals the full signal ring
    /// dropped, and are passed; nil (counted) when its own was dropped.
    mutating func wideRecord(for s: Signal) -> MemberRecord? {
        let ring = engine.members!.consumer
        while true {
            if pendingWide == nil { pendingWide = ring.pop() }
            guard let r = pendingWide, r.sequence <= s.sequence else { break }
            pendingWide = nil
            if r.sequence == s.sequence { return r }
        }
        wideMissing += 1
        return nil
    }

    /// Moves each stage's counts since the last snapshot into `cumulative`, and checks every
    /// budget against this interval alone. With `[output] snapshots` or `keepIntervals`, the
    /// interval's percentiles, hiccups and RSS are written or kept as well.
    mutating func snapshot(final: Bool, feedDone: Bool) {
        var anyBreach = false
        let record = engine.snapshotFD != nil || (engine.config.keepIntervals && !final)
        var stages: [(String, LatencySummary)] = []
        for stage in Stage.allCases {
            let recorder = engine.histograms[stage.rawValue]
            var interval = HistogramSnapshot()
            if final {
                recorder.collectAfterOwnerStopped(into: &interval)
            } else if stage.isFeedThread && feedDone {
                continue  // the feed thread no longer polls; its counts are taken at the end
            } else {
                recorder.collect(into: &interval, timeoutNs: 20_000_000)
            }
            guard interval.totalCount > 0 else { continue }
            if record { stages.append((stage.name, interval.summary)) }
            for (i, b) in engine.config.budgets.enumerated() where b.stage == stage {
                let value = b.percentile == .max ? interval.maxValue : interval.value(atPercentile: b.percentile.value)
                if value > b.limitNs { breaches[i] += 1; anyBreach = true }
            }
            cumulative[stage.rawValue].add(interval)
        }
        for (thread, meter) in [
            (HiccupThread.feed, engine.feedHiccups), (.engine, engine.engineHiccups), (.output, nil),
        ] {
            var interval = HistogramSnapshot()
            if let meter {
                if final {
                    meter.recorder.collectAfterOwnerStopped(into: &interval)
                } else if thread != .feed || !feedDone {
                    meter.recorder.collect(into: &interval, timeoutNs: 20_000_000)
                }
            } else {
                swap(&interval, &outputHiccups)
            }
            hiccups[thread.rawValue].add(interval)
            if record && interval.totalCount > 0 { stages.append((thread.reportName, interval.summary)) }
        }
        engine.core.gates.breaching.pointee.store(anyBreach, ordering: .relaxed)
        if let metrics = engine.metrics, !final { metrics.publish(PrometheusText.render(engine.liveReport(self))) }
        if let nats = engine.natsOutput {
            nats.heartbeat(
                "{\"shard\":\(JSONText.quote(nats.shard)),\"t_ns\":\(Clock.monotonicNs() - started),"
                    + "\"final\":\(final),\"report\":\(engine.liveReport(self).json)}")
        }
        guard record else { return }
        let t = Double(Clock.monotonicNs() - started) / 1e9
        let rss = SystemFile.residentBytes() ?? 0
        if engine.config.keepIntervals && !final {
            intervals.append(
                RunReport.Interval(
                    seconds: t, rssBytes: rss, events: engine.core.counts[EngineCore.Count.events.rawValue].value,
                    dropped: UInt64(engine.events.stats.dropped + engine.signals.stats.dropped), stages: stages))
        }
        if let fd = engine.snapshotFD {
            let line =
                JSONText.object([
                    ("t_ns", "\(Clock.monotonicNs() - started)"), ("final", final ? "true" : "false"),
                    ("rss_bytes", "\(rss)"),
                    (
                        "stages",
                        JSONText.object(
                            stages.map { ($0.0, JSONText.object($0.1.jsonFields([.p50, .p99, .p999, .max]))) })
                    ),
                    ("counters", engine.counters.json()),
                ]) + "\n"
            SystemFile.writeAll(fd, line)
        }
    }

    /// `12000000 events (1.00 M/s), 812 signals`, rates under 1 M/s in k/s.
    static func progressTail(seconds: Double, events: UInt64, signals: UInt64) -> String {
        let rate = Double(events) / max(seconds, 1e-9)
        return
            (rate >= 1e6
            ? format("%llu events (%.2f M/s), ", events, rate / 1e6)
            : format("%llu events (%.1f k/s), ", events, rate / 1e3))
            + format("%llu signals", signals)
    }
}
