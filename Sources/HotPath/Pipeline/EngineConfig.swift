/// Everything the engine sizes and decides at start-up, read from one TOML file and
/// validated before any thread starts: an unknown key, a wrong type, a value out of range, a
/// core this process may not use, a model file that does not load or whose features do not
/// match the schema — each a one-line `ConfigError` naming the key.
///
/// ```toml
/// [engine]   max_instruments, max_orders, depth
/// [threads]  feed_core, engine_core, output_core            (-1 = not pinned),
///            hiccup_threshold_ns (idle-turn gaps counted as host hiccups; 1000)
/// [rings]    events, events_full ("spin"|"drop"), signals, signals_full
/// [feed]     pace ("max"|"recorded"), speed, on_loss ("stale"|"stop": after messages a live
///            feed gave up on, signals are suppressed as sequence gaps, or the run stops)
/// [[feeds]]  url (a file path or a live source's URL, e.g. moldudp64://…), cpu (the feed
///            thread's core; one feed thread drives every feed, so one cpu for all)
/// [features] vector = [...] (the model row: fixed feature names, event columns such as
///            "spread_mean(20)" and indicator columns such as "RSI(14)@1m"; `names` is its old name), bars = [...] (the indicator columns' bar
///            series: "1s", "5m", "vol:1000"), session_open, session_close, session_zone,
///            session_closed (the session clock's calendar), levels, tick, microprice_table,
///            vpin_bucket_volume, vpin_buckets,
///            regression_trades, history_capacity, bar_seconds, clock ("receive": receive time where
///            the feed has one, else exchange time; "exchange": always the exchange's time)
/// [[models]] path (relative to this file), weight, name (reports and /metrics list each model
///            by it and its file's SHA-256; default: the file's name)
/// [calibration] path: the ensemble's probabilities calibrated (tools/models/export_calibration.py)
/// [online]   model ("softmax": down/flat/up, "logreg": up or not), lr, l2, intercept_lr, scale,
///            weight (its ensemble weight), horizon_ms, threshold_ticks, pending, metrics_window:
///            a member that learns on the engine thread from delayed labels (`OnlineLabels`)
/// [drift]    detector ("adwin"|"page-hinkley"), delta, threshold, action ("count"|"reset"|
///            "suppress"|"raise_risk"), period_ms, features: watches the online member's errors
///            (0 right, 1 wrong), and per instrument each of `features` (names of the model row)
///            at every evaluation; for period_ms after a detection, signals are suppressed or
///            marked high risk
/// [regimes]  hmm (hmmlearn's GaussianHMM, tools/adaptive/export_hmm), garch, inputs ("return",
///            "range", "log_volume", "garch_vol": the HMM's features in order; default: the ones
///            the HMM's JSON declares, else the first three), bar_seconds, hold,
///            bars, states (a name per HMM state); then [regimes.NAME] weights (one per model, the
///            online member last), max_position, order_size, min_confidence: each instrument's
///            regime (`RegimeTracker`) picks these; a key left out keeps the base setting
/// [signal]   evaluate ("every_event"|"top_change"), conflate, strong, medium, aggressive_max_spread,
///            low_risk_confidence, low_risk_edge, medium_risk_confidence, medium_risk_edge,
///            buy_output, sell_output, min_confidence (0.65 in seed 004; 0 = off), min_agreement
///            (k of the models on the signal's side; 0 = off)
/// [risk]     max_age_ms, max_position, order_size, max_notional, contract_multiplier,
///            max_signals_per_s, suppress_on_budget_breach, kill_switch
/// [budgets.<stage>] p50, p90, p99, p999, p9999, max   (nanoseconds)
/// [metrics]  listen ("IPv4:PORT": GET /metrics in the Prometheus text format, `MetricsServer`)
/// [output]   url ("udp://ADDR:PORT": each signal's 64-byte record as a datagram, sent by the
///            engine thread as it is made), interface (multicast),
///            signals ("-" = stdout, "" = none, or a path), format ("csv"|"jsonl"|"binary"),
///            report, snapshot_ms, snapshots (JSON lines per interval), progress, wide (each
///            signal written with every member's p_buy and p_sell and the regime: `MemberRecord`),
///            existing ("refuse" | "append": check the file, drop a torn tail, continue its
///            sequence | "overwrite"), for a signals file that already holds records
/// ```
public struct EngineConfig: Sendable {
    public enum Evaluate: String, Sendable { case everyEvent = "every_event", topChange = "top_change" }
    public enum SignalFormat: String, Sendable { case csv, jsonl, binary }
    /// What a sink does with a signals file that already holds records.
    public enum ExistingSignals: String, Sendable, CaseIterable { case refuse, append, overwrite }

