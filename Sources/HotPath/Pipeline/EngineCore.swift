/// The engine thread's per-event work: book → features → models → ensemble → signal → risk
/// gates → signal ring, with a TSC stamp between stages into each stage's histogram.
///
/// A value of raw pointers into arena memory plus the configuration's plain values, built
/// once at start-up: `process` allocates nothing, takes no lock and retains nothing (the
/// ensemble is held unretained; the `Engine` owns it).
///
/// Which events run the models (`EngineConfig.Evaluate`): every published book event, or
/// only those that change the top of book (best bid/ask price or size) — fewer evaluations
/// when most events are deep in the book. Trades update the feature state only.
///
/// `tick_to_signal` runs from the event's stamp (taken by the feed thread before decode) to
/// the moment its signal is published — or, for a WEAK or suppressed one, dropped: every
/// evaluation is timed, so the histogram does not depend on how many signals pass the gates.
///
/// Conflation (`conflate`, off by default): an evaluation due on an event that is not the
/// last of the batch the engine popped is deferred, per instrument, to the end of the batch,
/// and made once on the book as it then stands. Under load the engine then evaluates each
/// instrument at most once per batch (up to 256 events) instead of on every change, so it
/// catches up instead of queueing; when the ring is nearly empty batches are single events
/// and nothing is deferred. A deferred evaluation's tick-to-signal runs from the first
/// deferred event's stamp, so the wait is measured. Signals then depend on batch boundaries
/// (timing): replays that must be reproducible leave it off.
///
/// A recurrent model over a window (`Ensemble.windowSteps` T > 0) reads each instrument's last
/// T model rows, one per book event (as `hotpath features` writes them), from a ring sized at
/// start: each row is written twice, at slot s and s + T, so the T rows ending at the newest
/// are always contiguous, oldest first. Until an instrument has T rows its evaluations are
/// skipped and counted (`window_warming`).
public struct EngineCore: @unchecked Sendable {
    /// Named counters, in this order, in the engine thread's group.
    public enum Count: Int, CaseIterable {
        case events, trades, notBook, bookEvents, unchangedTop, evaluations, weak, medium, strong, emitted,
            signalRingFull, undefinedFeatures, restarts, resubscribes, deferred, windowWarming, onlineLearned,
            labelRingFull, labelUndefined, driftDetected, onlineResets, riskRaised, regimeBars, regimeSwitches, halts,
            resumes, fillsApplied, fillsUnknown
        public var name: String {
            switch self {
            case .events: "events"
            case .trades: "trades"
            case .notBook: "not_book"
            case .bookEvents: "book_events"
            case .unchangedTop: "unchanged_top"
            case .evaluations: "evaluations"
            case .weak: "strength_weak"
            case .medium: "strength_medium"
            case .strong: "strength_strong"
            case .emitted: "emitted"
            case .signalRingFull: "signal_ring_full"
            case .undefinedFeatures: "undefined_features"
            case .restarts: "input_restarts"
            case .resubscribes: "source_resubscribes"
            case .deferred: "deferred"
            case .windowWarming: "window_warming"
            case .onlineLearned: "online_learned"
            case .labelRingFull: "label_ring_full"
            case .labelUndefined: "label_undefined"
            case .driftDetected: "drift_detected"
            case .onlineResets: "online_resets"
            case .riskRaised: "risk_raised"
            case .regimeBars: "regime_bars"
            case .regimeSwitches: "regime_switches"
            case .halts: "halts"
            case .resumes: "resumes"
            case .fillsApplied: "fills_applied"
            case .fillsUnknown: "fills_unknown_instrument"
            }
        }
        /// Every counter name: these, then `suppressed_<reason>` for each risk gate.
        public static var names: [String] {
            allCases.map(\.name) + RiskGates.Reason.allCases.map { "suppressed_" + $0.name }
        }
        /// Where `suppressed_<reason>` sits: after the last case (a constant, so the hot path
        /// does not build `allCases`). Reasons count from 1.
        @inlinable static func suppressed(_ r: RiskGates.Reason) -> Int { Count.fillsUnknown.rawValue + r.rawValue }
    }

