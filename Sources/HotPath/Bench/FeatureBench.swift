/// `hotpath bench features`: the cost of the feature vector per book event, as the engine
/// pays it (the engine's own steps, `EventPath`). The feed's events are decoded once; each timed pass then rebuilds the book from
/// them on a pinned core, with the features (pass B) or without (pass A), taking A and B in turn
/// so drifts of the shared host cancel; the feature cost is the median over passes of
/// (B − A), per feature update (a published book view or a trade): a median, because a pass
/// the host interrupts moves a total by more than the whole difference. The book's published
/// view is then in cache as it is in the engine (a first version replayed private copies of
/// every view and measured cache misses on 20 MB of copies instead).
///
/// With a configured vector (`[features]` of an engine config), two more passes run the same
/// events through an `EventPath` built from it, in turn with the others: its book alone (A′)
/// and with its features (C). Its rows hold the whole fixed vector and the configured columns,
/// so C − A′ is what the engine pays for the configured vector, beside B − A in one run. (C − A,
/// a first version, also charged C for a second book's colder memory: BENCHMARKS.md.)
public struct FeatureBench {
    public struct Result: Sendable {
        public var events: Int
        public var features: Int
        /// Per pass, seconds: the book alone (A) and book + features (B).
        public var bookSeconds: [Double]
        public var bothSeconds: [Double]
        /// With a configured vector: its feature count (the model row's), and per pass the
        /// seconds of its book alone (A′) and with its features (C).
        public var configuredFeatures = 0
        public var configuredSeconds: [Double] = []
        public var configuredBookSeconds: [Double] = []
        public var loops: Int
        /// Feature updates per pass: published book views and trades.
        public var updates: Int
        public var nsPerEvent: Double { Self.nsPerUpdate(bothSeconds, bookSeconds, updates) }
        /// The configured vector's cost per feature update (C − A′), when one was given.
        public var configuredNsPerEvent: Double {
            configuredSeconds.isEmpty ? .nan : Self.nsPerUpdate(configuredSeconds, configuredBookSeconds, updates)
        }
        static func nsPerUpdate(_ with: [Double], _ without: [Double], _ updates: Int) -> Double {
            let d = zip(with, without).map { $0 - $1 }.sorted()
            return max(0, d[d.count / 2]) * 1e9 / Double(updates)
        }
        public var bookNsPerEvent: Double { bookSeconds.sorted()[bookSeconds.count / 2] * 1e9 / Double(events) }
        public var json: String {
            var fields = [
                ("events", "\(updates)"), ("features", "\(features)"), ("ns_per_event", format("%.2f", nsPerEvent)),
                ("ns_per_feature", format("%.3f", nsPerEvent / Double(features))),
                ("feed_events", "\(events)"),
                ("book_ns_per_event", format("%.2f", bookNsPerEvent)), ("loops", "\(loops)"),
            ]
            if configuredFeatures > 0 {
                fields += [
                    ("configured_features", "\(configuredFeatures)"),
                    ("configured_ns_per_event", format("%.2f", configuredNsPerEvent)),
                    ("configured_ns_per_feature", format("%.3f", configuredNsPerEvent / Double(configuredFeatures))),
                ]
            }
            return JSONText.object(fields)
        }
    }

    /// `configured`: an engine config whose `[features]` (and vector) passes A′ and C run.
    public static func run(_ file: FeedFile, loops: Int = 20, configured: EngineConfig? = nil) throws -> Result {
        let loops = max(loops, 1)
        var events: [Event] = []
        try file.forEachEvent { e in
            if e.action == Event.Action.trade || e.kind == .order || e.kind == .level { events.append(e) }
        }
        var bookConfig = L3Book.Config()
        bookConfig.maxInstruments = 16
        bookConfig.depth = 10
        let features = MicrostructureFeatures.Config()
        let vector = configured?.features ?? features
        let arena = try Arena(
            bytes: EventPath.arenaBytes(book: bookConfig, features: features)
                + EventPath.arenaBytes(book: bookConfig, features: vector), lock: false)
        defer { withExtendedLifetime(arena) {} }
        let fixed = try EventPath(book: bookConfig, features: features, arena: arena)
        defer { fixed.release() }
        let other = configured == nil ? nil : try EventPath(book: bookConfig, features: vector, arena: arena)
        defer { other?.release() }
        // A (the fixed path's book alone), B (with the fixed vector), A′ and C (the configured path's).
        let passes: [(EventPath, Bool)] =
            [(fixed, false), (fixed, true)] + (other.map { [($0, false), ($0, true)] } ?? [])
        let cpu = PinnedThread.currentAffinity().cpus.last ?? 0
        let box = FeatureBenchBox()
        let evs = events
        let thread = try PinnedThread.start(name: "bench-features", cpu: cpu) {
            evs.withUnsafeBufferPointer { ev in
                for _ in 0..<loops {
                    for (p, (path, withFeatures)) in passes.enumerated() {
                        path.clearAll()
                        let before = path.featureUpdates
                        let t0 = Clock.monotonicNs()
                        for i in 0..<ev.count {
                            let e = ev[i]
                            if e.action == Event.Action.trade {
                                if withFeatures { _ = path.trade(e) }
                                continue
                            }
                            let b = path.move(e)
                            if withFeatures && b >= 0 { path.updateFeatures(book: b, event: e) }
                        }
                        let t = Double(Clock.monotonicNs() - t0) / 1e9
                        switch p {
                        case 0: box.book.append(t)
                        case 1:
                            box.both.append(t)
                            box.updates = path.featureUpdates - before
                        case 2: box.configuredBook.append(t)
                        default: box.configured.append(t)
                        }
                    }
                }
            }
        }
        thread.join()
        return Result(
            events: events.count, features: MicrostructureFeatures.count, bookSeconds: box.book,
            bothSeconds: box.both, configuredFeatures: configured?.featureNames.count ?? 0,
            configuredSeconds: box.configured, configuredBookSeconds: box.configuredBook, loops: loops,
            updates: max(box.updates, 1))
    }
}

final class FeatureBenchBox: @unchecked Sendable {
    var book: [Double] = [], both: [Double] = [], configuredBook: [Double] = [], configured: [Double] = []
    var updates = 0
}
