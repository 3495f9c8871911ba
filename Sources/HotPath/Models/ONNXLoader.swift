/// Loads ONNX protobuf: the small feed-forward and recurrent networks scikit-learn and PyTorch
/// export (a `NeuralNetwork`), and scikit-learn pipelines of ONNX-ML operators (an
/// `OperatorChain`). Cold path.
///
/// The probability output ("probabilities", else the last output, through a ZipMap to the
/// tensor it maps) is traced back to the graph input through a chain of supported ops, each
/// with one non-constant input:
/// - dense layers: MatMul + Add or Gemm, Relu, LeakyRelu, Tanh, Sigmoid, Softmax; an LSTM or
///   GRU first;
/// - ONNX-ML: Scaler, Normalizer, LinearClassifier, LinearRegressor, TreeEnsembleClassifier,
///   TreeEnsembleRegressor (`OperatorChain`);
/// - Sub, Div, Mul, Add against a constant (broadcast), ArgMax;
/// - Cast / Identity / Reshape / Flatten / Squeeze, which do not change a batch-1 row.
///
/// Anything else on that path is a clear error naming the node. The label path is not
/// evaluated. A graph of dense layers alone is a `NeuralNetwork`; anything else a chain.
public enum ONNXLoader {
    struct Tensor { var dims: [Int]; var floats: [Float] }
    struct Node {
        var name: String; var op: String; var inputs: [String]; var outputs: [String]; var floats: [String: Float];
        var ints: [String: Int]; var strings: [String: String] = [:]
        var floatLists: [String: [Float]] = [:], intLists: [String: [Int]] = [:], stringLists: [String: [String]] = [:]
        /// A tensor attribute (a Constant's value, or a *_as_tensor attribute).
        var tensors: [String: Tensor] = [:]
    }

    /// A network, as `NeuralNetwork`'s tests and benches load it; a pipeline is an error here.
    public static func load(path: String) throws(ModelError) -> NeuralNetwork {
        guard case let .network(n) = try model(path: path) else {
            throw ModelError(file: path, place: "graph", reason: "an ONNX-ML pipeline, not a network")
        }
        return n
    }

    public static func model(path: String) throws(ModelError) -> Model {
        let input: InputFile
        do { input = try InputFile(path: path) } catch { throw ModelError(file: path, place: "", reason: error.reason) }
        do {
            return try parse(input.bytes, file: path)
        } catch let e as ProtobufReader.Malformed {
            throw ModelError(file: path, place: "byte \(e.offset)", reason: "malformed protobuf: \(e.reason)")
        } catch let e as ModelError {
            throw e
        } catch {
            throw ModelError(file: path, place: "", reason: "\(error)")
        }
    }