    /// Event → book → view → features (`EventPath`), the steps `process` times.
    public let path: EventPath
    public var book: L3Book { path.book }
    /// Sends each signal as it is made (`[output] url`), if configured.
    /// Unretained, as `ensemble`: the `Engine` holds it.
    let egress: Unmanaged<SignalEgress>?
    /// Per book: its latest full microstructure vector (`path.rows`); then the model's row
    /// gathered from it, and the outputs.
    var full: UnsafeMutablePointer<Double> { path.rows }
    let row: UnsafeMutablePointer<Double>
    let indices: UnsafeMutablePointer<Int>
    let featureCount: Int
    let outputs: UnsafeMutablePointer<Double>
    let outputCount: Int
    /// The ensemble (unretained) and its hot reload (`ModelSwap`): a swap happens between two
    /// batches (`pollSwap`), so every evaluation of a batch uses one ensemble.
    let swap: ModelSwap
    var ensemble: Unmanaged<Ensemble>? {
        @inline(__always) get { swap.current.pointee }
    }
    /// The recurrent window: T (0 = none), per book 2T float rows, and rows written so far.
    let windowSteps: Int
    let window: UnsafeMutablePointer<Float>
    let windowRows: UnsafeMutablePointer<Int>
    /// The online member's delayed labels (`[online]`), if one is configured.
    let labels: OnlineLabels?
    /// `[drift] action = "suppress"` or `"raise_risk"`: it acts on signals until this event
    /// time; `driftPeriodNs` is 0 for the other actions.
    let driftUntil: UnsafeMutablePointer<UInt64>
    let driftPeriodNs: UInt64
    let raiseRisk: Bool
    /// `[drift] action = "reset"`: a detection resets the online member.
    let driftResets: Bool
    /// `[drift] features`: detectors per instrument on chosen features of the model row.
    let featureDrift: FeatureDrift?
    /// `[regimes]`: each instrument's regime; per regime (state) its weights ([state][member],
    /// nil rows where it keeps the ensemble's), its risk and confidence floor, and a counter of
    /// the bars it held (group "regime", `bars_<name>`).
    public let regimes: RegimeTracker?
    let hasRegimes: Bool
    let regimeWeights: UnsafeMutablePointer<UnsafePointer<Double>?>
    typealias RegimeRisk = (maxPosition: Int64, orderSize: Int64, minConfidence: Double)
    let regimeRisk: UnsafeMutablePointer<RegimeRisk>
    let regimeBars: CounterGroup?
    let policy: SignalPolicy
    public let gates: RiskGates
    /// `[fills]`: fills from `FillsInput`, applied to the positions at batch boundaries.
    let fills: SPSCRing<Fill>.Consumer?
    let onTopChange: Bool
    /// Per book: best bid price, bid size, ask price, ask size at the last evaluation.
    let tops: UnsafeMutablePointer<SIMD4<Int64>>
    let histograms: UnsafeMutablePointer<HistogramRecorder>
    let counts: CounterGroup
    let signals: SPSCRing<Signal>.Producer
    /// `[output] wide`: the members' outputs of each emitted signal.
    let members: SPSCRing<MemberRecord>.Producer?
    /// `members != nil`, read on the hot path without loading the optional.
    let wide: Bool
    let sequence: UnsafeMutablePointer<UInt64>
    let clock: Clock
    let conflate: Bool
    /// Conflation: per book, the latest event of a deferred evaluation and the first deferred
    /// event's stamp (or `Pending.none` / `Pending.untimed`); the books with one, in order.
    let pendingEvent: UnsafeMutablePointer<Event>
    let pendingStamp: UnsafeMutablePointer<UInt64>
    let pendingBooks: UnsafeMutablePointer<Int>
    let pendingCount: UnsafeMutablePointer<Int>
    /// Books (instruments) the core was sized for.
    let bookCapacity: Int

