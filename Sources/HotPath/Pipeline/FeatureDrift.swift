/// `[drift] features`: a drift detector (ADWIN or Page-Hinkley, as `[drift]` configures it)
/// per instrument on each chosen feature of the model row, fed at every evaluation with that
/// feature's value; a value that is not finite is skipped. Detections go to the engine's
/// `[drift]` action, as the online member's error detector's do, and are counted per feature
/// (group "drift", one counter per watched feature). Sized at start; `update` allocates
/// nothing.
struct FeatureDrift {
    /// The watched features' places in the model row.
    let columns: UnsafeMutablePointer<Int>
    let count: Int
    /// [book][feature].
    let detectors: UnsafeMutablePointer<AnyDriftDetector>
    let detections: CounterGroup

    init(
        columns: [Int], names: [String], detector: AnyDriftDetector, books: Int, arena: Arena,
        counters: CounterRegistry
    ) throws(ArenaError) {
        count = columns.count
        self.columns = try arena.allocate(Int.self, count: count)
        self.columns.initialize(from: columns, count: count)
        detectors = try arena.allocate(AnyDriftDetector.self, count: books * count)
        for i in 0..<books * count { (detectors + i).initialize(to: detector.fresh()) }
        detections = counters.makeGroup(thread: "drift", names: names)
    }

    /// Book `b`'s row just evaluated; returns the drifts it completed.
    @inline(__always)
    func update(book b: Int, row: UnsafePointer<Double>) -> Int {
        var drifts = 0
        for i in 0..<count {
            let x = row[columns[i]]
            guard x.isFinite else { continue }
            if detectors[b * count + i].update(x) {
                detections[i].increment()
                drifts += 1
            }
        }
        return drifts
    }
}
