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
public struct EngineCore: @unchecked Sendable {
    /// Named counters, in this order, in the engine thread's group.
    public enum Count: Int, CaseIterable {
        case events, trades, notBook, bookEvents, unchangedTop, evaluations, weak, medium, strong, emitted,
             signalRingFull, undefinedFeatures
        public var name: String {
            ["events", "trades", "not_book", "book_events", "unchanged_top", "evaluations", "strength_weak",
             "strength_medium", "strength_strong", "emitted", "signal_ring_full", "undefined_features"][rawValue]
        }
        /// Every counter name: these, then `suppressed_<reason>` for each risk gate.
        public static var names: [String] { allCases.map(\.name) + RiskGates.Reason.allCases.map { "suppressed_" + $0.name } }
    }

    public let book: L3Book
    let features: UnsafeMutablePointer<MicrostructureFeatures>
    /// The full microstructure vector, the model's row gathered from it, and the outputs.
    let full: UnsafeMutablePointer<Double>
    let row: UnsafeMutablePointer<Double>
    let indices: UnsafeMutablePointer<Int>
    let featureCount: Int
    let outputs: UnsafeMutablePointer<Double>
    let outputCount: Int
    let ensemble: Unmanaged<Ensemble>?
    let policy: SignalPolicy
    public let gates: RiskGates
    let onTopChange: Bool
    /// Per book: best bid price, bid size, ask price, ask size at the last evaluation.
    let tops: UnsafeMutablePointer<SIMD4<Int64>>
    let histograms: UnsafeMutablePointer<HistogramRecorder>
    let counts: CounterGroup
    let signals: SPSCRing<Signal>.Producer
    let sequence: UnsafeMutablePointer<UInt64>
    let clock: Clock

    init(config: EngineConfig, ensemble: Ensemble?, arena: Arena, counters: CounterRegistry,
         histograms: UnsafeMutablePointer<HistogramRecorder>, signals: SPSCRing<Signal>.Producer, clock: Clock) throws(ArenaError) {
        let books = config.book.maxInstruments
        book = try L3Book(config: config.book, arena: arena, counters: counters, thread: "engine")
        features = try arena.allocate(MicrostructureFeatures.self, count: books)
        for b in 0..<books { (features + b).initialize(to: MicrostructureFeatures(config: config.features)) }
        full = try arena.allocate(Double.self, count: MicrostructureFeatures.count)
        featureCount = config.featureNames.count
        row = try arena.allocate(Double.self, count: featureCount)
        indices = try arena.allocate(Int.self, count: featureCount)
        for (i, index) in config.featureIndices.enumerated() { indices[i] = index }
        outputCount = ensemble?.outputs ?? 1
        outputs = try arena.allocate(Double.self, count: outputCount)
        self.ensemble = ensemble.map { Unmanaged.passUnretained($0) }
        policy = config.policy
        gates = try RiskGates(limits: config.limits, books: books, arena: arena)
        onTopChange = config.evaluate == .topChange
        tops = try arena.allocate(SIMD4<Int64>.self, count: books)
        tops.initialize(repeating: SIMD4(repeating: -1), count: books)
        self.histograms = histograms
        counts = counters.makeGroup(thread: "engine", names: Count.names)
        self.signals = signals
        sequence = try arena.allocate(UInt64.self, count: 1)
        sequence.initialize(to: 0)
        self.clock = clock
    }

    /// Releases the feature states' window memory (the arena holds the rest). Once, after the
    /// engine thread has stopped.
    func release(books: Int) {
        features.deinitialize(count: books)
    }

    @inline(__always)
    func count(_ c: Count) { counts[c.rawValue].increment() }

    @inline(__always)
    func record(_ stage: Stage, from start: UInt64, to end: UInt64) {
        histograms[stage.rawValue].record(clock.nanoseconds(ticks: end &- start))
    }

    /// One event, start to finish.
    @inline(__always)
    public func process(_ e: Event) {
        let t0 = clock.ticks()
        let stamped = e.tsLocal != 0 && e.tsLocal <= t0
        if stamped { record(.ringWait, from: e.tsLocal, to: t0) }
        count(.events)
        if e.action == Event.Action.trade {
            count(.trades)
            if let b = book.instruments.lookup(e.instrumentId) { features[b].trade(e) }
            return
        }
        guard e.kind == .order else { count(.notBook); return }
        let b = book.apply(e)
        let t1 = clock.ticks()
        record(.book, from: t0, to: t1)
        guard b >= 0 else { return }
        count(.bookEvents)
        let view = book.view(book: b)
        features[b].book(view, event: e, into: full)
        let t2 = clock.ticks()
        record(.features, from: t1, to: t2)
        guard let ensemble else { return }
        let h = view.header.pointee
        let bestBid = h.bidLevels > 0 ? view.bid(0) : PriceLevels.Level(price: 0, size: 0, count: 0)
        let bestAsk = h.askLevels > 0 ? view.ask(0) : PriceLevels.Level(price: 0, size: 0, count: 0)
        if onTopChange {
            let top = SIMD4(bestBid.price, Int64(bestBid.size), bestAsk.price, Int64(bestAsk.size))
            if top == tops[b] { count(.unchangedTop); return }
            tops[b] = top
        }
        var finite = true
        for i in 0..<featureCount {
            let v = full[indices[i]]
            row[i] = v
            finite = finite && v.isFinite
        }
        if !finite { count(.undefinedFeatures) }
        ensemble._withUnsafeGuaranteedRef { $0.predict(row, into: outputs) }
        let t3 = clock.ticks()
        record(.inference, from: t2, to: t3)

        count(.evaluations)
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
        if s.strength != .weak {
            if let reason = gates.check(s, book: b, event: e, stale: h.stale != 0, finite: finite) {
                counts[Count.allCases.count + reason.rawValue - 1].increment()
            } else {
                sequence.pointee &+= 1
                s.sequence = sequence.pointee
                if signals.push(s) { count(.emitted) } else { count(.signalRingFull) }
            }
        }
        let t4 = clock.ticks()
        record(.signal, from: t3, to: t4)
        if stamped { record(.tickToSignal, from: e.tsLocal, to: t4) }
    }

    /// Answers pending histogram swaps (at batch boundaries).
    @inline(__always)
    func pollHistograms() {
        for i in 1..<Stage.allCases.count { histograms[i].poll() }
    }
}
