/// A weighted combination of several models' outputs (class probabilities), weights from
/// configuration: out[k] = Σ wᵢ · modelᵢ[k] / Σ wᵢ. Every model must have the same number of
/// outputs. Scratch rows are allocated once at construction, so `predict` allocates nothing.
public final class Ensemble: @unchecked Sendable {
    public let models: [Model]
    public let weights: [Double]
    public let features: Int
    public let outputs: Int
    let partial: UnsafeMutablePointer<Double>
    let scratch: UnsafeMutablePointer<Float>

    public init(models: [Model], weights: [Double]) throws(ModelError) {
        guard !models.isEmpty, models.count == weights.count else {
            throw ModelError(file: "ensemble", place: "", reason: "\(models.count) models for \(weights.count) weights")
        }
        guard weights.allSatisfy({ $0 >= 0 && $0.isFinite }), weights.reduce(0, +) > 0 else {
            throw ModelError(file: "ensemble", place: "", reason: "weights must be finite, non-negative and not all zero: \(weights)")
        }
        let outputs = models[0].outputs, features = models[0].features
        for (i, m) in models.enumerated() where m.outputs != outputs || m.features != features {
            throw ModelError(file: "ensemble", place: "model \(i)", reason: "\(m.features) features → \(m.outputs) outputs, but model 0 has \(features) → \(outputs)")
        }
        self.models = models
        let total = weights.reduce(0, +)
        self.weights = weights.map { $0 / total }
        self.features = features
        self.outputs = outputs
        partial = .allocate(capacity: outputs)
        scratch = .allocate(capacity: features + outputs)
    }

    deinit {
        partial.deallocate()
        scratch.deallocate()
    }

    public func predict(_ x: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>) {
        for k in 0..<outputs { out[k] = 0 }
        for (i, m) in models.enumerated() {
            m.predict(x, into: partial, scratch: scratch)
            let w = weights[i]
            for k in 0..<outputs { out[k] += w * partial[k] }
        }
    }
}
