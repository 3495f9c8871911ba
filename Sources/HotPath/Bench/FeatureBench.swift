/// `hotpath bench features`: the cost of the feature vector per book event, as the engine
/// pays it (the engine's own steps, `EventPath`). The feed's events are decoded once; each timed pass then rebuilds the book from
/// them on a pinned core, with the features (pass B) or without (pass A), taking A and B in turn
/// so drifts of the shared host cancel; the feature cost is the median over passes of
/// (B − A), per feature update (a published book view or a trade): a median, because a pass
/// the host interrupts moves a total by more than the whole difference. The book's published
/// view is then in cache as it is in the engine (a first version replayed private copies of
/// every view and measured cache misses on 20 MB of copies instead).
public struct FeatureBench {
    public struct Result: Sendable {
        public var events: Int
        public var features: Int
        /// Per pass, seconds: the book alone (A) and book + features (B).
        public var bookSeconds: [Double]
        public var bothSeconds: [Double]
        public var loops: Int
        /// Feature updates per pass: published book views and trades.
        public var updates: Int
        public var nsPerEvent: Double {
            let d = zip(bothSeconds, bookSeconds).map { $0 - $1 }.sorted()
            return max(0, d[d.count / 2]) * 1e9 / Double(updates)
        }
        public var bookNsPerEvent: Double { bookSeconds.sorted()[bookSeconds.count / 2] * 1e9 / Double(events) }
        public var json: String {
            JSONText.object([
                ("events", "\(updates)"), ("features", "\(features)"), ("ns_per_event", format("%.2f", nsPerEvent)),
                ("feed_events", "\(events)"),
                ("book_ns_per_event", format("%.2f", bookNsPerEvent)), ("loops", "\(loops)"),
            ])
        }
    }

    public static func run(_ file: FeedFile, loops: Int = 20) throws -> Result {
        let loops = max(loops, 1)
        var events: [Event] = []
        try file.forEachEvent { e in
            if e.action == Event.Action.trade || e.kind == .order || e.kind == .level { events.append(e) }
        }
        var bookConfig = L3Book.Config()
        bookConfig.maxInstruments = 16
        bookConfig.depth = 10
        let features = MicrostructureFeatures.Config()
        let arena = try Arena(bytes: EventPath.arenaBytes(book: bookConfig, features: features), lock: false)
        defer { withExtendedLifetime(arena) {} }
        let path = try EventPath(book: bookConfig, features: features, arena: arena)
        defer { path.release() }
        let cpu = PinnedThread.currentAffinity().cpus.last ?? 0
        let box = FeatureBenchBox()
        let evs = events
        let thread = try PinnedThread.start(name: "bench-features", cpu: cpu) {
            evs.withUnsafeBufferPointer { ev in
                for _ in 0..<loops {
                    for withFeatures in [false, true] {
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
                        if withFeatures {
                            box.both.append(t)
                            box.updates = path.featureUpdates - before
                        } else {
                            box.book.append(t)
                        }
                    }
                }
            }
        }
        thread.join()
        return Result(
            events: events.count, features: MicrostructureFeatures.count, bookSeconds: box.book,
            bothSeconds: box.both, loops: loops, updates: max(box.updates, 1))
    }
}

final class FeatureBenchBox: @unchecked Sendable {
    var book: [Double] = [], both: [Double] = []
    var updates = 0
}
