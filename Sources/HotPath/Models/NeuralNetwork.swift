import CSupport

#if canImport(Glibc)
import Glibc
#endif

/// A small feed-forward network with fixed-size float weights, evaluated one row at a time
/// with no allocation. Weights are stored input-major ([in][out]); each dense layer runs the
/// C kernel chosen at load time (AVX2 + FMA when the CPU has them, a portable loop
/// otherwise: `usesAVX2` says which; `HOTPATH_PORTABLE=1` forces the portable one); ReLU is
/// applied by the kernel as it stores, tanh and sigmoid eight at a time in place on a
/// preallocated scratch row. A recurrent first stage — one LSTM/GRU layer or several stacked,
/// each reading the whole sequence of the one before — runs on the same kernels
/// (`RecurrentPlan`). Outputs are float, within 1e-5 of ONNX Runtime.
public final class NeuralNetwork: @unchecked Sendable {
    public enum Activation: Equatable, Sendable {
        case identity, relu, tanh, sigmoid, softmax
        case leakyRelu(Float)
    }

    public struct Layer: Sendable {
        public var inputs: Int
        public var outputs: Int
        public var weights: [Float]
        public var bias: [Float]
        public var activation: Activation
    }

    /// A recurrent layer (ONNX LSTM or GRU, forward, default activations): the input row is
    /// `steps` × `inputs` values, step-major; a stacked layer's inputs are the hidden states of
    /// the layer before at every step; the last layer's last hidden state feeds the dense layers.
    public struct Recurrent: Sendable {
        public enum Kind: Sendable { case lstm, gru(linearBeforeReset: Bool) }
        public var kind: Kind
        public var steps: Int
        public var inputs: Int
        public var hidden: Int
        /// W [gates·H][inputs], R [gates·H][H], B [2·gates·H] (Wb then Rb), as ONNX stores them.
        public var w: [Float], r: [Float], b: [Float]
    }

