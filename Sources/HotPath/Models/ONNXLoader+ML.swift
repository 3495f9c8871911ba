/// The ONNX-ML half of `ONNXLoader`: each supported operator becomes `OperatorChain` steps,
/// and a tree ensemble becomes a `TreeEnsemble` in float arithmetic. Cold path.
extension ONNXLoader {
    struct Pipeline {
        let file: String
        /// The feature row's width, from the graph input's shape.
        let features: Int?
        var steps: [OperatorChain.Step] = []
        var names: [String] = []
        var forests: [Ensemble.TreesBox] = []
        var networks: [NeuralNetwork] = []
        /// The width of the row after the last step (the input's before the first).
        var width: Int
        var widest: Int

        init(file: String, features: Int?) {
            self.file = file
            self.features = features
            width = features ?? -1
            widest = max(width, 1)
        }

        mutating func append(_ step: OperatorChain.Step, width: Int) {
            steps.append(step)
            self.width = width
            widest = max(widest, width)
        }

        /// A run of dense (and recurrent) layers before an ONNX-ML step becomes one step.
        mutating func flush(_ layers: inout [NeuralNetwork.Layer], _ recurrent: inout [NeuralNetwork.Recurrent]) throws
        {
            guard !layers.isEmpty else { return }
            let net = NeuralNetwork(layers: layers, recurrent: recurrent)
            if steps.isEmpty, features != nil, net.features != features {
                throw ModelError(
                    file: file, place: "graph", reason: "the network takes \(net.features) inputs of \(features!)")
            }
            networks.append(net)
            append(.network(Unmanaged.passUnretained(net)), width: net.outputs)
            names.append("dense layers")
            layers = []
            recurrent = []
        }

        func build() throws -> OperatorChain {
            guard let features else {
                throw ModelError(
                    file: file, place: "graph input",
                    reason: "its width is not fixed: a pipeline needs a fixed [N, features] input shape")
            }
            return OperatorChain(
                steps: steps, features: features, outputs: width, width: widest, forests: forests, networks: networks,
                description: names.joined(separator: " → "))
        }

        mutating func add(_ node: Node, place: String, initializers: [String: Tensor]) throws {
            let file = self.file
            let fail = { (reason: String) in ModelError(file: file, place: place, reason: reason) }
            guard width > 0 else {
                throw fail("the row's width is not known here (the graph input has no fixed shape)")
            }
            func doubles(_ name: String, or fallback: [Double]? = nil) throws -> [Double] {
                if node.tensors[name + "_as_tensor"] != nil {
                    throw fail("\(name)_as_tensor (double precision) is not supported; export with float attributes")
                }
                if let v = node.floatLists[name] { return v.map(Double.init) }
                if let fallback { return fallback }
                throw fail("no \(name)")
            }
            func copy(_ a: [Double]) -> UnsafeMutablePointer<Double> { loadTimeCopy(a) }
            names.append(node.op)
            switch node.op {
            case "Scaler":
                let offset = try doubles("offset", or: [0]), scale = try doubles("scale", or: [1])
                for (name, v) in [("offset", offset), ("scale", scale)] where v.count != 1 && v.count != width {
                    throw fail("\(v.count) \(name) values for a row of \(width)")
                }
                let n = width
                let full = { (v: [Double]) in v.count == 1 ? [Double](repeating: v[0], count: n) : v }
                append(.scale(offset: copy(full(offset)), scale: copy(full(scale)), width: width), width: width)
            case "Normalizer":
                let norms = ["MAX": 0, "L1": 1, "L2": 2]
                guard let norm = norms[node.strings["norm"] ?? "MAX"] else {
                    throw fail("norm \(node.strings["norm"]!) (MAX, L1, L2)")
                }
                append(.normalize(norm: norm, width: width), width: width)
            case "LinearClassifier", "LinearRegressor":
                let coefficients = try doubles("coefficients")
                let classifier = node.op == "LinearClassifier"
                let classes =
                    classifier
                    ? (node.intLists["classlabels_ints"]?.count ?? node.stringLists["classlabels_strings"]?.count ?? 0)
                    : (node.ints["targets"] ?? 1)
                guard coefficients.count % width == 0, coefficients.count > 0 else {
                    throw fail("\(coefficients.count) coefficients for rows of \(width)")
                }
                let rows = coefficients.count / width
                if classifier && rows == 1 && classes == 2 {
                    throw fail("one row of coefficients for two classes is not supported (skl2onnx writes two)")
                }
                guard !classifier || rows == classes else {
                    throw fail("\(rows) rows of coefficients for \(classes) classes")
                }
                let intercepts = try doubles("intercepts", or: [Double](repeating: 0, count: rows))
                guard intercepts.count == rows else { throw fail("\(intercepts.count) intercepts for \(rows) rows") }
                append(
                    .linear(weights: copy(coefficients), bias: copy(intercepts), inputs: width, outputs: rows),
                    width: rows)
                // ONNX Runtime transforms a single score only with PROBIT (refused below).
                let transform = try Self.transform(node, fail)
                if transform != .none && rows > 1 { append(.transform(transform, width: rows), width: rows) }
            case "TreeEnsembleClassifier", "TreeEnsembleRegressor":
                try addForest(node, fail)
            case "ArgMax":
                guard [1, -1].contains(node.ints["axis"] ?? 0) else {
                    throw fail("axis \(node.ints["axis"] ?? 0) (1 only)")
                }
                append(.argmax(width: width), width: 1)
            case "Sub", "Div", "Mul", "Add":
                guard node.inputs.count == 2 else { throw fail("\(node.inputs.count) inputs (2 expected)") }
                let constantFirst = initializers[node.inputs[0]] != nil
                guard let c = initializers[node.inputs[constantFirst ? 0 : 1]],
                    c.floats.count == 1 || c.floats.count == width
                else {
                    throw fail("the constant must hold 1 or \(width) float values")
                }
                let op = ["Sub": 0, "Div": 1, "Mul": 2, "Add": 3][node.op]!
                append(
                    .elementwise(
                        op: op, constant: copy(c.floats.map(Double.init)), count: c.floats.count, width: width,
                        constantFirst: constantFirst), width: width)
            default:
                throw fail("op \(node.op) is not supported")
            }
        }