    static func parse(_ bytes: UnsafeRawBufferPointer, file: String) throws -> Model {
        var model = ProtobufReader(bytes)
        var graphRange: Range<Int>?
        while !model.atEnd {
            let (n, v) = try model.field()
            if n == 7, case let .bytes(r) = v { graphRange = r }
        }
        guard let graphRange else {
            throw ModelError(file: file, place: "", reason: "no graph in the model (is this an ONNX file?)")
        }
        var graph = model.sub(graphRange)
        var nodes: [Node] = []
        var initializers: [String: Tensor] = [:]
        var inputs: [String] = [], outputs: [String] = []
        var inputShapes: [String: [Int]] = [:]
        while !graph.atEnd {
            let (n, v) = try graph.field()
            guard case let .bytes(r) = v else { continue }
            switch n {
            case 1:
                let n = try node(graph.sub(r))
                if n.op == "Constant", let t = n.tensors["value"], n.outputs.count == 1 {
                    initializers[n.outputs[0]] = t
                } else {
                    nodes.append(n)
                }
            case 5: let (name, t) = try tensor(graph.sub(r)); initializers[name] = t
            case 11:
                let (name, shape) = try valueInfo(graph.sub(r))
                inputs.append(name)
                inputShapes[name] = shape
            case 12: outputs.append(try valueName(graph.sub(r)))
            default: break
            }
        }
        let graphInputs = inputs.filter { initializers[$0] == nil }
        guard graphInputs.count == 1 else {
            throw ModelError(
                file: file, place: "graph", reason: "\(graphInputs.count) graph inputs; one feature row is expected")
        }
        // The probability output: "probabilities", else the last output; through a ZipMap (a
        // sequence of maps) to the tensor it maps.
        guard var target = outputs.first(where: { $0 == "probabilities" }) ?? outputs.last else {
            throw ModelError(file: file, place: "graph", reason: "the graph has no outputs")
        }
        var producer: [String: Int] = [:]
        for (i, n) in nodes.enumerated() { for o in n.outputs { producer[o] = i } }
        if let i = producer[target], nodes[i].op == "ZipMap" {
            guard let mapped = nodes[i].inputs.first else {
                throw ModelError(file: file, place: "node \"\(nodes[i].name)\" (ZipMap)", reason: "has no input")
            }
            target = mapped
        }
        // Walk back from the output to the input.
        var chain: [Node] = []
        var taken: [Int] = []  // which of each chain node's outputs the path takes
        var current = target
        while current != graphInputs[0] {
            guard let i = producer[current] else {
                throw ModelError(
                    file: file, place: "graph", reason: "tensor \"\(current)\" has no producer on the path to the input"
                )
            }
            if nodes[i].op.hasSuffix("Classifier"), nodes[i].outputs.first == current {
                throw ModelError(
                    file: file, place: "node \"\(nodes[i].name)\" (\(nodes[i].op))",
                    reason: "the path to the output takes the label; only the scores are evaluated")
            }
            chain.append(nodes[i])
            taken.append(nodes[i].outputs.firstIndex(of: current) ?? 0)
            let dynamic = nodes[i].inputs.filter { initializers[$0] == nil && !$0.isEmpty }
            guard dynamic.count == 1 else {
                throw ModelError(
                    file: file, place: "node \"\(nodes[i].name)\" (\(nodes[i].op))",
                    reason: "\(dynamic.count) non-constant inputs; a chain of layers is expected")
            }
            current = dynamic[0]
        }
        chain.reverse()
        taken.reverse()
        var layers: [NeuralNetwork.Layer] = []
        var recurrent: [NeuralNetwork.Recurrent] = []
        // A recurrent layer whose whole sequence (Y) the path takes: a stacked layer must follow.
        var sequenceOpen = false
        let inputWidth = inputShapes[graphInputs[0]].flatMap { $0.count >= 2 && $0.last! > 0 ? $0.last! : nil }
        var width = -1
        var pipeline = Pipeline(file: file, features: inputWidth)
        for (k, node) in chain.enumerated() {
            let place = "node \"\(node.name)\" (\(node.op))"
            let passive = ["Cast", "Identity", "Reshape", "Flatten", "Squeeze"].contains(node.op)
            if sequenceOpen && !passive && node.op != "LSTM" && node.op != "GRU" {
                throw ModelError(
                    file: file, place: place,
                    reason:
                        "takes a recurrent layer's whole sequence (Y); only its last hidden state (Y_h) feeds other layers"
                )
            }
            func constant(_ index: Int) throws -> Tensor {
                guard index < node.inputs.count, let t = initializers[node.inputs[index]] else {
                    throw ModelError(file: file, place: place, reason: "input \(index) is not a constant")
                }
                return t
            }
            switch node.op {
            case "Cast", "Identity", "Reshape", "Flatten", "Squeeze":
                continue
            case "Scaler", "Normalizer", "LinearClassifier", "LinearRegressor", "TreeEnsembleClassifier",
                "TreeEnsembleRegressor", "ArgMax", "Sub", "Div", "Mul":
                try pipeline.flush(&layers, &recurrent)
                try pipeline.add(node, place: place, initializers: initializers)
                width = pipeline.width
            case "Add" where layers.last?.activation != .identity:
                // Against a constant, not a dense layer's bias.
                try pipeline.flush(&layers, &recurrent)
                try pipeline.add(node, place: place, initializers: initializers)
                width = pipeline.width
            case "LSTM", "GRU":
                guard layers.isEmpty, pipeline.steps.isEmpty, recurrent.isEmpty || sequenceOpen else {
                    throw ModelError(
                        file: file, place: place,
                        reason:
                            "recurrent layers must come first, each stacked on the whole sequence (Y) of the one before"
                    )
                }
                guard taken[k] < 2 else {
                    throw ModelError(file: file, place: place, reason: "the path takes the cell state Y_c")
                }
                sequenceOpen = taken[k] == 0
                guard (node.strings["direction"] ?? "forward") == "forward" else {
                    throw ModelError(
                        file: file, place: place,
                        reason: "direction \(node.strings["direction"]!) is not supported (forward only)")
                }
                guard node.stringLists["activations"] == nil, node.floats["clip"] == nil,
                    (node.ints["input_forget"] ?? 0) == 0
                else {
                    throw ModelError(
                        file: file, place: place, reason: "custom activations, clip and input_forget are not supported")
                }
                guard let hidden = node.ints["hidden_size"], hidden > 0 else {
                    throw ModelError(file: file, place: place, reason: "no hidden_size")
                }
                guard let shape = inputShapes[graphInputs[0]], shape.count == 3, shape[1] == 1, shape[0] > 0,
                    shape[2] > 0
                else {
                    throw ModelError(
                        file: file, place: "graph input",
                        reason: "a recurrent model needs a fixed input shape [steps, 1, features]")
                }
                let gates = node.op == "LSTM" ? 4 : 3
                let inputs = recurrent.last?.hidden ?? shape[2]
                let w = try constant(1), r = try constant(2)
                let b =
                    node.inputs.count > 3 && !node.inputs[3].isEmpty
                    ? try constant(3).floats : [Float](repeating: 0, count: 2 * gates * hidden)
                guard w.floats.count == gates * hidden * inputs, r.floats.count == gates * hidden * hidden,
                    b.count == 2 * gates * hidden
                else {
                    throw ModelError(
                        file: file, place: place,
                        reason: "weights do not fit hidden_size \(hidden) and \(inputs) inputs")
                }
                // sequence_lens must be absent; initial states and peepholes absent or zero (as
                // PyTorch writes them).
                for (i, name) in node.inputs.enumerated() where i >= 4 && !name.isEmpty {
                    guard i > 4, let t = initializers[name], t.floats.allSatisfy({ $0 == 0 }) else {
                        throw ModelError(
                            file: file, place: place,
                            reason: "sequence_lens and non-zero initial states or peepholes are not supported")
                    }
                }
                recurrent.append(
                    .init(
                        kind: node.op == "LSTM"
                            ? .lstm : .gru(linearBeforeReset: (node.ints["linear_before_reset"] ?? 0) != 0),
                        steps: shape[0], inputs: inputs, hidden: hidden, w: w.floats, r: r.floats, b: b))
                width = hidden
            case "MatMul":
                let w = try constant(1)
                guard w.dims.count == 2, w.floats.count == w.dims[0] * w.dims[1] else {
                    throw ModelError(
                        file: file, place: place, reason: "weights of \(w.floats.count) values for dimensions \(w.dims)"
                    )
                }
                if width >= 0 && width != w.dims[0] {
                    throw ModelError(
                        file: file, place: place, reason: "takes \(w.dims[0]) inputs after a layer of \(width)")
                }
                layers.append(
                    .init(
                        inputs: w.dims[0], outputs: w.dims[1], weights: w.floats,
                        bias: [Float](repeating: 0, count: w.dims[1]), activation: .identity))
                width = w.dims[1]
            case "Add":
                let b = try constant(1)
                guard var last = layers.popLast(), last.activation == .identity, b.floats.count == last.outputs else {
                    throw ModelError(
                        file: file, place: place, reason: "an Add must follow a MatMul with a bias of its width")
                }
                for j in 0..<last.outputs { last.bias[j] += b.floats[j] }
                layers.append(last)
            case "Gemm":
                var w = try constant(1)
                let alpha = node.floats["alpha"] ?? 1, beta = node.floats["beta"] ?? 1
                guard (node.ints["transA"] ?? 0) == 0, w.dims.count == 2, w.floats.count == w.dims[0] * w.dims[1] else {
                    throw ModelError(
                        file: file, place: place,
                        reason: "transA, or weights of \(w.floats.count) values for dimensions \(w.dims)")
                }
                if (node.ints["transB"] ?? 0) != 0 {  // stored [out, in]: transpose to [in, out]
                    var t = [Float](repeating: 0, count: w.floats.count)
                    for o in 0..<w.dims[0] {
                        for i in 0..<w.dims[1] { t[i * w.dims[0] + o] = w.floats[o * w.dims[1] + i] }
                    }
                    w = Tensor(dims: [w.dims[1], w.dims[0]], floats: t)
                }
                let bias = node.inputs.count > 2 ? try constant(2).floats : [Float](repeating: 0, count: w.dims[1])
                guard bias.count == w.dims[1] else {
                    throw ModelError(file: file, place: place, reason: "bias of \(bias.count) for \(w.dims[1]) outputs")
                }
                layers.append(
                    .init(
                        inputs: w.dims[0], outputs: w.dims[1], weights: w.floats.map { $0 * alpha },
                        bias: bias.map { $0 * beta }, activation: .identity))
                width = w.dims[1]
            case "Relu", "Tanh", "Sigmoid", "LeakyRelu", "Softmax":
                guard var last = layers.popLast(), last.activation == .identity else {
                    throw ModelError(file: file, place: place, reason: "an activation must follow a dense layer")
                }
                switch node.op {
                case "Relu": last.activation = .relu
                case "Tanh": last.activation = .tanh
                case "Sigmoid": last.activation = .sigmoid
                case "LeakyRelu": last.activation = .leakyRelu(node.floats["alpha"] ?? 0.01)
                default: last.activation = .softmax
                }
                layers.append(last)
            default:
                throw ModelError(
                    file: file, place: place,
                    reason:
                        "op \(node.op) is not supported on the output path (MatMul, Add, Gemm, Relu, LeakyRelu, Tanh, Sigmoid, Softmax, Cast, Identity, Reshape)"
                )
            }
        }
        if sequenceOpen {
            throw ModelError(
                file: file, place: "graph",
                reason: "the output is a recurrent layer's whole sequence (Y), not a prediction")
        }
        if pipeline.steps.isEmpty {
            guard !layers.isEmpty else {
                throw ModelError(file: file, place: "graph", reason: "no dense layer between input and output")
            }
            return .network(NeuralNetwork(layers: layers, recurrent: recurrent))
        }
        try pipeline.flush(&layers, &recurrent)
        return .chain(try pipeline.build())
    }

