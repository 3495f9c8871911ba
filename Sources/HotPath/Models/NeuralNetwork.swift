import CSupport
#if canImport(Glibc)
import Glibc
#endif

/// A small feed-forward network with fixed-size float weights, evaluated one row at a time
/// with no allocation. Weights are stored input-major ([in][out]); each dense layer runs the
/// C kernel chosen at load time (AVX2 + FMA when the CPU has them, a portable loop
/// otherwise: `usesAVX2` says which); activations work in place on a preallocated scratch
/// row. Outputs are float, within 1e-5 of ONNX Runtime.
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

    /// A recurrent first stage (ONNX LSTM or GRU, forward, default activations): the input row
    /// is `steps` × `inputs` values, step-major; the last hidden state feeds the dense layers.
    public struct Recurrent: Sendable {
        public enum Kind: Sendable { case lstm, gru(linearBeforeReset: Bool) }
        public var kind: Kind
        public var steps: Int
        public var inputs: Int
        public var hidden: Int
        /// W [gates·H][inputs], R [gates·H][H], B [2·gates·H] (Wb then Rb), as ONNX stores them.
        public var w: [Float], r: [Float], b: [Float]
    }

    public let recurrent: Recurrent?
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
    }
    let steps: UnsafeMutablePointer<Step>
    let stepCount: Int
    let hasRecurrent: Bool

    /// Recurrent scratch: h, c, gates.
    let h: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>, g: UnsafeMutablePointer<Float>

    init(layers: [Layer], recurrent: Recurrent? = nil) {
        self.layers = layers
        self.recurrent = recurrent
        features = recurrent.map { $0.steps * $0.inputs } ?? layers[0].inputs
        let hidden = recurrent?.hidden ?? 1
        h = .allocate(capacity: hidden)
        c = .allocate(capacity: hidden)
        g = .allocate(capacity: 4 * hidden)
        outputs = layers[layers.count - 1].outputs
        // Layers narrower than a vector keep their weights transposed ([out][in]) for the
        // dot-product kernel; the rest stay input-major for the broadcast-FMA kernel.
        transposed = layers.map { $0.outputs < 8 }
        weights = layers.map { l in
            let p = UnsafeMutablePointer<Float>.allocate(capacity: l.weights.count)
            if l.outputs < 8 {
                for i in 0..<l.inputs { for j in 0..<l.outputs { (p + j * l.inputs + i).initialize(to: l.weights[i * l.outputs + j]) } }
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
        var avx2: Int32 = 0
        let portable = getenv("HOTPATH_PORTABLE") != nil
        dense = portable ? hp_dense_f32_portable() : hp_dense_f32_best(&avx2)
        narrow = portable ? hp_dense_narrow_f32_portable() : hp_dense_narrow_f32_best()
        tanhKernel = portable ? hp_tanh_f32_portable() : hp_tanh_f32_best()
        sigmoidKernel = portable ? hp_sigmoid_f32_portable() : hp_sigmoid_f32_best()
        usesAVX2 = avx2 != 0
        stepCount = layers.count
        steps = .allocate(capacity: layers.count)
        for (i, l) in layers.enumerated() {
            (steps + i).initialize(to: Step(weights: weights[i], bias: biases[i], inputs: Int32(l.inputs), outputs: Int32(l.outputs),
                                            transposed: transposed[i], activation: l.activation))
        }
        hasRecurrent = recurrent != nil
    }

    deinit {
        h.deallocate(); c.deallocate(); g.deallocate()
        weights.forEach { $0.deallocate() }
        biases.forEach { $0.deallocate() }
        scratch.0.deallocate()
        scratch.1.deallocate()
        steps.deallocate()
    }

    /// One row of `features` floats in, `outputs` floats out.
    public func predict(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        var input = UnsafePointer(x)
        if hasRecurrent {
            run(recurrent!, x)
            input = UnsafePointer(h)
        }
        for li in 0..<stepCount {
            let step = steps[li]
            let y = li == stepCount - 1 ? out : (li & 1 == 0 ? scratch.0 : scratch.1)
            let n = Int(step.outputs)
            let relu: Int32 = if case .relu = step.activation { 1 } else { 0 }
            (step.transposed ? narrow : dense)(input, step.weights, step.bias, y, step.inputs, step.outputs, relu)
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

    @inline(__always)
    static func sigmoid(_ v: Float) -> Float { 1 / (1 + expf(-v)) }

    /// The recurrence over the row's steps, leaving the last hidden state in `h`.
    func run(_ rnn: Recurrent, _ x: UnsafePointer<Float>) {
        let H = rnn.hidden, F = rnn.inputs
        h.update(repeating: 0, count: H)
        c.update(repeating: 0, count: H)
        rnn.w.withUnsafeBufferPointer { w in rnn.r.withUnsafeBufferPointer { r in rnn.b.withUnsafeBufferPointer { b in
            let gates: Int
            switch rnn.kind { case .lstm: gates = 4; case .gru: gates = 3 }
            for t in 0..<rnn.steps {
                let xt = x + t * F
                switch rnn.kind {
                case .lstm:
                    // gates i, o, f, c: Wx + Rh + Wb + Rb
                    for j in 0..<gates * H {
                        var a = b[j] + b[gates * H + j]
                        for k in 0..<F { a += w[j * F + k] * xt[k] }
                        for k in 0..<H { a += r[j * H + k] * h[k] }
                        g[j] = a
                    }
                    for j in 0..<H {
                        let i = Self.sigmoid(g[j]), o = Self.sigmoid(g[H + j]), f = Self.sigmoid(g[2 * H + j])
                        c[j] = f * c[j] + i * tanhf(g[3 * H + j])
                        h[j] = o * tanhf(c[j])
                    }
                case let .gru(linearBeforeReset):
                    // z and r: Wx + Rh + Wb + Rb
                    for j in 0..<2 * H {
                        var a = b[j] + b[3 * H + j]
                        for k in 0..<F { a += w[j * F + k] * xt[k] }
                        for k in 0..<H { a += r[j * H + k] * h[k] }
                        g[j] = Self.sigmoid(a)
                    }
                    // candidate
                    for j in 0..<H {
                        var wx = b[2 * H + j]
                        for k in 0..<F { wx += w[(2 * H + j) * F + k] * xt[k] }
                        var rh = b[5 * H + j]
                        if linearBeforeReset {
                            for k in 0..<H { rh += r[(2 * H + j) * H + k] * h[k] }
                            g[2 * H + j] = tanhf(wx + g[H + j] * rh)
                        } else {
                            for k in 0..<H { rh += r[(2 * H + j) * H + k] * (g[H + k] * h[k]) }
                            g[2 * H + j] = tanhf(wx + rh)
                        }
                    }
                    for j in 0..<H {
                        let z = g[j]
                        h[j] = (1 - z) * g[2 * H + j] + z * h[j]
                    }
                }
            }
        } } }
    }
}