    public enum OnLoss: String, Sendable { case stale, stop }

    /// One `[[feeds]]` entry: a file path or a live source's URL.
    public struct FeedEntry: Sendable, Equatable {
        public var source: SourceURL
        public var text: String
    }

    public struct ModelEntry: Sendable {
        public var path: String
        public var weight: Double
        public var name: String? = nil
    }

    public var file = "(defaults)"
    public var book = L3Book.Config()
    public var feedCore: Int? = nil
    public var engineCore: Int? = nil
    public var outputCore: Int? = nil
    /// A gap between two idle turns of a thread longer than this is a host hiccup.
    public var hiccupThresholdNs = HiccupMeter.defaultThresholdNs
    public var eventRing = 1 << 16
    public var eventRingPolicy = SPSCRing<Event>.FullPolicy.spin
    public var signalRing = 1 << 14
    public var signalRingPolicy = SPSCRing<Signal>.FullPolicy.drop
    public var pace = FileReplay.Pace.max
    public var onLoss = OnLoss.stale
    public var feeds: [FeedEntry] = []
    /// `[output] url`: where signals go besides the file sink.
    public enum OutputTarget: Sendable, Equatable {
        /// udp://ADDR:PORT: each signal's 64-byte record as a datagram (`SignalEgress`).
        case udp(String)
        /// nats://HOST:PORT/PREFIX[?jetstream=NAME]: published by the output thread (`NATSOutput`).
        case nats(String)
    }
    public var output: OutputTarget? = nil
    public var outputInterface: String? = nil
    public var featureNames = MicrostructureFeatures.names
    public var features = MicrostructureFeatures.Config()
    public var models: [ModelEntry] = []
    public var calibrationPath: String? = nil
    /// `[online]`: the member that learns as the engine runs.
    public struct Online: Sendable {
        public var learner = OnlineLinear.Config()
        public var weight = 1.0
        public var horizonNs: UInt64 = 1_000_000_000
        public var thresholdTicks = 1.0
        /// Labels waiting per instrument.
        public var pending = 4096
        /// Labels the prequential metrics cover.
        public var metricsWindow = 1000
        public init() {}
    }
    public var online: Online? = nil
    /// `[drift]`: a detector on the online member's errors, and what a detection does.
    public struct Drift: Sendable {
        public enum Action: String, Sendable { case count, reset, suppress, raiseRisk = "raise_risk" }
        public var detector = AnyDriftDetector.adwin(ADWIN())
        public var action = Action.count
        /// How long `suppress` and `raise_risk` act after a detection.
        public var periodNs: UInt64 = 5_000_000_000
        /// Features of the model row watched per instrument (`FeatureDrift`), besides the
        /// online member's errors.
        public var features: [String] = []
        public init() {}
    }
    public var drift: Drift? = nil
    /// `[regimes]`: the HMM that finds each instrument's regime, and what each regime sets.
    public struct Regimes: @unchecked Sendable {
        public var tracker = RegimeTracker.Config()
        public var hmm: GaussianHMMFilter
        public var garch: GARCH11? = nil
        /// A name per HMM state, and per state its settings, filled from the base ones.
        public var names: [String]
        public struct Setting: Sendable, Equatable {
            /// Normalised to sum 1, as the ensemble's are; nil: the ensemble's own.
            public var weights: [Double]?
            public var maxPosition: Int64
            public var orderSize: Int64
            public var minConfidence: Double
        }
        public var settings: [Setting]
    }
    public var regimes: Regimes? = nil
    public var evaluate = Evaluate.everyEvent
    /// Defer evaluations to the end of the engine's batch under load (see `EngineCore`).
    public var conflate = false
    public var policy = SignalPolicy()
    public var limits = RiskGates.Limits()
    public var killSwitch: String? = nil
    public var budgets: [LatencyBudget] = []
    public var signalsPath: String? = nil
    public var signalFormat = SignalFormat.csv
    public var signalsExisting = ExistingSignals.refuse
    public var reportPath: String? = nil
    public var snapshotNs: UInt64 = 1_000_000_000
    /// JSON lines, one per snapshot interval: that interval's percentiles and every counter.
    public var snapshotsPath: String? = nil
    /// Keep every snapshot interval's percentiles, hiccups and RSS in the report (a soak;
    /// `--snapshot-every`).
    public var keepIntervals = false
    /// `[metrics] listen`: "IPv4:PORT" of the Prometheus endpoint.
    public var metricsListen: String? = nil
    public var progress = true
    /// `[output] wide`: each signal written with its members' outputs and regime.
    public var wideSignals = false
    /// `[shard]`: the instruments this process serves (all when nil).
    public var shard: Shard? = nil
    /// `[reload] watch`: reload the models when a model file changes (SIGHUP always does).
    public var reloadWatch = false
    /// `[reload] settle_ms`: how long a changed file must stay unchanged before it is loaded.
    public var reloadSettleNs: UInt64 = 200_000_000
    /// `[fills] url` ("udp://IPv4:PORT"): fills received there set the positions the risk
    /// gates check, in place of "every signal fills" (`FillsInput`).
    public var fillsURL: String? = nil