    static func valueName(_ r: ProtobufReader) throws -> String { try valueInfo(r).0 }

    /// A ValueInfoProto's name and, for a tensor with known dimensions, its shape (-1 for a
    /// symbolic dimension): type (2) → tensor_type (1) → shape (2) → dim (1) → dim_value (1).
    static func valueInfo(_ r: ProtobufReader) throws -> (String, [Int]) {
        var p = r
        var name = "", shape: [Int] = []
        while !p.atEnd {
            let (n, v) = try p.field()
            guard case let .bytes(range) = v else { continue }
            if n == 1 { name = p.string(range) }
            if n == 2 {
                var type = p.sub(range)
                while !type.atEnd {
                    let (tn, tv) = try type.field()
                    guard tn == 1, case let .bytes(tr) = tv else { continue }
                    var tensor = type.sub(tr)
                    while !tensor.atEnd {
                        let (sn, sv) = try tensor.field()
                        guard sn == 2, case let .bytes(sr) = sv else { continue }
                        var dims = tensor.sub(sr)
                        while !dims.atEnd {
                            let (dn, dv) = try dims.field()
                            guard dn == 1, case let .bytes(dr) = dv else { continue }
                            var dim = dims.sub(dr)
                            var value = -1
                            while !dim.atEnd {
                                let (vn, vv) = try dim.field()
                                if vn == 1, case let .varint(x) = vv { value = Int(Int64(bitPattern: x)) }
                            }
                            shape.append(value)
                        }
                    }
                }
            }
        }
        return (name, shape)
    }