    /// `pendingStamp` values that are not TSC stamps (a real stamp is far above both).
    enum Pending {
        /// No evaluation is deferred for the book.
        static let none: UInt64 = 0
        /// One is deferred, but its first event carries no stamp: it will not be timed.
        static let untimed: UInt64 = 1
        /// The stamp tick-to-signal runs from, for a deferred evaluation `value` (0: untimed).
        @inline(__always)
        static func stamp(_ value: UInt64) -> UInt64 { value > untimed ? value : 0 }
    }

    init(
        config: EngineConfig, ensemble: Ensemble?, identity: UInt64 = 0, arena: Arena, counters: CounterRegistry,
        histograms: UnsafeMutablePointer<HistogramRecorder>, signals: SPSCRing<Signal>.Producer,
        members: SPSCRing<MemberRecord>.Producer? = nil, fills: SPSCRing<Fill>.Consumer? = nil, clock: Clock,
        egress: SignalEgress? = nil
    ) throws(ArenaError) {
        self.fills = fills
        self.members = members
        wide = members != nil
        self.egress = egress.map { Unmanaged.passUnretained($0) }
        let books = config.book.maxInstruments
        bookCapacity = books
        path = try EventPath(book: config.book, features: config.features, arena: arena, counters: counters)
        featureCount = config.featureNames.count
        row = try arena.allocate(Double.self, count: featureCount)
        indices = try arena.allocate(Int.self, count: featureCount)
        for (i, index) in config.featureIndices.enumerated() {
            precondition(index < path.width, "EngineCore: feature \(i) outside the row")  // a bug, not an input
            indices[i] = index
        }
        outputCount = ensemble?.outputs ?? 1
        outputs = try arena.allocate(Double.self, count: outputCount)
        swap = try ModelSwap(ensemble: ensemble, identity: identity, arena: arena)
        windowSteps = ensemble?.windowSteps ?? 0
        window = try arena.allocate(Float.self, count: max(1, books * 2 * windowSteps * featureCount))
        window.initialize(repeating: 0, count: max(1, books * 2 * windowSteps * featureCount))
        windowRows = try arena.allocate(Int.self, count: books)
        windowRows.initialize(repeating: 0, count: books)
        if let online = ensemble?.online, let settings = config.online {
            labels = try OnlineLabels(
                settings, drift: config.drift, learner: online.learner,
                prediction: ensemble!.memberOutputs + online.index * ensemble!.outputs, books: books,
                tick: config.features.tick, arena: arena)
        } else {
            labels = nil
        }
        driftUntil = try arena.allocate(UInt64.self, count: 1)
        driftUntil.initialize(to: 0)
        let acts = config.drift.map { $0.action == .suppress || $0.action == .raiseRisk } ?? false
        driftPeriodNs = acts ? config.drift!.periodNs : 0
        raiseRisk = config.drift?.action == .raiseRisk
        driftResets = config.drift?.action == .reset && labels != nil
        if let d = config.drift, !d.features.isEmpty {
            featureDrift = try FeatureDrift(
                columns: d.features.map { config.featureNames.firstIndex(of: $0)! }, names: d.features,
                detector: d.detector, books: books, arena: arena, counters: counters)
        } else {
            featureDrift = nil
        }
        policy = config.policy
        gates = try RiskGates(limits: config.limits, books: books, arena: arena)
        let states = config.regimes?.settings ?? []
        regimeWeights = try arena.allocate(UnsafePointer<Double>?.self, count: max(1, states.count))
        regimeRisk = try arena.allocate(RegimeRisk.self, count: max(1, states.count))
        for (k, s) in states.enumerated() {
            var weights: UnsafePointer<Double>? = nil
            if let w = s.weights {
                let p = try arena.allocate(Double.self, count: w.count)
                p.initialize(from: w, count: w.count)
                weights = UnsafePointer(p)
            }
            (regimeWeights + k).initialize(to: weights)
            (regimeRisk + k).initialize(to: (s.maxPosition, s.orderSize, s.minConfidence))
        }
        hasRegimes = config.regimes != nil
        if let r = config.regimes {
            regimes = try RegimeTracker(r.tracker, hmm: r.hmm, garch: r.garch, books: books, arena: arena)
            regimeBars = counters.makeGroup(thread: "regime", names: r.names.map { "bars_" + $0 })
        } else {
            (regimes, regimeBars) = (nil, nil)
        }
        onTopChange = config.evaluate == .topChange
        tops = try arena.allocate(SIMD4<Int64>.self, count: books)
        tops.initialize(repeating: SIMD4(repeating: -1), count: books)
        self.histograms = histograms
        counts = counters.makeGroup(thread: "engine", names: Count.names)
        self.signals = signals
        sequence = try arena.allocate(UInt64.self, count: 1)
        sequence.initialize(to: 0)
        self.clock = clock
        conflate = config.conflate
        pendingEvent = try arena.allocate(Event.self, count: books)
        pendingStamp = try arena.allocate(UInt64.self, count: books)
        pendingStamp.initialize(repeating: Pending.none, count: books)
        pendingBooks = try arena.allocate(Int.self, count: books)
        pendingCount = try arena.allocate(Int.self, count: 1)
        pendingCount.initialize(to: 0)
    }

