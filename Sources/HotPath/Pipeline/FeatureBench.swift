/// `hotpath bench features`: the feed's book events and trades are captured once (each
/// published view copied into its own preallocated view), then replayed through fresh
/// feature vectors on a pinned core, so the timing covers the feature updates alone.
public struct FeatureBench {
    public struct Result: Sendable {
        public var events: Int
        public var features: Int
        public var seconds: Double
        public var loops: Int
        public var nsPerEvent: Double { seconds * 1e9 / Double(events * loops) }
        public var json: String {
            JSONText.object([("events", "\(events)"), ("features", "\(features)"), ("ns_per_event", format("%.2f", nsPerEvent)),
                             ("loops", "\(loops)"), ("seconds", format("%.6f", seconds))])
        }
    }

    public static func run(_ file: FeedFile, loops: Int = 20) throws -> Result {
        // Capture: events, and for book events a private copy of the published view.
        var bookConfig = L3Book.Config()
        bookConfig.maxInstruments = 4
        bookConfig.depth = 10
        let arena = try Arena(bytes: 128 << 20, lock: false)
        defer { withExtendedLifetime(arena) {} }
        let book = try L3Book(config: bookConfig, arena: arena)
        var events: [Event] = []
        var views: [BookView?] = []
        func capture(_ e: Event) throws {
            if e.action == Event.Action.trade { events.append(e); views.append(nil); return }
            guard e.kind == .order else { return }
            let b = book.apply(e)
            guard b >= 0 else { return }
            let source = book.view(book: b)
            let copy = try BookView(depth: source.depth, arena: arena)
            copy.header.pointee = source.header.pointee
            copy.levels.update(from: source.levels, count: 2 * source.depth)
            events.append(e)
            views.append(copy)
        }
        try file.forEachEvent(capture)
        let engines = (0..<loops).map { _ in MicrostructureFeatures() }
        let cpu = PinnedThread.currentAffinity().cpus.last ?? 0
        let box = FeatureBenchBox(engines: engines)
        let (evs, vws) = (events, views)
        let thread = try PinnedThread.start(name: "bench-features", cpu: cpu) {
            let row = UnsafeMutablePointer<Double>.allocate(capacity: MicrostructureFeatures.count)
            defer { row.deallocate() }
            evs.withUnsafeBufferPointer { ev in
                vws.withUnsafeBufferPointer { vw in
                    var total: UInt64 = 0
                    for l in 0..<loops {
                        var engine = box.engines[l]  // a fresh vector per pass, held in a local
                        let t0 = Clock.monotonicNs()
                        for i in 0..<ev.count {
                            if let v = vw[i] { engine.book(v, event: ev[i], into: row) } else { engine.trade(ev[i]) }
                        }
                        total += Clock.monotonicNs() - t0
                        box.engines[l] = engine
                    }
                    box.seconds = Double(total) / 1e9
                }
            }
        }
        thread.join()
        return Result(events: events.count, features: MicrostructureFeatures.count, seconds: box.seconds, loops: loops)
    }
}

final class FeatureBenchBox: @unchecked Sendable {
    var engines: [MicrostructureFeatures]
    var seconds = 0.0
    init(engines: [MicrostructureFeatures]) { self.engines = engines }
}