    static func node(_ r: ProtobufReader) throws -> Node {
        var p = r
        var node = Node(name: "", op: "", inputs: [], outputs: [], floats: [:], ints: [:])
        while !p.atEnd {
            let (n, v) = try p.field()
            guard case let .bytes(range) = v else { continue }
            switch n {
            case 1: node.inputs.append(p.string(range))
            case 2: node.outputs.append(p.string(range))
            case 3: node.name = p.string(range)
            case 4: node.op = p.string(range)
            case 5:
                var a = p.sub(range)
                var name = "", f: Float?, i: Int?, str: String?, t: Tensor?
                var floats: [Float] = [], ints: [Int] = [], strings: [String] = []
                while !a.atEnd {
                    let (an, av) = try a.field()
                    switch (an, av) {
                    case let (1, .bytes(s)): name = a.string(s)
                    case let (2, .fixed32(bits)): f = Float(bitPattern: bits)
                    case let (3, .varint(x)): i = Int(Int64(bitPattern: x))
                    case let (4, .bytes(sr)): str = a.string(sr)
                    case let (5, .bytes(tr)): t = try tensor(a.sub(tr)).1
                    case let (7, .fixed32(bits)): floats.append(Float(bitPattern: bits))
                    case let (7, .bytes(packed)):
                        for o in stride(from: packed.lowerBound, to: packed.upperBound - 3, by: 4) {
                            floats.append(Float(bitPattern: a.bytes.loadUnaligned(fromByteOffset: o, as: UInt32.self)))
                        }
                    case let (8, .varint(x)): ints.append(Int(Int64(bitPattern: x)))
                    case let (8, .bytes(packed)):
                        var q = a.sub(packed)
                        while !q.atEnd { ints.append(Int(Int64(bitPattern: try q.varint()))) }
                    case let (9, .bytes(sr)): strings.append(a.string(sr))
                    default: break
                    }
                }
                if let f { node.floats[name] = f }
                if let i { node.ints[name] = i }
                if let str { node.strings[name] = str }
                if let t { node.tensors[name] = t }
                if !floats.isEmpty { node.floatLists[name] = floats }
                if !ints.isEmpty { node.intLists[name] = ints }
                if !strings.isEmpty { node.stringLists[name] = strings }
            default: break
            }
        }
        return node
    }