    /// Frees the feature states' window memory (the arena holds the rest). Once, after the
    /// engine thread has stopped.
    func release() { path.release() }

    @inline(__always)
    func count(_ c: Count) { counts[c.rawValue].increment() }

    @inline(__always)
    func record(_ stage: Stage, from start: UInt64, to end: UInt64) {
        histograms[stage.rawValue].record(clock.nanoseconds(ticks: end &- start))
    }

    /// One event, start to finish. `last`: no further event is in the popped batch (only
    /// conflation looks at it).
    @inline(__always)
    public func process(_ e: Event, last: Bool = true) {
        let t0 = clock.ticks()
        let stamped = e.tsLocal != 0 && e.tsLocal <= t0
        if stamped { record(.ringWait, from: e.tsLocal, to: t0) }
        count(.events)
        if e.action == Event.Action.trade {
            count(.trades)
            tradeFeatures(e)
            return
        }
        let b = path.move(e)
        if b == EventPath.notBook {
            other(e)
            return
        }
        let t1 = clock.ticks()
        record(.book, from: t0, to: t1)
        guard b >= 0 else { return }
        count(.bookEvents)
        updateFeatures(book: b, event: e)
        if windowSteps > 0 { pushWindow(book: b) }
        if let labels { learn(labels, book: b, event: e) }
        let t2 = clock.ticks()
        record(.features, from: t1, to: t2)
        guard ensemble != nil else { return }
        if onTopChange {
            let (bid, ask) = view(b).top
            let top = SIMD4(bid.price, Int64(bid.size), ask.price, Int64(ask.size))
            if top == tops[b] {
                count(.unchangedTop)
                return
            }
            tops[b] = top
        }
        if conflate && !last {
            if pendingStamp[b] == Pending.none {
                pendingStamp[b] = stamped ? e.tsLocal : Pending.untimed
                assert(pendingCount.pointee < bookCapacity, "EngineCore: more deferred books than books")
                pendingBooks[pendingCount.pointee] = b
                pendingCount.pointee &+= 1
            }
            pendingEvent[b] = e
            count(.deferred)
            return
        }
        let deferred = pendingStamp[b]
        if deferred != Pending.none { pendingStamp[b] = Pending.none }  // this evaluation covers the deferred one
        // Timed from the first deferred event's stamp when it has one, else from this event's.
        let stamp = deferred > Pending.untimed ? deferred : stamped ? e.tsLocal : 0
        evaluate(book: b, event: e, stamp: stamp, from: t2)
    }

    /// An event that moves no book: a restart, a new subscription, a status change, or one the
    /// engine does not use (counted).
    @inline(never)
    func other(_ e: Event) {
        if e.kind == .restart || e.kind == .resubscribed {
            flushDeferred()  // conflated evaluations belong to the books before the restart
            if e.kind == .restart {
                path.clearAll()
                gates.halted.update(repeating: false, count: bookCapacity)
                count(.restarts)
            } else {
                path.clearAll(stale: BookStale.resubscribed)
                count(.resubscribes)
            }
        } else if e.kind == .status {
            status(e)
        } else {
            count(.notBook)
        }
    }

