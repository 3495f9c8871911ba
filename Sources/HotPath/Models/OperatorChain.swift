#if canImport(Glibc)
import Glibc
#endif

/// A scikit-learn pipeline as skl2onnx and onnxmltools export it: a chain of ONNX-ML operators
/// (`ai.onnx.ml` Scaler, Normalizer, LinearClassifier/Regressor, TreeEnsembleClassifier/
/// Regressor) and plain ones (Sub, Div, Mul, Add against a constant, ArgMax), with runs of
/// dense layers kept as `NeuralNetwork`s. `ONNXLoader` builds it at load; `predict` walks the
/// steps over two double scratch rows, allocating nothing.
///
/// The reference is ONNX Runtime, within 1e-5: its float arithmetic is not copied, but its
/// rules are — the tree comparisons in float (`TreeEnsemble`'s XGBoost arithmetic, with `<=`
/// as `<` against the next float up), the post-transforms, and the two-class cases where one
/// score becomes two columns.
public final class OperatorChain: @unchecked Sendable {
    /// ONNX-ML's POST_EVAL_TRANSFORM (PROBIT is refused at load).
    enum Transform: Equatable { case none, logistic, softmax, softmaxZero }

    /// How a one-score two-class result becomes two columns (ONNX Runtime's rules): all leaf
    /// weights non-negative gives [1 − s, s] with no transform; mixed weights give
    /// [σ(−s), σ(s)] under LOGISTIC, else [−s, s].
    enum Complement { case oneMinus, logistic, negate }

    enum Step {
        /// Scaler: (x − offset) · scale, per column (constants of one value broadcast).
        case scale(offset: UnsafeMutablePointer<Double>, scale: UnsafeMutablePointer<Double>, width: Int)
        /// y = W x + b, W [outputs][inputs] (LinearClassifier/Regressor).
        case linear(
            weights: UnsafeMutablePointer<Double>, bias: UnsafeMutablePointer<Double>, inputs: Int, outputs: Int)
        /// A flattened tree ensemble's raw sums (averaged when it averages), then `base` added
        /// to the first `baseCount` outputs.
        case trees(Unmanaged<Ensemble.TreesBox>, base: UnsafeMutablePointer<Double>, baseCount: Int)
        /// A run of dense layers (float kernels).
        case network(Unmanaged<NeuralNetwork>)
        case transform(Transform, width: Int)
        /// One score (column 0) into two columns.
        case complement(Complement)
        /// Normalizer: MAX, L1 or L2.
        case normalize(norm: Int, width: Int)
        /// Sub, Div, Mul or Add (op 0...3) against a constant of `count` values (1 broadcasts);
        /// `constantFirst` for c − x and c / x.
        case elementwise(op: Int, constant: UnsafeMutablePointer<Double>, count: Int, width: Int, constantFirst: Bool)
        /// The index of the largest value, first on ties.
        case argmax(width: Int)
    }

    public let features: Int
    public let outputs: Int
    let steps: UnsafeMutablePointer<Step>
    let stepCount: Int
    /// Two rows as wide as the widest step, and a float row for the networks.
    let rows: (UnsafeMutablePointer<Double>, UnsafeMutablePointer<Double>)
    let floats: UnsafeMutablePointer<Float>
    /// Keep the steps' objects alive (the steps hold them unretained).
    let forests: [Ensemble.TreesBox]
    let networks: [NeuralNetwork]
    /// What `bench model` prints: the operators, in order.
    public let description: String

    init(
        steps: [Step], features: Int, outputs: Int, width: Int, forests: [Ensemble.TreesBox], networks: [NeuralNetwork],
        description: String
    ) {
        self.features = features
        self.outputs = outputs
        self.steps = loadTimeCopy(steps)
        stepCount = steps.count
        let widest = max(width, features, outputs, 2)
        rows = (
            loadTimeCopy([Double](repeating: 0, count: widest)), loadTimeCopy([Double](repeating: 0, count: widest))
        )
        floats = loadTimeCopy([Float](repeating: 0, count: 2 * widest))
        self.forests = forests
        self.networks = networks
        self.description = description
    }