    public let recurrent: [Recurrent]
    public let layers: [Layer]
    public let features: Int
    public let outputs: Int
    let weights: [UnsafeMutablePointer<Float>]
    let biases: [UnsafeMutablePointer<Float>]
    /// Two scratch rows, as wide as the widest layer.
    let scratch: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)
    let dense: hp_dense_f32_fn
    let narrow: hp_dense_f32_fn
    let tanhKernel: hp_activation_f32_fn
    let sigmoidKernel: hp_activation_f32_fn
    /// Per layer: true when it runs the narrow kernel on transposed weights (fewer than 8 outputs).
    let transposed: [Bool]
    public let usesAVX2: Bool

    /// The dense layers as plain values (pointers, sizes, activation), so `predict` walks them
    /// without touching the `layers` array: reading a `Layer` out of it retains its weight
    /// arrays (ARC traffic on the hot path, measured with perf).
    struct Step {
        var weights: UnsafeMutablePointer<Float>
        var bias: UnsafeMutablePointer<Float>
        var inputs: Int32
        var outputs: Int32
        var transposed: Bool
        var activation: Activation
        /// 1 when the kernel applies ReLU as it stores (`activation == .relu`), as it takes it.
        var relu: Int32
    }
    let steps: UnsafeMutablePointer<Step>
    let stepCount: Int

    /// Recurrent scratch (as wide as the widest layer): the hidden state h, the LSTM cell c,
    /// the gates, and two rows of H for a gate's product (GRU) or tanh(c) (LSTM). `run` calls
    /// them h, c, g, t and u. `sequence` holds two rows of hidden states at every step: stacked
    /// layers write one while they read the other.
    let hiddenState: UnsafeMutablePointer<Float>, cellState: UnsafeMutablePointer<Float>,
        gates: UnsafeMutablePointer<Float>, sequence: UnsafeMutablePointer<Float>
    let candidate: UnsafeMutablePointer<Float>, gatedHidden: UnsafeMutablePointer<Float>

    /// The recurrence's weights for the dense kernel, input-major, built at load: a step is
    /// x·W and h·R as kernel calls over every gate at once, then the gates' activations eight
    /// at a time. LSTM: `w` [F][4H], `r` [H][4H], `bias` Wb + Rb. GRU: `w` [F][3H], `r` [H][2H]
    /// (z and r), `rCandidate` [H][H] apart, because it multiplies r ⊙ h (or its product is
    /// gated by r), `bias` Wb + Rb for z and r and Wb alone for the candidate, whose Rb is
    /// `rBias` (it sits inside the gating).
    struct RecurrentPlan {
        var steps: Int, inputs: Int, hidden: Int
        var lstm: Bool, linearBeforeReset: Bool
        var w: UnsafeMutablePointer<Float>
        var r: UnsafeMutablePointer<Float>
        var rCandidate: UnsafeMutablePointer<Float>
        var bias: UnsafeMutablePointer<Float>
        var rBias: UnsafeMutablePointer<Float>

        init(_ rnn: Recurrent) {
            let H = rnn.hidden, F = rnn.inputs
            let gates: Int
            (steps, inputs, hidden) = (rnn.steps, F, H)
            switch rnn.kind {
            case .lstm: (gates, lstm, linearBeforeReset) = (4, true, false)
            case let .gru(lbr): (gates, lstm, linearBeforeReset) = (3, false, lbr)
            }
            // ONNX stores W [gates·H][F] and R [gates·H][H]; the kernel wants [in][out].
            func transpose(_ m: [Float], rows: Range<Int>, inputs: Int) -> UnsafeMutablePointer<Float> {
                let p = UnsafeMutablePointer<Float>.allocate(capacity: max(1, rows.count * inputs))
                for (o, row) in rows.enumerated() {
                    for i in 0..<inputs { (p + i * rows.count + o).initialize(to: m[row * inputs + i]) }
                }
                return p
            }
            w = transpose(rnn.w, rows: 0..<gates * H, inputs: F)
            var bias = (0..<gates * H).map { rnn.b[$0] + rnn.b[gates * H + $0] }
            if case .gru = rnn.kind {
                r = transpose(rnn.r, rows: 0..<2 * H, inputs: H)
                rCandidate = transpose(rnn.r, rows: 2 * H..<3 * H, inputs: H)
                for j in 2 * H..<3 * H { bias[j] = rnn.b[j] }
                rBias = loadTimeCopy(Array(rnn.b[5 * H..<6 * H]))
            } else {
                r = transpose(rnn.r, rows: 0..<gates * H, inputs: H)
                rCandidate = .allocate(capacity: 1)
                rBias = .allocate(capacity: 1)
            }
            self.bias = loadTimeCopy(bias)
        }
    }
    /// Held by pointer: `predict` reads them in place instead of copying a plan each call.
    let recurrentPlans: UnsafeMutablePointer<RecurrentPlan>
    let recurrentCount: Int
    let sequenceStride: Int

    init(layers: [Layer], recurrent: [Recurrent] = []) {
        self.layers = layers
        self.recurrent = recurrent
        features = recurrent.first.map { $0.steps * $0.inputs } ?? layers[0].inputs
        let hidden = recurrent.map(\.hidden).max() ?? 1
        hiddenState = .allocate(capacity: hidden)
        cellState = .allocate(capacity: hidden)
        gates = .allocate(capacity: 4 * hidden)
        candidate = .allocate(capacity: hidden)
        gatedHidden = .allocate(capacity: hidden)
        sequenceStride = (recurrent.first?.steps ?? 1) * hidden
        sequence = .allocate(capacity: 2 * sequenceStride)
        recurrentPlans = loadTimeCopy(recurrent.map(RecurrentPlan.init))
        recurrentCount = recurrent.count
        outputs = layers[layers.count - 1].outputs
        // Layers narrower than a vector keep their weights transposed ([out][in]) for the
        // dot-product kernel; the rest stay input-major for the broadcast-FMA kernel.
        transposed = layers.map { $0.outputs < 8 }
        weights = layers.map { l in
            let p = UnsafeMutablePointer<Float>.allocate(capacity: l.weights.count)
            if l.outputs < 8 {
                for i in 0..<l.inputs {
                    for j in 0..<l.outputs { (p + j * l.inputs + i).initialize(to: l.weights[i * l.outputs + j]) }
                }
            } else {
                p.initialize(from: l.weights, count: l.weights.count)
            }
            return p
        }
        biases = layers.map { l in
            let p = UnsafeMutablePointer<Float>.allocate(capacity: l.bias.count)
            p.initialize(from: l.bias, count: l.bias.count)
            return p
        }
        let widest = layers.map { max($0.inputs, $0.outputs) }.max()!
        scratch = (.allocate(capacity: widest), .allocate(capacity: widest))
        let kernels = hp_nn_kernels_select(hp_portable_forced())
        (dense, narrow, tanhKernel, sigmoidKernel) = (kernels.dense, kernels.narrow, kernels.tanh, kernels.sigmoid)
        usesAVX2 = kernels.avx2 != 0
        stepCount = layers.count
        steps = .allocate(capacity: layers.count)
        for (i, l) in layers.enumerated() {
            (steps + i).initialize(
                to: Step(
                    weights: weights[i], bias: biases[i], inputs: Int32(l.inputs), outputs: Int32(l.outputs),
                    transposed: transposed[i], activation: l.activation, relu: l.activation == .relu ? 1 : 0))
        }
    }

    deinit {
        for p in [hiddenState, cellState, gates, candidate, gatedHidden, sequence] { p.deallocate() }
        for i in 0..<recurrentCount {
            let p = recurrentPlans[i]
            for m in [p.w, p.r, p.rCandidate, p.bias, p.rBias] { m.deallocate() }
        }
        recurrentPlans.deallocate()
        weights.forEach { $0.deallocate() }
        biases.forEach { $0.deallocate() }
        scratch.0.deallocate()
        scratch.1.deallocate()
        steps.deallocate()
    }

    /// One row of `features` floats in, `outputs` floats out.
    public func predict(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        var input = UnsafePointer(x)
        if recurrentCount > 0 {
            // Each stacked layer reads the sequence the one before left in one half of
            // `sequence` and writes its own to the other.
            for i in 0..<recurrentCount {
                let from = i == 0 ? x : UnsafePointer(sequence + ((i - 1) & 1) * sequenceStride)
                run(recurrentPlans[i], from, into: i < recurrentCount - 1 ? sequence + (i & 1) * sequenceStride : nil)
            }
            input = UnsafePointer(hiddenState)
        }
        for li in 0..<stepCount {
            let step = steps[li]
            let y = li == stepCount - 1 ? out : (li & 1 == 0 ? scratch.0 : scratch.1)
            let n = Int(step.outputs)
            (step.transposed ? narrow : dense)(input, step.weights, step.bias, y, step.inputs, step.outputs, step.relu)
            switch step.activation {
            case .identity, .relu: break  // ReLU: applied by the kernel as it stores
            case let .leakyRelu(a): for j in 0..<n { y[j] = y[j] < 0 ? a * y[j] : y[j] }
            case .tanh: tanhKernel(y, Int32(n))
            case .sigmoid: sigmoidKernel(y, Int32(n))
            case .softmax:
                var m = y[0]
                for j in 1..<n { m = max(m, y[j]) }
                var sum: Float = 0
                for j in 0..<n { y[j] = expf(y[j] - m); sum += y[j] }
                for j in 0..<n { y[j] /= sum }
            }
            input = UnsafePointer(y)
        }
    }

    /// The recurrence over the row's steps, leaving the last hidden state in `hiddenState`,
    /// and every step's in `states` when given (for the layer stacked on this one).
    func run(_ p: RecurrentPlan, _ x: UnsafePointer<Float>, into states: UnsafeMutablePointer<Float>?) {
        let H = Int32(p.hidden), F = Int32(p.inputs), n = p.hidden
        let h = hiddenState, c = cellState, g = gates, t = candidate, u = gatedHidden
        h.update(repeating: 0, count: n)
        c.update(repeating: 0, count: n)
        for step in 0..<p.steps {
            let xt = x + step * p.inputs
            if p.lstm {
                // gates i, o, f, c = (Wb + Rb) + x·W + h·R
                dense(xt, p.w, p.bias, g, F, 4 * H, 0)
                dense(h, p.r, g, g, H, 4 * H, 0)
                sigmoidKernel(g, 3 * H)
                tanhKernel(g + 3 * n, H)
                for j in 0..<n { c[j] = g[2 * n + j] * c[j] + g[j] * g[3 * n + j]; t[j] = c[j] }
                tanhKernel(t, H)
                for j in 0..<n { h[j] = g[n + j] * t[j] }
            } else {
                // z, r = σ((Wb + Rb) + x·W + h·R); the candidate's x·W + Wb comes with them
                dense(xt, p.w, p.bias, g, F, 3 * H, 0)
                dense(h, p.r, g, g, H, 2 * H, 0)
                sigmoidKernel(g, 2 * H)
                if p.linearBeforeReset {
                    // tanh(x·W + Wb + r ⊙ (h·R + Rb))
                    dense(h, p.rCandidate, p.rBias, t, H, H, 0)
                    for j in 0..<n { t[j] = g[2 * n + j] + g[n + j] * t[j] }
                } else {
                    // tanh(x·W + Wb + (r ⊙ h)·R + Rb)
                    for j in 0..<n { u[j] = g[n + j] * h[j] }
                    dense(u, p.rCandidate, p.rBias, t, H, H, 0)
                    for j in 0..<n { t[j] = g[2 * n + j] + t[j] }
                }
                tanhKernel(t, H)
                for j in 0..<n { h[j] = (1 - g[j]) * t[j] + g[j] * h[j] }
            }
            if let states { (states + step * n).update(from: h, count: n) }
        }
    }
}