    /// Book `b`'s published view.
    @inline(__always)
    public func view(_ b: Int) -> BookView { path.view(b) }

    /// A halt or resume: the instrument's signals are suppressed as `halted` until it trades.
    @inline(never)
    func status(_ e: Event) {
        let b = book.instruments.index(for: e.instrumentId)
        guard b >= 0 else { return }  // no book left for it: counted by the book
        let halt = e.action == Event.Status.halted
        if gates.halted[b] != halt { count(halt ? .halts : .resumes) }
        gates.halted[b] = halt
    }

    /// The deferred evaluations, once each, on the books as they stand (at batch ends).
    @inline(__always)
    public func flushDeferred() {
        let n = pendingCount.pointee
        guard n > 0 else { return }
        for i in 0..<n {
            let b = pendingBooks[i]
            let deferred = pendingStamp[b]
            guard deferred != Pending.none else { continue }  // already covered by a later evaluation
            pendingStamp[b] = Pending.none
            evaluate(book: b, event: pendingEvent[b], stamp: Pending.stamp(deferred), from: clock.ticks())
        }
        pendingCount.pointee = 0
    }

    /// Models → signal → gates → signal ring for book `b`, whose latest event is `e`.
    /// `stamp`: where tick-to-signal starts (0: not timed); `t2`: when inference may start.
    @inline(__always)
    func evaluate(book b: Int, event e: Event, stamp: UInt64, from t2: UInt64) {
        if windowSteps > 0 && windowRows[b] < windowSteps {
            count(.windowWarming)
            return
        }
        let finite = infer(book: b)
        if let labels, finite { queueLabel(labels, book: b, event: e) }
        if let featureDrift {
            let drifts = featureDrift.update(book: b, row: row)
            if drifts > 0 {
                if driftResets { labels!.learner.reset() }
                drifted(drifts, at: e.tsEvent)
            }
        }
        let t3 = clock.ticks()
        record(.inference, from: t2, to: t3)
        decide(book: b, event: e, finite: finite)
        let t4 = clock.ticks()
        record(.signal, from: t3, to: t4)
        if stamp != 0 { record(.tickToSignal, from: stamp, to: t4) }
    }

    // MARK: The stages, one function each (`InstructionWork` counts each one's instructions)

    /// The features stage: book `b`'s microstructure vector after event `e`.
    @inline(__always)
    func updateFeatures(book b: Int, event e: Event) {
        path.updateFeatures(book: b, event: e)
    }

    /// A trade's feature update (trades move no book; they feed the trade-flow features and
    /// the regime's bars).
    @inline(__always)
    func tradeFeatures(_ e: Event) {
        let b = path.trade(e)
        guard b >= 0, let regimes else { return }
        switch regimes.trade(book: b, event: e) {
        case .none: return
        case .switched: count(.regimeSwitches)
        case .bar: break
        }
        count(.regimeBars)
        regimeBars![regimes.regime(book: b)].increment()
    }

    /// Book `b`'s regime (a state of `[regimes]`), or −1: none configured, or none found yet.
    @inline(__always)
    func regime(book b: Int) -> Int { hasRegimes ? regimes.unsafelyUnwrapped.regime(book: b) : -1 }

    /// The book's mid in price units, when both sides have a level.
    @inline(__always)
    func mid(book b: Int) -> Int64? {
        let (bid, ask) = view(b).top
        return bid.size > 0 && ask.size > 0 ? (bid.price &+ ask.price) / 2 : nil
    }

    /// The online member learns the rows of book `b` whose label horizon event `e` reaches.
    @inline(__always)
    func learn(_ labels: OnlineLabels, book b: Int, event e: Event) {
        guard labels.waiting[b] > 0 else { return }
        let (learnt, dropped) = labels.resolve(book: b, time: e.tsEvent, mid: mid(book: b))
        if learnt > 0 { counts[Count.onlineLearned.rawValue].increment(by: UInt64(learnt)) }
        if dropped > 0 { counts[Count.labelUndefined.rawValue].increment(by: UInt64(dropped)) }
        let drifts = labels.takeDrifts()  // the member already reset itself, if it should
        if drifts > 0 { drifted(drifts, at: e.tsEvent) }
    }

