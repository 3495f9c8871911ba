import Foundation

/// Loads XGBoost's JSON model format (`Booster.save_model("….json")`) into a `TreeEnsemble`
/// with XGBoost's float arithmetic. Cold path; problems are `ModelError`s naming the JSON path.
///
/// Supported: gbtree, dart and gblinear boosters with numeric splits (default_left for missing), categorical
/// splits (listed categories go right), base_score as a number or a JSON array inside its
/// string, objectives binary:logistic, binary:logitraw (the margin), multi:softprob
/// (probabilities), multi:softmax (the class index), binary:hinge (0 or 1), the log-link
/// reg:gamma, reg:tweedie, count:poisson, survival:cox and survival:aft (the predicted time), the
/// rank:* objectives (the margin),
/// reg:squarederror (and the other identity-link regressions, reg:quantileerror with several
/// quantiles giving one output per quantile).
public enum XGBoostLoader {
    public static func load(path: String) throws(ModelError) -> TreeEnsemble {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ModelError(file: path, place: "", reason: "cannot read the file")
        }
        let root: Any
        do { root = try JSONSerialization.jsonObject(with: data) } catch {
            throw ModelError(file: path, place: "", reason: "not valid JSON: \(error.localizedDescription)")
        }
        return try parse(root, file: path)
    }

    /// XGBoost's ProbToMargin for logistic objectives, in float: -log(1/p - 1).
    static func logit(_ p: Double) -> Double {
        let f = Float(p)
        return Double(-logf(1 / f - 1))
    }

    static func parse(_ root: Any, file: String) throws(ModelError) -> TreeEnsemble {
        func fail(_ place: String, _ reason: String) -> ModelError {
            ModelError(file: file, place: place, reason: reason)
        }
        func object(_ v: Any?, _ place: String) throws(ModelError) -> [String: Any] {
            guard let o = v as? [String: Any] else { throw fail(place, "expected a JSON object") }
            return o
        }
        func number(_ v: Any?, _ place: String) throws(ModelError) -> Double {
            if let n = v as? NSNumber { return n.doubleValue }
            if let s = v as? String, let d = Double(s) { return d }
            throw fail(place, "expected a number")
        }
        func numbers(_ v: Any?, _ place: String) throws(ModelError) -> [Double] {
            guard let a = v as? [Any] else { throw fail(place, "expected an array of numbers") }
            var out: [Double] = []
            out.reserveCapacity(a.count)
            for (i, x) in a.enumerated() { out.append(try number(x, "\(place)[\(i)]")) }
            return out
        }
        /// Whole numbers within `range` (a file can say 1e300 or 0.5 where a count or index goes).
        func integers(_ v: Any?, _ place: String, in range: ClosedRange<Int>) throws(ModelError) -> [Int] {
            var out: [Int] = []
            for (i, x) in try numbers(v, place).enumerated() {
                guard x.rounded() == x, x >= Double(range.lowerBound), x <= Double(range.upperBound) else {
                    throw fail(
                        "\(place)[\(i)]", "\(x) is not a whole number in \(range.lowerBound)...\(range.upperBound)")
                }
                out.append(Int(x))
            }
            return out
        }
        func integer(_ v: Any?, _ place: String, in range: ClosedRange<Int>) throws(ModelError) -> Int {
            let x = try number(v, place)
            guard x.rounded() == x, x >= Double(range.lowerBound), x <= Double(range.upperBound) else {
                throw fail(place, "\(x) is not a whole number in \(range.lowerBound)...\(range.upperBound)")
            }
            return Int(x)
        }
        let index32 = -1...Int(Int32.max)
        let learner = try object(try object(root, "$")["learner"], "learner")
        let params = try object(learner["learner_model_param"], "learner.learner_model_param")
        let numClass = try integer(params["num_class"], "learner.learner_model_param.num_class", in: 0...65_535)
        // Several targets (reg:quantileerror with a list of quantiles): one output each.
        let numTarget =
            params["num_target"] == nil
            ? 1 : try integer(params["num_target"], "learner.learner_model_param.num_target", in: 0...65_535)
        let features = try integer(
            params["num_feature"], "learner.learner_model_param.num_feature", in: 0...TreeEnsemble.maxFeatures)
        let objective = try object(learner["objective"], "learner.objective")
        guard let objectiveName = objective["name"] as? String else { throw fail("learner.objective.name", "missing") }
        let booster = try object(learner["gradient_booster"], "learner.gradient_booster")
        // dart holds a gbtree and one weight per tree, which scales that tree's leaves (in
        // float, as XGBoost multiplies a tree's output by its weight before adding it).
        let treeBooster: [String: Any], weightDrop: [Double]?
        var linearWeights: [Float]? = nil
        switch booster["name"] as? String {
        case "gblinear":
            let model = try object(booster["model"], "learner.gradient_booster.model")
            linearWeights = try numbers(model["weights"], "learner.gradient_booster.model.weights").map(Float.init)
            (treeBooster, weightDrop) = (["model": ["trees": [Any](), "tree_info": [Any]()]], nil)
        case "gbtree":
            (treeBooster, weightDrop) = (booster, nil)
        case "dart":
            treeBooster = try object(booster["gbtree"], "learner.gradient_booster.gbtree")
            weightDrop = try numbers(booster["weight_drop"], "learner.gradient_booster.weight_drop")
        default:
            throw fail(
                "learner.gradient_booster.name",
                "booster \"\(booster["name"] ?? "?")\" is not supported (gbtree, dart, gblinear)"
            )
        }
        let model = try object(treeBooster["model"], "learner.gradient_booster.model")
        guard let treeList = model["trees"] as? [Any] else {
            throw fail("learner.gradient_booster.model.trees", "expected an array")
        }
        let treeInfo = try numbers(model["tree_info"], "learner.gradient_booster.model.tree_info")
        guard treeInfo.count == treeList.count else {
            throw fail(
                "learner.gradient_booster.model.tree_info", "\(treeInfo.count) entries for \(treeList.count) trees")
        }
        if let weightDrop, weightDrop.count != treeList.count {
            throw fail(
                "learner.gradient_booster.weight_drop", "\(weightDrop.count) weights for \(treeList.count) trees")
        }
        let outputs = max(1, numClass, numTarget)
        if let w = linearWeights, w.count != (features + 1) * outputs {
            throw fail(
                "learner.gradient_booster.model.weights",
                "\(w.count) weights for \(features) features and \(outputs) outputs (\((features + 1) * outputs) expected)"
            )
        }

        // base_score: "5E-1", or "[5E-1,5E-1,5E-1]" in newer files; in probability space.
        var baseScores: [Double] = []
        if let s = params["base_score"] as? String, s.hasPrefix("[") {
            guard let data = s.data(using: .utf8), let a = try? JSONSerialization.jsonObject(with: data) as? [Any]
            else {
                throw fail("learner.learner_model_param.base_score", "\"\(s)\" is not an array of numbers")
            }
            baseScores = try numbers(a, "learner.learner_model_param.base_score")
        } else {
            baseScores = [try number(params["base_score"], "learner.learner_model_param.base_score")]
        }
        if baseScores.count == 1 && outputs > 1 { baseScores = [Double](repeating: baseScores[0], count: outputs) }
        guard baseScores.count == outputs else {
            throw fail("learner.learner_model_param.base_score", "\(baseScores.count) values for \(outputs) outputs")
        }
        let transform: TreeEnsemble.Transform
        let margin: [Double]
        switch objectiveName {
        case "binary:logistic", "reg:logistic":
            transform = .sigmoid(scale: 1)
            margin = baseScores.map(Self.logit)
        case "binary:logitraw":
            // LogisticRaw keeps base_score as the margin (its ProbToMargin is the identity)
            // and predicts the margin itself.
            transform = .identity
            margin = baseScores
        case "multi:softprob":
            transform = .softmax
            margin = baseScores
        case "multi:softmax":
            transform = .classIndex
            margin = baseScores
        case "reg:squarederror", "reg:squaredlogerror", "reg:pseudohubererror", "reg:absoluteerror",
            "reg:quantileerror",
            "rank:pairwise", "rank:ndcg", "rank:map":
            transform = .identity
            margin = baseScores
        case "reg:gamma", "reg:tweedie", "count:poisson", "survival:cox", "survival:aft":
            // Log link: base_score is a mean, its margin the float log; predict() is expf.
            transform = .exp
            margin = baseScores.map { Double(logf(Float($0))) }
        case "binary:hinge":
            transform = .step
            margin = baseScores
        default:
            throw fail(
                "learner.objective.name",
                "objective \"\(objectiveName)\" is not supported (binary:logistic, binary:logitraw, binary:hinge, multi:softprob, multi:softmax, reg:gamma, reg:tweedie, count:poisson, survival:cox, survival:aft, rank:pairwise/ndcg/map, reg:squarederror and the other identity-link regressions)"
            )
        }

        var trees: [TreeEnsemble.Tree] = []
        var nodes: [TreeEnsemble.Node] = []
        var leaves: [Double] = []
        var bitsets: [UInt32] = []
        var ranges: [(Int32, Int32)] = []
        for (t, any) in treeList.enumerated() {
            let place = "learner.gradient_booster.model.trees[\(t)]"
            let tree = try object(any, place)
            // multi_strategy="multi_output_tree": each leaf holds a vector (in base_weights).
            if let param = tree["tree_param"] as? [String: Any], let size = param["size_leaf_vector"],
                try number(size, place + ".tree_param.size_leaf_vector") > 1
            {
                throw fail(
                    place + ".tree_param.size_leaf_vector",
                    "vector-leaf trees (multi_strategy=\"multi_output_tree\") are not supported; train with the default one_output_per_tree"
                )
            }
            let left = try integers(tree["left_children"], place + ".left_children", in: index32)
            let right = try integers(tree["right_children"], place + ".right_children", in: index32)
            let split = try integers(tree["split_indices"], place + ".split_indices", in: index32)
            let cond = try numbers(tree["split_conditions"], place + ".split_conditions")
            let defaultLeft = try numbers(tree["default_left"], place + ".default_left")
            let splitType =
                (tree["split_type"] as? [Any]).map { _ in (try? numbers(tree["split_type"], place)) ?? [] } ?? []
            let n = left.count
            guard right.count == n, split.count == n, cond.count == n, defaultLeft.count == n else {
                throw fail(
                    place,
                    "node arrays differ in length (\(n) left children, \(right.count) right, \(split.count) split indices, \(cond.count) conditions)"
                )
            }
            // Categorical splits: categories_nodes[k] uses categories[segments[k] ..< + sizes[k]].
            var categoryOf: [Int: Int] = [:]
            if let catNodes = tree["categories_nodes"] as? [Any], !catNodes.isEmpty {
                let nodesList = try integers(catNodes, place + ".categories_nodes", in: 0...max(0, n - 1))
                let cats = try integers(tree["categories"], place + ".categories", in: 0...(1 << 24))
                let segments = try integers(
                    tree["categories_segments"], place + ".categories_segments", in: 0...cats.count)
                let sizes = try integers(tree["categories_sizes"], place + ".categories_sizes", in: 0...cats.count)
                guard segments.count == nodesList.count, sizes.count == nodesList.count,
                    zip(segments, sizes).allSatisfy({ $0 + $1 <= cats.count })
                else {
                    throw fail(place + ".categories_segments", "segments and sizes do not fit the categories")
                }
                guard ranges.count + nodesList.count <= 65_536 else {
                    throw fail(place + ".categories_nodes", "over 65536 categorical splits in the model")
                }
                for (k, node) in nodesList.enumerated() {
                    let members = cats[segments[k]..<segments[k] + sizes[k]]
                    let words = ((members.max() ?? 0) >> 5) + 1
                    var bits = [UInt32](repeating: 0, count: words)
                    for c in members where c >= 0 { bits[c >> 5] |= 1 << UInt32(c & 31) }
                    categoryOf[node] = ranges.count
                    ranges.append((Int32(bitsets.count), Int32(words)))
                    bitsets += bits
                }
            }
            // Nodes in this tree: internal ones get dense indices; leaves go to `leaves`.
            var index = [Int32](repeating: 0, count: n)
            var internalCount: Int32 = 0
            for i in 0..<n {
                if left[i] == -1 {
                    index[i] = ~Int32(leaves.count)
                    leaves.append(weightDrop.map { Double(Float($0[t]) * Float(cond[i])) } ?? cond[i])
                } else {
                    index[i] = Int32(nodes.count) + internalCount
                    internalCount += 1
                }
            }
            for i in 0..<n where left[i] != -1 {
                guard left[i] >= 0, left[i] < n, right[i] >= 0, right[i] < n else {
                    throw fail("\(place).left_children[\(i)]", "child out of range")
                }
                guard split[i] >= 0, split[i] < features else {
                    throw fail("\(place).split_indices[\(i)]", "feature \(split[i]) of \(features)")
                }
                let categorical = i < splitType.count && splitType[i] == 1
                if categorical && categoryOf[i] == nil {
                    throw fail(place, "node \(i) is categorical but has no categories")
                }
                nodes.append(
                    .init(
                        threshold: cond[i], feature: Int32(split[i]), left: index[left[i]], right: index[right[i]],
                        kind: categorical ? 3 : 2, defaultLeft: defaultLeft[i] != 0 ? 1 : 0,
                        category: UInt16(categoryOf[i] ?? 0)))
            }
            guard treeInfo[t].rounded() == treeInfo[t], treeInfo[t] >= 0, treeInfo[t] < Double(outputs) else {
                throw fail("learner.gradient_booster.model.tree_info[\(t)]", "class \(treeInfo[t]) of \(outputs)")
            }
            let cls = Int32(treeInfo[t])
            trees.append(.init(root: index[0], output: cls, linear: false))
        }
        if let problem = TreeEnsemble.structureProblem(trees: trees, nodes: nodes, leaves: leaves.count) {
            throw fail("learner.gradient_booster.model.trees", problem)
        }
        var ensemble = TreeEnsemble(
            arithmetic: .xgboost, features: features, outputs: outputs, transform: transform,
            baseMargin: margin, trees: trees, nodes: nodes, leaves: leaves, bitsets: bitsets, bitsetRanges: ranges,
            gblinear: linearWeights)
        if let names = learner["feature_names"] as? [String], !names.isEmpty { ensemble.featureNames = names }
        return ensemble
    }
}
