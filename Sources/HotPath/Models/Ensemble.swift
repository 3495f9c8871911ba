import CSupport

/// A weighted combination of several models' outputs (class probabilities), weights from
/// configuration: out[k] = Σ wᵢ · modelᵢ[k] / Σ wᵢ. Every model must have the same number of
/// outputs. An optional `Calibration` then maps the combined probabilities (scikit-learn's
/// isotonic or sigmoid calibration). Scratch rows are allocated once at construction, so
/// `predict` allocates nothing.
///
/// A recurrent network over `rowWidth` features per step (input [T, rowWidth]) takes the
/// instrument's window of its last T rows, oldest first, which the caller keeps (`windowSteps`
/// is T; every such member must share it); the other members take the current row.
public final class Ensemble: @unchecked Sendable {
    public let models: [Model]
    public let weights: [Double]
    public let features: Int
    public let outputs: Int
    public let calibration: Calibration?
    /// T, when a member takes a window of the last T rows; 0 when none does.
    public let windowSteps: Int
    let partial: UnsafeMutablePointer<Double>
    /// Each member's outputs from the last `predict` ([models][outputs]), for agreement rules.
    public let memberOutputs: UnsafeMutablePointer<Double>
    public let memberCount: Int
    /// The member that learns as the engine runs, and its index (its outputs are at
    /// `memberOutputs + index · outputs`).
    public let online: (learner: OnlineLinear, index: Int)?
    let scratch: UnsafeMutablePointer<Float>
    /// The models as plain values for `predict`, each an unretained class reference (`models`
    /// and `treeBoxes` keep them alive). Enumerating `models` retains every model's storage
    /// per call, and so did calling a tree ensemble through a pointer to it (Swift copied the
    /// struct, retaining its arrays: found with perf in the engine thread); a `let` in a class
    /// is borrowed in place.
    enum Member {
        case trees(Unmanaged<TreesBox>), network(Unmanaged<NeuralNetwork>), chain(Unmanaged<OperatorChain>)
        /// A recurrent network reading the caller's window of rows in place (float).
        case windowed(Unmanaged<NeuralNetwork>)
        case online(OnlineLinear)
    }
    final class TreesBox {
        let model: TreeEnsemble
        init(_ model: TreeEnsemble) { self.model = model }
    }
    let treeBoxes: [TreesBox]
    /// Whether the tree models are this ensemble's alone (`EngineConfig.loadEnsemble` loads
    /// them for it), so that its end frees them: a hot reload's old ensemble gives its memory back.
    var ownsTrees = false
    let members: UnsafeMutablePointer<Member>
    let weightPointer: UnsafeMutablePointer<Double>