    static func tensor(_ r: ProtobufReader) throws -> (String, Tensor) {
        var p = r
        var name = "", dims: [Int] = [], floats: [Float] = [], raw: Range<Int>?, type = 1
        func dim(_ d: UInt64) throws -> Int {
            guard d <= 1 << 31 else {
                throw ProtobufReader.Malformed(offset: p.at, reason: "tensor \(name) has a dimension of \(d)")
            }
            return Int(d)
        }
        while !p.atEnd {
            let (n, v) = try p.field()
            switch (n, v) {
            case let (1, .varint(d)): dims.append(try dim(d))
            case let (1, .bytes(packed)):
                var q = p.sub(packed)
                while !q.atEnd { dims.append(try dim(try q.varint())) }
            case let (2, .varint(t)): type = Int(truncatingIfNeeded: t)
            case let (4, .bytes(packed)):
                for o in stride(from: packed.lowerBound, to: packed.upperBound - 3, by: 4) {
                    floats.append(Float(bitPattern: p.bytes.loadUnaligned(fromByteOffset: o, as: UInt32.self)))
                }
            case let (4, .fixed32(bits)): floats.append(Float(bitPattern: bits))
            case let (8, .bytes(s)): name = p.string(s)
            case let (9, .bytes(r)): raw = r
            default: break
            }
        }
        // Only float tensors carry weights; others (e.g. a Reshape's int64 shape) load empty,
        // and a layer that needs them as weights reports the mismatch.
        if let raw, type == 1 {
            for o in stride(from: raw.lowerBound, to: raw.upperBound - 3, by: 4) {
                floats.append(Float(bitPattern: p.bytes.loadUnaligned(fromByteOffset: o, as: UInt32.self)))
            }
        }
        return (name, Tensor(dims: dims, floats: floats))
    }
}