    public init() {}

    /// Indices into a book's row (`EventPath`: the fixed vector, the indicator columns, the
    /// event columns) of the configured feature names, in order.
    public var featureIndices: [Int] {
        featureNames.map { name in
            let fixed = MicrostructureFeatures.count, indicators = features.indicators.columns
            return MicrostructureFeatures.names.firstIndex(of: name)
                ?? indicators.firstIndex { $0.name == name }.map { fixed + $0 }
                ?? fixed + indicators.count + features.events.columns.firstIndex { $0.name == name }!
        }
    }

    public static func load(path: String) throws(ConfigError) -> EngineConfig {
        var root = try TOMLReader.load(path: path)
        var c = EngineConfig()
        c.file = path
        let folder = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        func resolve(_ p: String) -> String { p.hasPrefix("/") || p.isEmpty || p == "-" ? p : folder + "/" + p }

        if var t = try root.table("engine") {
            c.book.maxInstruments = try t.int("max_instruments", default: c.book.maxInstruments, in: 1...65_536)
            c.book.maxOrders = try t.int("max_orders", default: c.book.maxOrders, in: 1_024...(1 << 28))
            c.book.depth = try t.int("depth", default: c.book.depth, in: 1...64)
            try t.finish()
        }
        if var t = try root.table("threads") {
            func core(_ key: String) throws(ConfigError) -> Int? {
                let cpu = try t.int(key, default: -1, in: -1...4_095)
                if cpu < 0 { return nil }
                do { try PinnedThread.validate(cpu: cpu) } catch { throw t.error(key, "\(error)") }
                return cpu
            }
            c.feedCore = try core("feed_core")
            c.engineCore = try core("engine_core")
            c.outputCore = try core("output_core")
            c.hiccupThresholdNs = UInt64(
                try t.int("hiccup_threshold_ns", default: Int(c.hiccupThresholdNs), in: 50...1_000_000_000))
            try t.finish()
        }
        if var t = try root.table("rings") {
            func size(_ key: String, _ d: Int) throws(ConfigError) -> Int {
                let n = try t.int(key, default: d, in: 2...(1 << 26))
                guard n & (n - 1) == 0 else { throw t.error(key, "\(n) is not a power of two") }
                return n
            }
            c.eventRing = try size("events", c.eventRing)
            c.eventRingPolicy = .init(rawValue: try t.choice("events_full", default: "spin", ["spin", "drop"]))!
            c.signalRing = try size("signals", c.signalRing)
            c.signalRingPolicy = .init(rawValue: try t.choice("signals_full", default: "drop", ["spin", "drop"]))!
            try t.finish()
        }
        if var t = try root.table("feed") {
            let pace = try t.choice("pace", default: "max", ["max", "recorded"])
            let speed = try t.double("speed", default: 1, in: 1e-6...1e9)
            c.pace = pace == "max" ? .max : .recorded(speed: speed)
            c.onLoss = .init(rawValue: try t.choice("on_loss", default: "stale", ["stale", "stop"]))!
            try t.finish()
        }
        for var t in try root.tables("feeds") {
            guard let text = try t.string("url", default: nil), !text.isEmpty else { throw t.error("url", "missing") }
            var source: SourceURL
            do { source = try SourceURL.parse(text) } catch { throw t.error("url", error.reason) }
            if case let .file(path) = source { source = .file(resolve(path)) }
            if let cpu = try t.int("cpu", default: -1, in: -1...4095) as Int?, cpu >= 0 {
                if let other = c.feedCore, other != cpu {
                    throw t.error(
                        "cpu",
                        "\(cpu), but another feed or threads.feed_core says \(other): one feed thread drives every feed"
                    )
                }
                c.feedCore = cpu
            }
            c.feeds.append(FeedEntry(source: source, text: text))
            try t.finish()
        }
        if var t = try root.table("features") {
            var columns = IndicatorColumns.Config(), events = EventColumns.Config()
            let sessionKeys = (
                open: try t.string("session_open", default: nil), close: try t.string("session_close", default: nil),
                zone: try t.string("session_zone", default: nil), closed: try t.strings("session_closed")
            )
            if sessionKeys.open != nil || sessionKeys.close != nil || sessionKeys.zone != nil {
                guard let open = sessionKeys.open, let close = sessionKeys.close, let zone = sessionKeys.zone else {
                    throw t.error("session_zone", "a session needs session_open, session_close and session_zone")
                }
                do {
                    events.session = try SessionCalendar(
                        open: open, close: close, zone: zone, closed: sessionKeys.closed)
                } catch { throw t.error(error.key ?? "session_zone", error.description) }
            }
            for (i, text) in (try t.strings("bars") ?? []).enumerated() {
                do { try columns.declare(text) } catch { throw t.error("bars[\(i)]", error.description) }
            }
            // `names` is the key's first name, from before indicator columns.
            let vector = try t.strings("vector"), names = try t.strings("names")
            if vector != nil && names != nil {
                throw t.error("names", "give vector (or its old name, names), not both")
            }
            if let list = vector ?? names {
                let key = vector != nil ? "vector" : "names"
                guard !list.isEmpty else { throw t.error(key, "is empty") }
                for (i, n) in list.enumerated() {
                    if list[..<i].contains(n) { throw t.error("\(key)[\(i)]", "\"\(n)\" is listed twice") }
                    if IndicatorColumns.isIndicator(n) {
                        do { try columns.add(n) } catch { throw t.error("\(key)[\(i)]", error.description) }
                    } else if EventColumns.Config.names(n) {
                        do { try events.add(n) } catch { throw t.error("\(key)[\(i)]", error.description) }
                    } else if !MicrostructureFeatures.names.contains(n) {
                        throw t.error(
                            "\(key)[\(i)]",
                            "unknown feature \"\(n)\" (known: \(MicrostructureFeatures.names.joined(separator: ", ")); "
                                + "an event column: \(EventColumns.Kind.allCases.map(\.rawValue).joined(separator: ", ")); "
                                + "or an indicator on a bar series, as in \"RSI(14)@1m\")")
                    }
                }
                c.featureNames = list
            }
            c.features.indicators = columns
            c.features.events = events
            c.features.levels = try t.int("levels", default: c.features.levels, in: 1...c.book.depth)
            c.features.tick = try t.double("tick", default: c.features.tick, in: 1e-12...1e12)
            c.features.vpinBucketVolume = try t.double(
                "vpin_bucket_volume", default: c.features.vpinBucketVolume, in: 1e-9...1e15)
            c.features.vpinBuckets = try t.int("vpin_buckets", default: c.features.vpinBuckets, in: 1...1_000_000)
            c.features.regressionTrades = try t.int(
                "regression_trades", default: c.features.regressionTrades, in: 2...1_000_000)
            c.features.historyCapacity = try t.int(
                "history_capacity", default: c.features.historyCapacity, in: 16...(1 << 24))
            c.features.barSeconds = try t.double("bar_seconds", default: c.features.barSeconds, in: 1e-3...86_400)
            c.features.exchangeTime = try t.choice("clock", default: "receive", ["receive", "exchange"]) == "exchange"
            if let table = try t.string("microprice_table", default: nil), !table.isEmpty {
                do { c.features.micropriceTable = try MicropriceTable.load(path: resolve(table)) } catch {
                    throw t.error("microprice_table", "\(error)")
                }
            }
            try t.finish()
        }
        for var t in try root.tables("models") {
            guard let p = try t.string("path", default: nil), !p.isEmpty else { throw t.error("path", "missing") }
            c.models.append(
                ModelEntry(
                    path: resolve(p), weight: try t.double("weight", default: 1, in: 0...1e9),
                    name: try t.string("name", default: nil)))
            try t.finish()
        }
        if var t = try root.table("online") {
            var o = Online()
            o.learner.kind =
                try t.choice("model", default: "softmax", ["softmax", "logreg"]) == "logreg" ? .logistic : .softmax
            o.learner.learningRate = try t.double("lr", default: 0.01, in: 1e-12...10)
            o.learner.l2 = try t.double("l2", default: 0, in: 0...10)
            o.learner.interceptRate = try t.double("intercept_lr", default: 0.01, in: 0...10)
            o.learner.scale = try t.bool("scale", default: true)
            o.weight = try t.double("weight", default: 1, in: 0...1e9)
            o.horizonNs = UInt64(try t.double("horizon_ms", default: 1000, in: 1e-3...86_400_000) * 1e6)
            o.thresholdTicks = try t.double("threshold_ticks", default: 1, in: 0...1e9)
            o.pending = try t.int("pending", default: 4096, in: 1...(1 << 20))
            o.metricsWindow = try t.int("metrics_window", default: 1000, in: 1...(1 << 24))
            c.online = o
            try t.finish()
        }
        if var t = try root.table("drift") {
            var d = Drift()
            let kind = try t.choice("detector", default: "adwin", ["adwin", "page-hinkley"])
            if kind == "adwin" {
                d.detector = .adwin(ADWIN(delta: try t.double("delta", default: 0.002, in: 1e-12...1)))
            } else {
                var ph = PageHinkley()
                ph.delta = try t.double("delta", default: ph.delta, in: 0...1e9)
                ph.threshold = try t.double("threshold", default: ph.threshold, in: 1e-12...1e12)
                d.detector = .pageHinkley(ph)
            }
            d.action = .init(
                rawValue: try t.choice("action", default: "count", ["count", "reset", "suppress", "raise_risk"]))!
            d.periodNs = UInt64(try t.double("period_ms", default: 5000, in: 0...86_400_000) * 1e6)
            d.features = try t.strings("features") ?? []
            for (i, name) in d.features.enumerated() where !c.featureNames.contains(name) {
                throw t.error("features[\(i)]", "\"\(name)\" is not in features.vector (the model row)")
            }
            guard c.online != nil || !d.features.isEmpty else {
                throw t.error("detector", "[drift] watches the [online] member's errors or `features`: configure one")
            }
            c.drift = d
            try t.finish()
        }
        if var t = try root.table("calibration") {
            c.calibrationPath = try t.string("path", default: nil).flatMap { $0.isEmpty ? nil : resolve($0) }
            try t.finish()
        }
        if var t = try root.table("signal") {
            c.evaluate = .init(
                rawValue: try t.choice("evaluate", default: c.evaluate.rawValue, ["every_event", "top_change"]))!
            c.conflate = try t.bool("conflate", default: false)
            var p = c.policy
            p.strong = try t.double("strong", default: p.strong, in: 0...2)
            p.medium = try t.double("medium", default: p.medium, in: 0...2)
            guard p.medium <= p.strong else {
                throw t.error("medium", "\(p.medium) is above signal.strong (\(p.strong))")
            }
            p.aggressiveMaxSpread = try t.double("aggressive_max_spread", default: p.aggressiveMaxSpread, in: 0...1e12)
            p.lowRiskConfidence = try t.double("low_risk_confidence", default: p.lowRiskConfidence, in: 0...1)
            p.lowRiskEdge = try t.double("low_risk_edge", default: p.lowRiskEdge, in: 0...2)
            p.mediumRiskConfidence = try t.double("medium_risk_confidence", default: p.mediumRiskConfidence, in: 0...1)
            p.mediumRiskEdge = try t.double("medium_risk_edge", default: p.mediumRiskEdge, in: 0...2)
            p.minConfidence = try t.double("min_confidence", default: 0, in: 0...1)
            p.minAgreement = try t.int("min_agreement", default: 0, in: 0...1_000)
            p.buyOutput = try t.int("buy_output", default: p.buyOutput, in: 0...255)
            p.sellOutput = try t.int("sell_output", default: p.sellOutput, in: 0...255)
            c.policy = p
            try t.finish()
        }
        if var t = try root.table("risk") {
            var l = c.limits
            l.maxAgeNs = UInt64(try t.double("max_age_ms", default: 0, in: 0...1e9) * 1e6)
            l.maxPosition = Int64(try t.int("max_position", default: 0, in: 0...Int(Int32.max)))
            l.orderSize = Int64(try t.int("order_size", default: 1, in: 1...Int(Int32.max)))
            l.maxNotional = try t.double("max_notional", default: 0, in: 0...1e18)
            l.contractMultiplier = try t.double("contract_multiplier", default: 1, in: 1e-9...1e9)
            l.maxSignalsPerSecond = try t.int("max_signals_per_s", default: 0, in: 0...10_000_000)
            l.suppressOnBudgetBreach = try t.bool("suppress_on_budget_breach", default: false)
            c.limits = l
            c.killSwitch = try t.string("kill_switch", default: nil).flatMap { $0.isEmpty ? nil : resolve($0) }
            try t.finish()
        }
        if var t = try root.table("regimes") {
            c.regimes = try readRegimes(&t, base: c, resolve: resolve)
            try t.finish()
        }
        c.budgets = try LatencyBudget.read(&root)
        if var t = try root.table("output") {
            c.signalsPath = try t.string("signals", default: nil).flatMap { $0.isEmpty ? nil : resolve($0) }
            c.signalFormat = .init(rawValue: try t.choice("format", default: "csv", ["csv", "jsonl", "binary"]))!
            c.reportPath = try t.string("report", default: nil).flatMap { $0.isEmpty ? nil : resolve($0) }
            c.snapshotNs = UInt64(try t.int("snapshot_ms", default: 1_000, in: 10...3_600_000)) * 1_000_000
            c.snapshotsPath = try t.string("snapshots", default: nil).flatMap { $0.isEmpty ? nil : resolve($0) }
            c.progress = try t.bool("progress", default: true)
            c.wideSignals = try t.bool("wide", default: false)
            c.signalsExisting = .init(
                rawValue: try t.choice("existing", default: "refuse", ExistingSignals.allCases.map(\.rawValue)))!
            if let u = try t.string("url", default: nil), !u.isEmpty {
                if u.hasPrefix("nats://") {
                    guard NATSAddress(u) != nil else {
                        throw t.error(
                            "url",
                            "\"\(u)\" is not nats://HOST:PORT/PREFIX[?jetstream=NAME] (a prefix of dot-separated tokens)"
                        )
                    }
                    c.output = .nats(u)
                } else {
                    c.output = .udp(u)
                }
            }
            c.outputInterface = try t.string("interface", default: nil).flatMap { $0.isEmpty ? nil : $0 }
            try t.finish()
        }
        if var t = try root.table("shard") {
            let id = try t.string("id", default: nil)
            let hash = try t.string("hash", default: nil)
            let list = try t.ints("instruments")
            switch (hash, list) {
            case let (h?, nil):
                guard let s = Shard(hash: h, id: id) else {
                    throw t.error("hash", "\"\(h)\" is not K/N with 0 ≤ K < N ≤ 1024")
                }
                c.shard = s
            case let (nil, l?):
                guard !l.isEmpty, l.allSatisfy({ (0...Int(UInt32.max)).contains($0) }) else {
                    throw t.error("instruments", "a non-empty list of instrument ids (0…4294967295)")
                }
                c.shard = Shard(id: id ?? "list", instruments: l.map { UInt32($0) })
            default: throw t.error("hash", "give either hash = \"K/N\" or instruments = [...]")
            }
            if let s = c.shard, !NATSAddress.isToken(s.id) {
                throw t.error("id", "\"\(s.id)\" must be one subject token: no dot, space, * or >")
            }
            try t.finish()
        }
        if var t = try root.table("reload") {
            c.reloadWatch = try t.bool("watch", default: false)
            c.reloadSettleNs = UInt64(try t.int("settle_ms", default: 200, in: 0...60_000)) * 1_000_000
            try t.finish()
        }
        if var t = try root.table("fills") {
            c.fillsURL = try t.string("url", default: nil).flatMap { $0.isEmpty ? nil : $0 }
            c.limits.positionsFromFills = c.fillsURL != nil
            if let u = c.fillsURL,
                !u.hasPrefix("udp://") || (try? HostPort(String(u.dropFirst(6)), what: "address", url: u)) == nil
            {
                throw t.error("url", "\"\(u)\" is not udp://IPv4:PORT, e.g. \"udp://127.0.0.1:9300\"")
            }
            try t.finish()
        }
        if var t = try root.table("metrics") {
            c.metricsListen = try t.string("listen", default: nil).flatMap { $0.isEmpty ? nil : $0 }
            if let l = c.metricsListen {
                let parts = l.split(separator: ":", omittingEmptySubsequences: false)
                guard parts.count == 2, parts[0].split(separator: ".").count == 4, UInt16(parts[1]) != nil else {
                    throw t.error("listen", "\"\(l)\" is not IPv4:PORT, e.g. \"127.0.0.1:9464\"")
                }
            }
            try t.finish()
        }
        try root.finish()
        return c
    }