    /// `drifts` detections at event time `time`: counted, and the `[drift]` action's period
    /// starts.
    @inline(__always)
    func drifted(_ drifts: Int, at time: UInt64) {
        counts[Count.driftDetected.rawValue].increment(by: UInt64(drifts))
        if driftResets { counts[Count.onlineResets.rawValue].increment(by: UInt64(drifts)) }
        if driftPeriodNs > 0 { driftUntil.pointee = time &+ driftPeriodNs }
    }

    /// Queues the row just evaluated, with the online member's prediction, for its label.
    @inline(__always)
    func queueLabel(_ labels: OnlineLabels, book b: Int, event e: Event) {
        guard let mid = mid(book: b) else { return count(.labelUndefined) }
        if !labels.enqueue(book: b, row: row, time: e.tsEvent, mid: mid) {
            count(.labelRingFull)
        }
    }

    /// Book `b`'s model row, appended to its window ring (twice: slot s and s + T).
    @inline(__always)
    func pushWindow(book b: Int) {
        let vector = full + b &* path.width
        let T = windowSteps, n = featureCount
        let slot = windowRows[b] % T
        let first = window + (b * 2 * T + slot) * n, second = first + T * n
        for i in 0..<n {
            let v = Float(vector[indices[i]])
            first[i] = v
            second[i] = v
        }
        windowRows[b] &+= 1
    }

    /// Book `b`'s last T rows, oldest first (valid once T rows were pushed).
    @inline(__always)
    func recentRows(book b: Int) -> UnsafePointer<Float> {
        let T = windowSteps
        return UnsafePointer(window + (b * 2 * T + windowRows[b] % T) * featureCount)
    }

    /// The inference stage: gathers the model's row from book `b`'s vector and runs the
    /// ensemble into `outputs` (with the book's window, when a model takes one). Returns
    /// whether every feature was finite.
    @inline(__always)
    func infer(book b: Int) -> Bool {
        let vector = full + b &* path.width
        var finite = true
        for i in 0..<featureCount {
            let v = vector[indices[i]]
            row[i] = v
            finite = finite && v.isFinite
        }
        if !finite { count(.undefinedFeatures) }
        assert(ensemble != nil, "EngineCore: inference without a model")
        let window = windowSteps > 0 ? recentRows(book: b) : nil
        let r = regime(book: b)
        let weights = r >= 0 ? regimeWeights[r] : nil
        ensemble!._withUnsafeGuaranteedRef { $0.predict(row, into: outputs, window: window, weights: weights) }
        return finite
    }

    /// The ensemble's rules over signal `s`: its confidence (against the regime's floor), and
    /// how many members agree on its side. nil when it passes (or no rule is set).
    @inline(__always)
    func ensembleRule(_ s: Signal, minConfidence: Double) -> RiskGates.Reason? {
        if driftPeriodNs > 0 && !raiseRisk && s.tsEvent < driftUntil.pointee { return .drift }
        if minConfidence > 0 && s.confidence < minConfidence { return .lowConfidence }
        guard policy.minAgreement > 0, let ensemble else { return nil }
        let buy = s.side == Event.Side.bid
        let (members, width, n) = ensemble._withUnsafeGuaranteedRef { ($0.memberOutputs, $0.outputs, $0.memberCount) }
        var agreeing = 0
        for m in 0..<n {
            let (pBuy, pSell) = policy.probabilities(members + m * width, outputs: width)
            if (pBuy - pSell >= 0) == buy { agreeing += 1 }
        }
        return agreeing < policy.minAgreement ? .disagreement : nil
    }