    public init(
        models: [Model], weights: [Double], calibration: Calibration? = nil, rowWidth: Int? = nil
    ) throws(ModelError) {
        guard !models.isEmpty, models.count == weights.count else {
            throw ModelError(file: "ensemble", place: "", reason: "\(models.count) models for \(weights.count) weights")
        }
        guard weights.allSatisfy({ $0 >= 0 && $0.isFinite }), weights.reduce(0, +) > 0 else {
            throw ModelError(
                file: "ensemble", place: "", reason: "weights must be finite, non-negative and not all zero: \(weights)"
            )
        }
        for (i, m) in models.enumerated() {
            if case let .trees(t) = m, t.transform == .classIndex {
                throw ModelError(
                    file: "ensemble", place: "model \(i)",
                    reason:
                        "multi:softmax predicts a class index, and signals need class probabilities: save the model with objective multi:softprob (the trees are the same)"
                )
            }
        }
        let outputs = models[0].outputs, features = rowWidth ?? models[0].features
        let steps = models.map { $0.windowSteps(rowWidth: features) }
        for (i, m) in models.enumerated() where m.outputs != outputs || (steps[i] == nil && m.features != features) {
            throw ModelError(
                file: "ensemble", place: "model \(i)",
                reason: "\(m.features) features → \(m.outputs) outputs, but the ensemble takes \(features) → \(outputs)"
            )
        }
        let windows = Set(steps.compactMap { $0 })
        guard windows.count <= 1 else {
            throw ModelError(
                file: "ensemble", place: "models",
                reason: "recurrent models over windows of \(windows.sorted()) rows: one window length per ensemble")
        }
        windowSteps = windows.first ?? 0
        if let calibration, calibration.classes != outputs {
            throw ModelError(
                file: "ensemble", place: "calibration",
                reason: "calibrates \(calibration.classes) classes, but the models give \(outputs) outputs")
        }
        self.calibration = calibration
        self.models = models
        let total = weights.reduce(0, +)
        self.weights = weights.map { $0 / total }
        self.features = features
        self.outputs = outputs
        partial = .allocate(capacity: outputs)
        memberCount = models.count
        online =
            models.indices.lazy.compactMap { i -> (OnlineLinear, Int)? in
                if case let .online(o) = models[i] { return (o, i) } else { return nil }
            }.first
        memberOutputs = .allocate(capacity: models.count * outputs)
        memberOutputs.initialize(repeating: 0, count: models.count * outputs)
        scratch = .allocate(capacity: features + outputs)
        members = .allocate(capacity: models.count)
        weightPointer = .allocate(capacity: models.count)
        var boxes: [TreesBox] = []
        for (i, m) in models.enumerated() {
            switch m {
            case let .trees(t):
                boxes.append(TreesBox(t))
                (members + i).initialize(to: .trees(Unmanaged.passUnretained(boxes[boxes.count - 1])))
            case let .network(n):
                (members + i).initialize(
                    to: steps[i] != nil ? .windowed(Unmanaged.passUnretained(n)) : .network(Unmanaged.passUnretained(n))
                )
            case let .chain(c):
                (members + i).initialize(to: .chain(Unmanaged.passUnretained(c)))
            case let .online(o):
                (members + i).initialize(to: .online(o))
            }
            weightPointer[i] = self.weights[i]
        }
        treeBoxes = boxes
    }

    deinit {
        if ownsTrees { for box in treeBoxes { box.model.deallocate() } }
        partial.deallocate()
        memberOutputs.deallocate()
        scratch.deallocate()
        members.deallocate()
        weightPointer.deallocate()
    }

    /// `window`: the last `windowSteps` rows, oldest first, as floats (needed when
    /// `windowSteps` > 0). `weights`: one per member, summing to 1, in place of the
    /// configured ones for this call (a regime's).
    public func predict(
        _ x: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>, window: UnsafePointer<Float>? = nil,
        weights: UnsafePointer<Double>? = nil
    ) {
        #if HOTPATH_INJECT_SLOW_INFERENCE
        // A deliberate regression for measuring the latency gate's miss rate only
        // (scripts/gate-ab.sh --slow-head): every prediction takes a quarter longer.
        let injectedStart = hp_rdtsc()
        defer {
            let now = hp_rdtsc()
            let until = now &+ (now &- injectedStart) / 4
            while hp_rdtsc() < until { hp_cpu_relax() }
        }
        #endif
        for k in 0..<outputs { out[k] = 0 }
        for i in 0..<models.count {
            switch members[i] {
            case let .trees(t):
                let partial = self.partial
                t._withUnsafeGuaranteedRef { $0.model.predict(x, into: partial) }
            case let .network(n):
                let features = self.features, outputs = self.outputs, scratch = self.scratch, partial = self.partial
                n._withUnsafeGuaranteedRef { net in
                    for j in 0..<features { scratch[j] = Float(x[j]) }
                    net.predict(scratch, into: scratch + features)
                    for k in 0..<outputs { partial[k] = Double(scratch[features + k]) }
                }
            case let .chain(c):
                let partial = self.partial
                c._withUnsafeGuaranteedRef { $0.predict(x, into: partial) }
            case let .online(o):
                o.predict(x, into: partial)
            case let .windowed(n):
                let outputs = self.outputs, scratch = self.scratch, partial = self.partial
                n._withUnsafeGuaranteedRef { net in
                    net.predict(window!, into: scratch)
                    for k in 0..<outputs { partial[k] = Double(scratch[k]) }
                }
            }
            let w = (weights ?? UnsafePointer(weightPointer))[i], member = memberOutputs + i * outputs
            for k in 0..<outputs {
                member[k] = partial[k]
                out[k] += w * partial[k]
            }
        }
        calibration?.apply(out)
    }
}