    /// One row of `features` doubles in (NaN = missing), `outputs` doubles out.
    public func predict(_ x: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>) {
        var input = x, width = features
        for i in 0..<stepCount {
            let y = i == stepCount - 1 ? out : (i & 1 == 0 ? rows.0 : rows.1)
            switch steps[i] {
            case let .scale(offset, scale, n):
                for j in 0..<n { y[j] = (input[j] - offset[j]) * scale[j] }
                width = n
            case let .linear(w, b, inputs, outputs):
                for o in 0..<outputs {
                    var sum = b[o]
                    let row = w + o * inputs
                    for j in 0..<inputs { sum += row[j] * input[j] }
                    y[o] = sum
                }
                width = outputs
            case let .trees(box, base, baseCount):
                box._withUnsafeGuaranteedRef { $0.model.predict(input, into: y, raw: true) }
                width = box._withUnsafeGuaranteedRef { $0.model.outputs }
                for k in 0..<baseCount { y[k] += base[k] }
            case let .network(net):
                let f = floats, n = width
                net._withUnsafeGuaranteedRef { network in
                    for j in 0..<n { f[j] = Float(input[j]) }
                    network.predict(f, into: f + n)
                    for k in 0..<network.outputs { y[k] = Double(f[n + k]) }
                    width = network.outputs
                }
            case let .transform(kind, n):
                Self.apply(kind, input, y, n)
                width = n
            case let .complement(kind):
                let s = input[0]
                switch kind {
                case .oneMinus: (y[0], y[1]) = (1 - s, s)
                case .logistic: (y[0], y[1]) = (1 / (1 + exp(s)), 1 / (1 + exp(-s)))
                case .negate: (y[0], y[1]) = (-s, s)
                }
                width = 2
            case let .normalize(norm, n):
                var d = 0.0
                switch norm {
                case 0:
                    d = input[0]
                    for j in 1..<n { d = max(d, input[j]) }
                case 1: for j in 0..<n { d += abs(input[j]) }
                default:
                    for j in 0..<n { d += input[j] * input[j] }
                    d = d.squareRoot()
                }
                for j in 0..<n { y[j] = input[j] / d }
                width = n
            case let .elementwise(op, c, count, n, constantFirst):
                for j in 0..<n {
                    let k = count == 1 ? c[0] : c[j]
                    let (a, b) = constantFirst ? (k, input[j]) : (input[j], k)
                    switch op {
                    case 0: y[j] = a - b
                    case 1: y[j] = a / b
                    case 2: y[j] = a * b
                    default: y[j] = a + b
                    }
                }
                width = n
            case let .argmax(n):
                var best = 0
                for j in 1..<n where input[j] > input[best] { best = j }
                y[0] = Double(best)
                width = 1
            }
            input = UnsafePointer(y)
        }
    }

    static func apply(_ kind: Transform, _ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>, _ n: Int) {
        switch kind {
        case .none:
            for j in 0..<n { y[j] = x[j] }
        case .logistic:
            for j in 0..<n { y[j] = 1 / (1 + exp(-x[j])) }
        case .softmax, .softmaxZero:
            var m = x[0]
            for j in 1..<n { m = max(m, x[j]) }
            var sum = 0.0
            for j in 0..<n {
                // SOFTMAX_ZERO leaves (near-)zero scores out of the sum, scaled by exp(−max).
                if kind == .softmaxZero && abs(x[j]) <= 1e-7 {
                    y[j] = x[j] * exp(-m)
                } else {
                    y[j] = exp(x[j] - m)
                    sum += y[j]
                }
            }
            for j in 0..<n { y[j] /= sum }
        }
    }
}
