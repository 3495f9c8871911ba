#if canImport(Glibc)
import Glibc
#endif

/// The delayed labels of the engine's online member (`[online]`). Each evaluation's model row
/// waits, per instrument, in a ring sized at start, with its event time, mid and the member's
/// prediction. Once a book event of that instrument comes at least `horizon` later, the row's
/// label is the mid's move in ticks since — up (≥ `thresholdTicks`), down (≤ −threshold) or
/// flat, as `hotpath features`' forward label is taken at the first event past the horizon —
/// and the member learns it. The prediction it made is scored first (prequential: log loss
/// and accuracy over the last `window` labels). A full ring drops the new row and counts it;
/// it never grows. Allocation-free after start.
struct OnlineLabels {
    let learner: OnlineLinear
    /// Where the ensemble leaves the member's prediction for the row it just evaluated.
    let prediction: UnsafePointer<Double>
    let features: Int
    let classes: Int
    let capacity: Int
    let horizon: UInt64
    /// Price units (1e-9) per tick times the threshold.
    let threshold: Double
    let tick: Double
    /// Per book: `capacity` slots of rows, times, mids and predictions; the oldest slot and
    /// how many wait.
    let rows: UnsafeMutablePointer<Double>
    let times: UnsafeMutablePointer<UInt64>
    let mids: UnsafeMutablePointer<Int64>
    let predictions: UnsafeMutablePointer<Double>
    let head: UnsafeMutablePointer<Int>
    let waiting: UnsafeMutablePointer<Int>
    /// The metrics window: per label its log loss and whether the prediction was right; the
    /// next slot, how many are in, and the running sums.
    let window: Int
    let losses: UnsafeMutablePointer<Double>
    let hits: UnsafeMutablePointer<Bool>
    let metrics: UnsafeMutablePointer<(next: Int, filled: Int, loss: Double, hits: Int)>
    /// `[drift]`: the detector on the errors (0 right, 1 wrong), its action, and detections
    /// since the engine last looked (`takeDrifts`).
    let drift: UnsafeMutablePointer<AnyDriftDetector>?
    let action: EngineConfig.Drift.Action
    let drifts: UnsafeMutablePointer<Int>

    init(
        _ config: EngineConfig.Online, drift: EngineConfig.Drift?, learner: OnlineLinear,
        prediction: UnsafePointer<Double>, books: Int, tick: Double, arena: Arena
    ) throws(ArenaError) {
        self.learner = learner
        self.prediction = prediction
        features = learner.config.features
        classes = learner.outputs
        capacity = config.pending
        horizon = config.horizonNs
        threshold = config.thresholdTicks
        self.tick = tick
        let slots = books * capacity
        rows = try arena.allocate(Double.self, count: slots * features)
        times = try arena.allocate(UInt64.self, count: slots)
        mids = try arena.allocate(Int64.self, count: slots)
        predictions = try arena.allocate(Double.self, count: slots * classes)
        head = try arena.allocate(Int.self, count: books)
        waiting = try arena.allocate(Int.self, count: books)
        head.initialize(repeating: 0, count: books)
        waiting.initialize(repeating: 0, count: books)
        window = config.metricsWindow
        losses = try arena.allocate(Double.self, count: window)
        hits = try arena.allocate(Bool.self, count: window)
        metrics = try arena.allocate((next: Int, filled: Int, loss: Double, hits: Int).self, count: 1)
        metrics.initialize(to: (0, 0, 0, 0))
        if let drift {
            let p = try arena.allocate(AnyDriftDetector.self, count: 1)
            p.initialize(to: drift.detector)
            self.drift = p
        } else {
            self.drift = nil
        }
        action = drift?.action ?? .count
        drifts = try arena.allocate(Int.self, count: 1)
        drifts.initialize(to: 0)
    }

    /// Drifts detected since the last call (the engine counts them and acts).
    @inline(__always)
    func takeDrifts() -> Int {
        let n = drifts.pointee
        drifts.pointee = 0
        return n
    }

    /// Queues book `b`'s evaluated row; false when its ring is full (the row is dropped).
    @inline(__always)
    func enqueue(book b: Int, row: UnsafePointer<Double>, time: UInt64, mid: Int64) -> Bool {
        guard waiting[b] < capacity else { return false }
        var slot = head[b] + waiting[b]
        if slot >= capacity { slot -= capacity }
        let at = b * capacity + slot
        (rows + at * features).update(from: row, count: features)
        (predictions + at * classes).update(from: prediction, count: classes)
        times[at] = time
        mids[at] = mid
        waiting[b] += 1
        return true
    }

    /// Learns every row of book `b` whose horizon has passed by `time`, at mid `mid` (nil when
    /// the book has no mid: those rows are dropped unlabelled). Returns (learnt, unlabelled).
    @inline(__always)
    func resolve(book b: Int, time: UInt64, mid: Int64?) -> (Int, Int) {
        var learnt = 0, dropped = 0
        while waiting[b] > 0 {
            let at = b * capacity + head[b]
            guard time >= times[at] &+ horizon else { break }
            if let mid {
                let ticks = Double(mid - mids[at]) / 1e9 / tick
                let label: Int
                if classes == 1 {
                    label = ticks >= threshold ? 1 : 0
                } else {
                    label = ticks >= threshold ? 2 : ticks <= -threshold ? 0 : 1
                }
                let right = score(predictions + at * classes, label: label)
                if drift?.pointee.update(right ? 0 : 1) == true {
                    drifts.pointee += 1
                    if action == .reset { learner.reset() }
                }
                learner.learn(rows + at * features, label: label)
                learnt += 1
            } else {
                dropped += 1
            }
            head[b] = head[b] + 1 == capacity ? 0 : head[b] + 1
            waiting[b] -= 1
        }
        return (learnt, dropped)
    }

    /// Prequential scoring of the prediction made for a row, once its label is known; returns
    /// whether it was right.
    @inline(__always)
    func score(_ p: UnsafePointer<Double>, label: Int) -> Bool {
        let probability: Double, right: Bool
        if classes == 1 {
            probability = label == 1 ? p[0] : 1 - p[0]
            right = (p[0] >= 0.5) == (label == 1)
        } else {
            var best = 0
            for k in 1..<classes where p[k] > p[best] { best = k }
            probability = p[label]
            right = best == label
        }
        let loss = -log(max(probability, 1e-15))
        var m = metrics.pointee
        if m.filled == window {
            m.loss -= losses[m.next]
            m.hits -= hits[m.next] ? 1 : 0
        } else {
            m.filled += 1
        }
        losses[m.next] = loss
        hits[m.next] = right
        m.loss += loss
        m.hits += right ? 1 : 0
        m.next = m.next + 1 == window ? 0 : m.next + 1
        metrics.pointee = m
        return right
    }

    /// (labels in the window, mean log loss, accuracy); cold.
    var summary: (Int, Double, Double) {
        let m = metrics.pointee
        // The running sum's rounding can leave a hair below zero once the losses are all ~0.
        return m.filled == 0
            ? (0, 0, 0) : (m.filled, max(0, m.loss) / Double(m.filled), Double(m.hits) / Double(m.filled))
    }
}
