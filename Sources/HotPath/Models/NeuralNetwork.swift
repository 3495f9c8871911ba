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

    public let layers: [Layer]
    public let features: Int
    public let outputs: Int
    let weights: [UnsafeMutablePointer<Float>]
    let biases: [UnsafeMutablePointer<Float>]
    /// Two scratch rows, as wide as the widest layer.
    let scratch: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)
    let dense: hp_dense_f32_fn
    public let usesAVX2: Bool

    init(layers: [Layer]) {
        self.layers = layers
        features = layers[0].inputs
        outputs = layers[layers.count - 1].outputs
        weights = layers.map { l in
            let p = UnsafeMutablePointer<Float>.allocate(capacity: l.weights.count)
            p.initialize(from: l.weights, count: l.weights.count)
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
        dense = getenv("HOTPATH_PORTABLE") != nil ? hp_dense_f32_portable() : hp_dense_f32_best(&avx2)
        usesAVX2 = avx2 != 0
    }

    deinit {
        weights.forEach { $0.deallocate() }
        biases.forEach { $0.deallocate() }
        scratch.0.deallocate()
        scratch.1.deallocate()
    }

    /// One row of `features` floats in, `outputs` floats out.
    public func predict(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        var input = UnsafePointer(x)
        for (li, layer) in layers.enumerated() {
            let y = li == layers.count - 1 ? out : (li & 1 == 0 ? scratch.0 : scratch.1)
            let n = layer.outputs
            dense(input, weights[li], biases[li], y, Int32(layer.inputs), Int32(n))
            switch layer.activation {
            case .identity: break
            case .relu: for j in 0..<n { y[j] = max(y[j], 0) }
            case let .leakyRelu(a): for j in 0..<n { y[j] = y[j] < 0 ? a * y[j] : y[j] }
            case .tanh: for j in 0..<n { y[j] = tanhf(y[j]) }
            case .sigmoid: for j in 0..<n { y[j] = 1 / (1 + expf(-y[j])) }
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
}