    /// The signal stage: the policy over `outputs`, the risk gates, the signal ring.
    @inline(__always)
    func decide(book b: Int, event e: Event, finite: Bool) {
        count(.evaluations)
        let view = self.view(b)
        let (bestBid, bestAsk) = view.top
        let (pBuy, pSell) = policy.probabilities(outputs, outputs: outputCount)
        var s = Signal()
        s.tsEvent = e.tsEvent
        s.tsRecv = e.tsRecv
        s.instrumentId = e.instrumentId
        s.mid = (bestBid.price &+ bestAsk.price) / 2
        s.spread = bestAsk.price - bestBid.price
        policy.decide(buy: pBuy, sell: pSell, spread: Double(s.spread) / 1e9, into: &s)
        switch s.strength {
        case .weak: count(.weak)
        case .medium: count(.medium)
        case .strong: count(.strong)
        }
        guard s.strength != .weak else { return }
        if raiseRisk && s.tsEvent < driftUntil.pointee {
            s.risk = .high
            count(.riskRaised)
        }
        // Without regimes the base rules and gates run as they are (no per-regime lookups;
        // `hasRegimes`, a Bool, because testing the optional tracker loads all of it).
        let r = hasRegimes ? regime(book: b) : -1
        if let rule = ensembleRule(s, minConfidence: r >= 0 ? regimeRisk[r].minConfidence : policy.minConfidence) {
            counts[Count.suppressed(rule)].increment()
            return
        }
        let stale = view.info.stale != 0
        // One call site, so the gates inline here (two made the compiler call them).
        let (maxPosition, orderSize) =
            r < 0
            ? (gates.limits.maxPosition, gates.limits.orderSize) : (regimeRisk[r].maxPosition, regimeRisk[r].orderSize)
        let gate = gates.check(
            s, book: b, event: e, stale: stale, finite: finite, maxPosition: maxPosition, orderSize: orderSize)
        if let reason = gate {
            counts[Count.suppressed(reason)].increment()
        } else {
            sequence.pointee &+= 1
            s.sequence = sequence.pointee
            if wide { pushMembers(s, book: b, into: members.unsafelyUnwrapped) }
            if signals.push(s) { count(.emitted) } else { count(.signalRingFull) }
            if let egress {
                let pushed = clock.ticks()
                egress._withUnsafeGuaranteedRef { $0.send(s, madeTicks: pushed, clock: clock, histograms: histograms) }
            }
        }
    }

    /// Signal `s`'s wide part: each member's (p_buy, p_sell) from the evaluation just made, and
    /// the regime. Pushed before the signal, so the output thread finds it when it pops the
    /// signal; when this ring is full it goes missing, and the output thread counts that.
    @inline(__always)
    func pushMembers(_ s: Signal, book b: Int, into ring: SPSCRing<MemberRecord>.Producer) {
        var r = MemberRecord()
        r.sequence = s.sequence
        r.regime = Int32(regime(book: b))
        let policy = self.policy
        ensemble!._withUnsafeGuaranteedRef { e in
            r.members = UInt32(e.memberCount)
            for m in 0..<e.memberCount {
                let (buy, sell) = policy.probabilities(e.memberOutputs + m * e.outputs, outputs: e.outputs)
                r.buy[m] = buy
                r.sell[m] = sell
            }
        }
        _ = ring.push(r)
    }

    /// Applies the fills that have arrived to the positions (at batch boundaries).
    @inline(__always)
    public func applyFills() {
        guard let fills else { return }
        while let f = fills.pop() {
            guard let b = book.instruments.lookup(f.instrumentId) else {
                count(.fillsUnknown)
                continue
            }
            gates.fill(book: b, lots: f.signedQuantity)
            count(.fillsApplied)
        }
    }

    /// Takes a reloaded ensemble, if one is offered (at batch boundaries).
    @inline(__always)
    public func pollSwap() { swap.poll(nextSequence: sequence.pointee &+ 1) }

    /// Answers pending histogram swaps (at batch boundaries).
    @inline(__always)
    func pollHistograms() {
        for i in Stage.ringWait.rawValue...Stage.wireToSignal.rawValue { histograms[i].poll() }
    }
}
