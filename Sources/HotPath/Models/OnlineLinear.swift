#if canImport(Glibc)
import Glibc
#endif

/// An online linear classifier that learns one labelled row at a time, with River 0.26.1's
/// arithmetic so that its predictions match River's on the same stream:
/// - `.logistic`: `linear_model.LogisticRegression(optimizer=optim.SGD(lr), l2=…,
///   intercept_lr=…)`. p = sigmoid(w·x + b) (0 below −30, 1 above 30). Learning: the log
///   loss's gradient g at the current margin (River's three branches at ±18), clipped to
///   ±1e12; b −= intercept_lr · g; then wᵢ −= lr · (xᵢ · g + l2 · wᵢ).
/// - `.softmax`: `linear_model.SoftmaxRegression(optimizer=optim.SGD(lr), l2=…)`: no
///   intercept; the softmax runs over the classes seen so far, its sum in the order they were
///   first seen, as River's dict holds them (an unseen class has probability 0); learning moves
///   each seen class and the true one by (clamp(p_k, 1e-15, 1 − 1e-15) − [k = y]) · xᵢ + l2 ·
///   w_kᵢ, times lr. (Without scaling, features of large magnitude make SGD chaotic: a sum in
///   another order drifts from River's by 1 within a few hundred rows.)
/// - `scale`: `preprocessing.StandardScaler()` in front, as a River pipeline runs it: a
///   prediction transforms with the statistics so far; learning updates the mean and
///   variance first (Welford, population variance), then transforms and learns. A feature of
///   variance 0 scales to 0.
///
/// Every buffer is sized at start-up; `predict` and `learn` allocate nothing.
public struct OnlineLinear: @unchecked Sendable {
    public enum Kind: String, Sendable { case logistic = "logreg", softmax }

    public struct Config: Sendable {
        public var kind = Kind.logistic
        public var features = 1
        /// Softmax: the number of classes (labels 0..<classes); logistic: 2.
        public var classes = 2
        public var learningRate = 0.01
        public var l2 = 0.0
        /// Logistic only (River's `intercept_lr`).
        public var interceptRate = 0.01
        public var scale = false
        public init() {}
    }

    public let config: Config
    /// [classes][features] for softmax, [features] for logistic.
    let weights: UnsafeMutablePointer<Double>
    let intercept: UnsafeMutablePointer<Double>
    let mean: UnsafeMutablePointer<Double>
    let variance: UnsafeMutablePointer<Double>
    let scaled: UnsafeMutablePointer<Double>
    let scores: UnsafeMutablePointer<Double>
    /// Softmax: the classes in the order their labels were first seen; `count[1]` of them.
    let seen: UnsafeMutablePointer<Int>
    /// [rows learnt, classes seen].
    let count: UnsafeMutablePointer<Int>

    public init(_ config: Config) {
        self.config = config
        let rows = config.kind == .softmax ? config.classes : 1
        func zeros<T>(_ n: Int, _ zero: T) -> UnsafeMutablePointer<T> {
            let p = UnsafeMutablePointer<T>.allocate(capacity: max(n, 1))
            p.initialize(repeating: zero, count: max(n, 1))
            return p
        }
        weights = zeros(rows * config.features, 0.0)
        intercept = zeros(1, 0.0)
        mean = zeros(config.features, 0.0)
        variance = zeros(config.features, 0.0)
        scaled = zeros(config.features, 0.0)
        scores = zeros(config.classes, 0.0)
        seen = zeros(config.classes, 0)
        count = zeros(2, 0)
    }

    /// Forgets everything learnt: weights, intercept, scaler statistics, classes seen.
    public func reset() {
        let rows = config.kind == .softmax ? config.classes : 1
        weights.update(repeating: 0, count: rows * config.features)
        intercept.pointee = 0
        mean.update(repeating: 0, count: config.features)
        variance.update(repeating: 0, count: config.features)
        count.update(repeating: 0, count: 2)
    }

    /// How many values `predict` writes: p(class 1) for logistic, one per class for softmax.
    public var outputs: Int { config.kind == .softmax ? config.classes : 1 }

    /// The row as the model sees it: scaled with the statistics so far, or as it is.
    @inline(__always)
    func input(_ x: UnsafePointer<Double>) -> UnsafePointer<Double> {
        guard config.scale else { return x }
        for i in 0..<config.features {
            let v = variance[i]
            scaled[i] = v != 0 ? (x[i] - mean[i]) / v.squareRoot() : 0
        }
        return UnsafePointer(scaled)
    }

    @inline(__always)
    func dot(_ row: Int, _ x: UnsafePointer<Double>) -> Double {
        let w = weights + row * config.features
        var sum = 0.0
        for i in 0..<config.features { sum += w[i] * x[i] }
        return sum
    }

    /// The probabilities before learning this row (River's `predict_proba_one`).
    public func predict(_ x: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>) {
        probabilities(input(x), into: out)
    }

    func probabilities(_ x: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>) {
        if config.kind == .logistic {
            let z = dot(0, x) + intercept.pointee
            out[0] = z < -30 ? 0 : z > 30 ? 1 : 1 / (1 + exp(-z))
            return
        }
        let n = count[1]
        for k in 0..<config.classes { out[k] = 0 }
        var maximum = -Double.infinity
        for j in 0..<n {
            let k = seen[j]
            out[k] = dot(k, x)
            maximum = max(maximum, out[k])
        }
        var total = 0.0
        for j in 0..<n {
            let k = seen[j]
            out[k] = exp(out[k] - maximum)
            total += out[k]
        }
        for j in 0..<n { out[seen[j]] /= total }
    }

    /// Learns one row with its label (logistic: 0 or 1; softmax: the class index).
    public func learn(_ x: UnsafePointer<Double>, label: Int) {
        let n = config.features
        if config.scale {
            count.pointee &+= 1
            let c = Double(count.pointee)
            for i in 0..<n {
                let old = mean[i]
                mean[i] += (x[i] - old) / c
                variance[i] += ((x[i] - old) * (x[i] - mean[i]) - variance[i]) / c
            }
        }
        let row = input(x)
        let lr = config.learningRate, l2 = config.l2
        if config.kind == .logistic {
            let y = label != 0 ? 1.0 : -1.0
            let z = (dot(0, row) + intercept.pointee) * y
            var g = z > 18 ? exp(-z) * -y : z < -18 ? -y : -y / (exp(z) + 1)
            g = min(max(g, -1e12), 1e12)
            intercept.pointee -= config.interceptRate * g
            for i in 0..<n { weights[i] -= lr * (row[i] * g + l2 * weights[i]) }
            return
        }
        probabilities(row, into: scores)
        if !(0..<count[1]).contains(where: { seen[$0] == label }) {
            seen[count[1]] = label
            count[1] &+= 1
        }
        for j in 0..<count[1] {
            let k = seen[j]
            let p = min(max(scores[k], 1e-15), 1 - 1e-15)  // a class new with this label: 0, clamped
            let loss = p - (k == label ? 1 : 0)
            let w = weights + k * n
            for i in 0..<n { w[i] -= lr * (row[i] * loss + l2 * w[i]) }
        }
    }
}