        static func transform(_ node: Node, _ fail: (String) -> ModelError) throws -> OperatorChain.Transform {
            switch node.strings["post_transform"] ?? "NONE" {
            case "NONE": return .none
            case "LOGISTIC": return .logistic
            case "SOFTMAX": return .softmax
            case "SOFTMAX_ZERO": return .softmaxZero
            case let other:
                throw fail("post_transform \(other) is not supported (NONE, LOGISTIC, SOFTMAX, SOFTMAX_ZERO)")
            }
        }

        /// A TreeEnsembleClassifier/Regressor, flattened into a `TreeEnsemble` with XGBoost's
        /// float arithmetic: `x < t` in float as it is, `x <= t` as `x < nextUp(t)`, GT and GTE
        /// as the negations with the branches swapped; NaN takes the branch
        /// `nodes_missing_value_tracks_true` names. A leaf with weights for several classes
        /// is one tree per class. Then ONNX Runtime's rules for base values, the average, the
        /// post-transform and the two-class cases.
        mutating func addForest(_ node: Node, _ fail: (String) -> ModelError) throws {
            let classifier = node.op == "TreeEnsembleClassifier"
            let prefix = classifier ? "class_" : "target_"
            func ints(_ name: String) throws -> [Int] {
                guard let v = node.intLists[name] else { throw fail("no \(name)") }
                return v
            }
            let treeIDs = try ints("nodes_treeids"), nodeIDs = try ints("nodes_nodeids")
            let featureIDs = try ints("nodes_featureids"), trueIDs = try ints("nodes_truenodeids")
            let falseIDs = try ints("nodes_falsenodeids")
            if node.tensors["nodes_values_as_tensor"] != nil || node.tensors[prefix + "weights_as_tensor"] != nil
                || node.tensors["base_values_as_tensor"] != nil
            {
                throw fail("double-precision trees (*_as_tensor) are not supported; export with float attributes")
            }
            let values = node.floatLists["nodes_values"] ?? []
            let modes = node.stringLists["nodes_modes"] ?? []
            let n = treeIDs.count
            let missingTrue = node.intLists["nodes_missing_value_tracks_true"] ?? [Int](repeating: 0, count: n)
            guard
                [
                    nodeIDs.count, featureIDs.count, trueIDs.count, falseIDs.count, values.count, modes.count,
                    missingTrue.count,
                ].allSatisfy({ $0 == n }), n > 0
            else {
                throw fail("the nodes_* attributes differ in length")
            }
            let leafTrees = try ints(prefix + "treeids"), leafNodes = try ints(prefix + "nodeids")
            let leafIDs = try ints(prefix + "ids")
            guard let weights = node.floatLists[prefix + "weights"], leafTrees.count == weights.count,
                leafNodes.count == weights.count, leafIDs.count == weights.count
            else {
                throw fail("the \(prefix)* attributes differ in length")
            }
            let outputs =
                classifier
                ? (node.intLists["classlabels_int64s"]?.count ?? node.stringLists["classlabels_strings"]?.count ?? 0)
                : (node.ints["n_targets"] ?? 1)
            guard outputs > 0, leafIDs.allSatisfy({ $0 >= 0 && $0 < outputs }) else {
                throw fail("leaf weights for outputs outside 0..<\(outputs)")
            }
            let aggregate = node.strings["aggregate_function"] ?? "SUM"
            guard aggregate == "SUM" || aggregate == "AVERAGE" else {
                throw fail("aggregate_function \(aggregate) is not supported (SUM, AVERAGE)")
            }
            let transform = try Self.transform(node, fail)
            let base = (node.floatLists["base_values"] ?? []).map(Double.init)

            // Per tree: its nodes by id; per (tree, node): its weights by output.
            var order: [Int] = []
            var nodesOf: [Int: [Int: Int]] = [:]
            for i in 0..<n {
                if nodesOf[treeIDs[i]] == nil { order.append(treeIDs[i]) }
                nodesOf[treeIDs[i], default: [:]][nodeIDs[i]] = i
            }
            var leafWeights: [Int: [Int: [Int: Double]]] = [:]
            for j in 0..<weights.count {
                leafWeights[leafTrees[j], default: [:]][leafNodes[j], default: [:]][leafIDs[j], default: 0] += Double(
                    weights[j])
            }
            let weighted = Set(leafIDs).sorted()
            let features = self.width
            var trees: [TreeEnsemble.Tree] = []
            var flat: [TreeEnsemble.Node] = []
            var leaves: [Double] = []
            // Two classes with weights for class 0 only: one score, completed to two columns.
            let oneScore = classifier && outputs == 2 && weighted == [0]
            for tree in order {
                let byID = nodesOf[tree]!
                for output in weighted {
                    var index: [Int: Int32] = [:]  // node id → flat index or ~leaf
                    // Number this tree's nodes in id order, leaves apart.
                    let ids = byID.keys.sorted()
                    var next = Int32(flat.count)
                    for id in ids {
                        let i = byID[id]!
                        if modes[i] == "LEAF" {
                            index[id] = ~Int32(leaves.count)
                            leaves.append(leafWeights[tree]?[id]?[output] ?? 0)
                        } else {
                            index[id] = next
                            next += 1
                        }
                    }
                    for id in ids {
                        let i = byID[id]!
                        guard modes[i] != "LEAF" else { continue }
                        guard let t = index[trueIDs[i]], let f = index[falseIDs[i]] else {
                            throw fail("tree \(tree) node \(id): a child is not in the tree")
                        }
                        guard featureIDs[i] >= 0, featureIDs[i] < features else {
                            throw fail("tree \(tree) node \(id): feature \(featureIDs[i]) of \(features)")
                        }
                        let v = values[i]
                        let (threshold, left, right, nanLeft): (Float, Int32, Int32, Bool)
                        switch modes[i] {
                        case "BRANCH_LT": (threshold, left, right, nanLeft) = (v, t, f, missingTrue[i] != 0)
                        case "BRANCH_LEQ": (threshold, left, right, nanLeft) = (v.nextUp, t, f, missingTrue[i] != 0)
                        case "BRANCH_GTE": (threshold, left, right, nanLeft) = (v, f, t, missingTrue[i] == 0)
                        case "BRANCH_GT": (threshold, left, right, nanLeft) = (v.nextUp, f, t, missingTrue[i] == 0)
                        default: throw fail("tree \(tree) node \(id): mode \(modes[i]) is not supported")
                        }
                        flat.append(
                            .init(
                                threshold: Double(threshold), feature: Int32(featureIDs[i]), left: left, right: right,
                                kind: 2, defaultLeft: nanLeft ? 1 : 0, category: 0))
                    }
                    guard let root = ids.first.flatMap({ index[$0] }) else { throw fail("tree \(tree) is empty") }
                    trees.append(.init(root: root, output: Int32(oneScore ? 0 : output), linear: false))
                }
            }
            let width = oneScore ? 1 : outputs
            if let problem = TreeEnsemble.structureProblem(trees: trees, nodes: flat, leaves: leaves.count) {
                throw fail(problem)
            }
            let forest = TreeEnsemble(
                arithmetic: .xgboost, features: features, outputs: width, transform: .identity,
                baseMargin: [Double](repeating: 0, count: width), averageOver: aggregate == "AVERAGE" ? order.count : 0,
                trees: trees, nodes: flat, leaves: leaves, bitsets: [], bitsetRanges: [])
            let box = Ensemble.TreesBox(forest)
            forests.append(box)

            // Base values and post-transforms, as ONNX Runtime applies them.
            if !classifier && outputs == 1 {
                append(
                    .trees(Unmanaged.passUnretained(box), base: loadTimeCopy(base), baseCount: base.count == 1 ? 1 : 0),
                    width: 1)
                return  // a single target takes no transform but PROBIT (refused)
            }
            if !classifier || outputs > 2 {
                guard base.isEmpty || base.count == outputs else {
                    throw fail("\(base.count) base_values for \(outputs) outputs")
                }
                append(
                    .trees(Unmanaged.passUnretained(box), base: loadTimeCopy(base), baseCount: base.count),
                    width: outputs)
                if transform != .none { append(.transform(transform, width: outputs), width: outputs) }
                return
            }
            if !oneScore {
                guard base.count <= 1 else {
                    throw fail(
                        "two base_values with weights for class 1: ONNX Runtime's answer departs from the specification here"
                    )
                }
                append(.trees(Unmanaged.passUnretained(box), base: loadTimeCopy(base), baseCount: base.count), width: 2)
                if transform != .none { append(.transform(transform, width: 2), width: 2) }
                return
            }
            if base.count == 2 {  // binary as multiclass: class 1's score is its base value
                throw fail("two base_values with weights for class 0 only are not supported")
            }
            append(.trees(Unmanaged.passUnretained(box), base: loadTimeCopy(base), baseCount: base.count), width: 1)
            let complement: OperatorChain.Complement =
                weights.allSatisfy { $0 >= 0 } ? .oneMinus : transform == .logistic ? .logistic : .negate
            append(.complement(complement), width: 2)
        }
    }
}