    /// `[regimes]`, after the models, `[signal]` and `[risk]` it takes its defaults from.
    static func readRegimes(
        _ t: inout TOMLReader, base c: EngineConfig, resolve: (String) -> String
    ) throws(ConfigError) -> Regimes {
        guard let path = try t.string("hmm", default: nil), !path.isEmpty else { throw t.error("hmm", "missing") }
        let hmm: GaussianHMMFilter
        do { hmm = try GaussianHMMFilter.load(path: resolve(path)) } catch { throw t.error("hmm", "\(error)") }
        var garch: GARCH11? = nil
        if let g = try t.string("garch", default: nil), !g.isEmpty {
            do { garch = try GARCH11.load(path: resolve(g)) } catch { throw t.error("garch", "\(error)") }
        }
        var tracker = RegimeTracker.Config()
        if let inputs = try t.strings("inputs") ?? GaussianHMMFilter.declaredInputs(path: resolve(path)) {
            tracker.inputs = []
            for (i, name) in inputs.enumerated() {
                guard let input = RegimeTracker.Input(rawValue: name) else {
                    let known = RegimeTracker.Input.allCases.map(\.rawValue).joined(separator: ", ")
                    throw t.error("inputs[\(i)]", "unknown input \"\(name)\" (known: \(known))")
                }
                tracker.inputs.append(input)
            }
        }
        tracker.barSeconds = try t.double("bar_seconds", default: tracker.barSeconds, in: 1e-3...86_400)
        tracker.hold = try t.double("hold", default: tracker.hold, in: 0...1)
        tracker.holdBars = try t.int("bars", default: tracker.holdBars, in: 1...1_000_000)
        if let reason = RegimeTracker.check(tracker, hmm: hmm, garch: garch) { throw t.error("inputs", reason) }
        let names = try t.strings("states") ?? (0..<hmm.states).map { "state\($0)" }
        guard names.count == hmm.states, Set(names).count == names.count else {
            throw t.error("states", "expected \(hmm.states) distinct names, one per HMM state")
        }
        let members = c.models.count + (c.online != nil ? 1 : 0)
        var settings: [Regimes.Setting] = []
        for name in names {
            var s = Regimes.Setting(
                weights: nil, maxPosition: c.limits.maxPosition, orderSize: c.limits.orderSize,
                minConfidence: c.policy.minConfidence)
            if var r = try t.table(name) {
                if let w = try r.doubles("weights") {
                    guard w.count == members else {
                        throw r.error("weights", "\(w.count) weights for \(members) models (the online member last)")
                    }
                    let total = w.reduce(0, +)
                    guard w.allSatisfy({ $0 >= 0 }), total > 0 else {
                        throw r.error("weights", "must be non-negative and not all zero")
                    }
                    s.weights = w.map { $0 / total }
                }
                s.maxPosition = Int64(try r.int("max_position", default: Int(s.maxPosition), in: 0...Int(Int32.max)))
                s.orderSize = Int64(try r.int("order_size", default: Int(s.orderSize), in: 1...Int(Int32.max)))
                s.minConfidence = try r.double("min_confidence", default: s.minConfidence, in: 0...1)
                try r.finish()
            }
            settings.append(s)
        }
        return Regimes(tracker: tracker, hmm: hmm, garch: garch, names: names, settings: settings)
    }

