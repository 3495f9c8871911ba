/// A loaded model of any supported kind, evaluated one row at a time.
public enum Model: Sendable {
    case trees(TreeEnsemble)
    case network(NeuralNetwork)
    /// A scikit-learn pipeline of ONNX-ML operators.
    case chain(OperatorChain)
    /// A linear model that learns as the engine runs (`[online]`).
    case online(OnlineLinear)

    public var features: Int {
        switch self {
        case let .trees(t): return t.features;
        case let .network(n): return n.features
        case let .chain(c): return c.features
        case let .online(o): return o.config.features
        }
    }

    public var outputs: Int {
        switch self {
        case let .trees(t): return t.outputs;
        case let .network(n): return n.outputs
        case let .chain(c): return c.outputs
        case let .online(o): return o.outputs
        }
    }

    /// A recurrent network over `rowWidth` features per step takes a window of `steps` rows
    /// (its input is [steps, rowWidth]); nil when the model takes one row of `rowWidth`.
    public func windowSteps(rowWidth: Int) -> Int? {
        guard case let .network(n) = self, let first = n.recurrent.first, first.inputs == rowWidth,
            n.features != rowWidth
        else { return nil }
        return first.steps
    }

    /// How many of `predict`'s values are the prediction (1 for a class index).
    public func predictionWidth(raw: Bool = false) -> Int {
        switch self {
        case let .trees(t): return t.predictionWidth(raw: raw);
        case let .network(n): return n.outputs
        case let .chain(c): return c.outputs
        case let .online(o): return o.outputs
        }
    }

    /// The evaluator `predict` runs (it depends on the model and the CPU).
    public var evaluator: String {
        switch self {
        case let .trees(t): return t.evaluator
        case let .network(n): return n.usesAVX2 ? "dense layers, AVX2+FMA" : "dense layers, portable"
        case let .chain(c): return "ONNX-ML chain: " + c.description
        case let .online(o): return "online \(o.config.kind.rawValue) (River's SGD)"
        }
    }

    /// The feature names recorded in the model file, if any (ONNX networks record none).
    public var featureNames: [String]? {
        switch self {
        case let .trees(t): return t.featureNames;
        case .network, .chain, .online: return nil
        }
    }

    /// Double row in, double outputs out (a network's float row goes through `scratch`,
    /// which must hold `features + outputs` floats).
    public func predict(
        _ x: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>, raw: Bool = false,
        scratch: UnsafeMutablePointer<Float>
    ) {
        switch self {
        case let .trees(t):
            t.predict(x, into: out, raw: raw)
        case let .network(n):
            for i in 0..<n.features { scratch[i] = Float(x[i]) }
            n.predict(scratch, into: scratch + n.features)
            for k in 0..<n.outputs { out[k] = Double(scratch[n.features + k]) }
        case let .chain(c):
            c.predict(x, into: out)
        case let .online(o):
            o.predict(x, into: out)
        }
    }
}

/// Loads a model by its file's form: LightGBM text (`tree` on the first line), XGBoost JSON
/// (`{`), or ONNX (`.onnx`, protobuf). Cold path.
public enum ModelFile {
    public static func load(path: String) throws(ModelError) -> Model {
        guard let head = SystemFile.read(path, limit: 64) else {
            throw ModelError(file: path, place: "", reason: "cannot read the file")
        }
        let start = head.trimmingSpaces()
        if start.hasPrefix("tree") { return .trees(try LightGBMLoader.load(path: path)) }
        if start.hasPrefix("{") { return .trees(try XGBoostLoader.load(path: path)) }
        if path.hasSuffix(".onnx") { return try ONNXLoader.model(path: path) }
        throw ModelError(
            file: path, place: "",
            reason: "not a LightGBM text model (first line \"tree\"), an XGBoost JSON model nor an .onnx file")
    }
}

/// Input rows for `predict` and `bench model`: raw little-endian float64 (`.f64`) or float32
/// (`.f32`) row-major arrays, or CSV (a header line is skipped when its first field is not a
/// number; empty cells and "nan" are missing). Cold path.
public enum ModelInput {
    public static func rows(path: String, features: Int?) throws(ModelError) -> (values: [Double], features: Int) {
        func fail(_ place: String, _ reason: String) -> ModelError {
            ModelError(file: path, place: place, reason: reason)
        }
        if path.hasSuffix(".f64") || path.hasSuffix(".f32") {
            guard let features, features > 0 else {
                throw fail("", "raw \(path.hasSuffix(".f64") ? "float64" : "float32") input needs --features N")
            }
            let input: InputFile
            do { input = try InputFile(path: path) } catch { throw fail("", error.reason) }
            let width = path.hasSuffix(".f64") ? 8 : 4
            guard input.bytes.count % (width * features) == 0 else {
                throw fail(
                    "",
                    "\(input.bytes.count) bytes is not a whole number of rows of \(features) \(width * 8)-bit values")
            }
            let n = input.bytes.count / width
            let p = input.bytes.baseAddress!
            var values = [Double](repeating: 0, count: n)
            for i in 0..<n {
                values[i] =
                    width == 8
                    ? p.loadUnaligned(fromByteOffset: i * 8, as: Double.self)
                    : Double(p.loadUnaligned(fromByteOffset: i * 4, as: Float.self))
            }
            return (values, features)
        }
        guard let text = SystemFile.read(path, limit: 1 << 30) else { throw fail("", "cannot read the file") }
        var values: [Double] = []
        var width = features
        for (i, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let trimmed = line.trimmingSpaces()
            if trimmed.isEmpty { continue }
            let cells = trimmed.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingSpaces() }
            if values.isEmpty && width == features && Double(cells[0]) == nil && cells[0].lowercased() != "nan"
                && !cells[0].isEmpty
            {
                continue  // header
            }
            if width == nil { width = cells.count }
            guard cells.count == width else { throw fail("\(i + 1)", "\(cells.count) values for \(width!) features") }
            for (j, c) in cells.enumerated() {
                if c.isEmpty || c.lowercased() == "nan" { values.append(.nan); continue }
                guard let v = Double(c) else { throw fail("\(i + 1)", "column \(j + 1): \"\(c)\" is not a number") }
                values.append(v)
            }
        }
        return (values, width ?? 0)
    }
}