    /// Loads every configured model, checks each against the feature schema and the signal
    /// policy, and combines them. Errors name the model's key (`models[1].path`).
    public func loadEnsemble() throws(ConfigError) -> Ensemble? {
        guard !models.isEmpty || online != nil else { return nil }
        let members = models.count + (online != nil ? 1 : 0)
        guard policy.minAgreement <= members else {
            throw ConfigError(
                file: file, key: "signal.min_agreement",
                reason: "\(policy.minAgreement) of \(members) models can never agree")
        }
        let schema = FeatureSchema(names: featureNames)
        var loaded: [Model] = []
        var built = false
        defer {  // a refused set of models gives its memory back (a reload may be refused often)
            if !built { for case let .trees(t) in loaded { t.deallocate() } }
        }
        for (i, entry) in models.enumerated() {
            let key = "models[\(i)].path"
            do {
                let model = try ModelFile.load(path: entry.path)
                loaded.append(model)
                try schema.check(model, file: entry.path)
                if model.outputs != 1 && max(policy.buyOutput, policy.sellOutput) >= model.outputs {
                    throw ModelError(
                        file: entry.path, place: "",
                        reason:
                            "signal.buy_output/sell_output (\(policy.buyOutput)/\(policy.sellOutput)) outside the model's \(model.outputs) outputs"
                    )
                }
            } catch {
                throw ConfigError(file: file, key: key, reason: "\(error)")
            }
        }
        var weights = models.map(\.weight)
        if var o = online {
            o.learner.features = featureNames.count
            o.learner.classes = o.learner.kind == .softmax ? 3 : 2
            loaded.append(.online(OnlineLinear(o.learner)))
            weights.append(o.weight)
        }
        var calibration: Calibration? = nil
        if let calibrationPath {
            do { calibration = try Calibration.load(path: calibrationPath) } catch {
                throw ConfigError(file: file, key: "calibration.path", reason: "\(error)")
            }
        }
        do {
            let ensemble = try Ensemble(
                models: loaded, weights: weights, calibration: calibration, rowWidth: featureNames.count)
            (ensemble.ownsTrees, built) = (true, true)
            return ensemble
        } catch {
            throw ConfigError(
                file: file, key: error.place == "calibration" ? "calibration.path" : "models", reason: error.reason)
        }
    }
}
