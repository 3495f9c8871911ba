/// Loads LightGBM's text model format (what `Booster.save_model` writes) into a
/// `TreeEnsemble`. Cold path; every problem is a `ModelError` naming the line.
///
/// Supported: numeric splits with missing types None / Zero / NaN and default_left,
/// categorical bitset splits, single-leaf trees, linear trees, every objective (each with
/// LightGBM's own output conversion: sigmoid, softmax, one sigmoid per class, exp for the log
/// links, log1p(exp) for cross_entropy_lambda, sign·x² under reg_sqrt) and every boosting type
/// (rf averages its trees). Leaf values already include shrinkage and boost_from_average.
public enum LightGBMLoader {
    public static func load(path: String) throws(ModelError) -> TreeEnsemble {
        guard let text = SystemFile.read(path, limit: 1 << 30) else {
            throw ModelError(file: path, place: "", reason: "cannot read the file")
        }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) throws(ModelError) -> TreeEnsemble {
        // Split on line feeds by scalar: Swift treats "\r\n" as one Character, so a split on
        // "\n" would miss Windows line ends.
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        func fail(_ line: Int, _ reason: String) -> ModelError {
            ModelError(file: file, place: "\(line + 1)", reason: reason)
        }
        guard let first = lines.first, first.trimmingSpaces() == "tree" else {
            throw ModelError(
                file: file, place: "1", reason: "not a LightGBM text model (the first line is not \"tree\")")
        }
        // Header
        var header: [String: (String, Int)] = [:]
        var averaged = false  // `average_output`, a bare line: boosting=rf
        var i = 1
        while i < lines.count && !lines[i].hasPrefix("Tree=") {
            if let eq = lines[i].firstIndex(of: "=") {
                header[String(lines[i][..<eq])] = (String(lines[i][lines[i].index(after: eq)...]), i)
            } else if lines[i].trimmingSpaces() == "average_output" {
                averaged = true
            }
            if lines[i].hasPrefix("end of trees") { break }
            i += 1
        }
        func headerInt(_ key: String) throws(ModelError) -> Int {
            guard let (v, line) = header[key] else {
                throw ModelError(file: file, place: "", reason: "header has no \(key)")
            }
            guard let n = Int(v.trimmingSpaces()), n >= 0 else {
                throw fail(line, "\(key)=\(v) is not a non-negative integer")
            }
            return n
        }
        let numClass = max(1, try headerInt("num_class"))
        let perIteration = max(1, try headerInt("num_tree_per_iteration"))
        for (key, n) in [("num_class", numClass), ("num_tree_per_iteration", perIteration)] where n > 65_535 {
            throw fail(header[key]!.1, "\(key)=\(n) is over 65535")
        }
        let features = try headerInt("max_feature_idx") + 1
        guard features <= TreeEnsemble.maxFeatures else {
            throw fail(
                header["max_feature_idx"]!.1,
                "\(features) features; a tree model here takes at most \(TreeEnsemble.maxFeatures)")
        }
        let objective = header["objective"]?.0.trimmingSpaces() ?? "regression"
        let transform = try Self.transform(objective, file: file, line: header["objective"]?.1 ?? 0)

        var trees: [TreeEnsemble.Tree] = []
        var nodes: [TreeEnsemble.Node] = []
        var leaves: [Double] = []
        var bitsets: [UInt32] = []
        var ranges: [(Int32, Int32)] = []
        var leafConst: [Double] = [], termRange: [(Int32, Int32)] = [], linFeatures: [Int32] = [],
            linCoeffs: [Double] = []
        var anyLinear = false

        while i < lines.count {
            guard lines[i].hasPrefix("Tree=") else {
                if lines[i].hasPrefix("end of trees") { break }
                i += 1
                continue
            }
            let treeLine = i
            let treeName = String(lines[i])
            var fields: [String: (Substring, Int)] = [:]
            i += 1
            while i < lines.count && !lines[i].isEmpty && !lines[i].hasPrefix("Tree=")
                && !lines[i].hasPrefix("end of trees")
            {
                if let eq = lines[i].firstIndex(of: "=") {
                    fields[String(lines[i][..<eq])] = (lines[i][lines[i].index(after: eq)...], i)
                }
                i += 1
            }
            func array<T>(_ key: String, _ count: Int, _ parse: (Substring) -> T?) throws(ModelError) -> [T] {
                if count == 0 { return [] }
                guard let (v, line) = fields[key] else { throw fail(treeLine, "\(treeName) has no \(key)") }
                let parts = v.split(separator: " ")
                guard parts.count == count else {
                    throw fail(line, "\(treeName) has \(parts.count) values in \(key) for \(count) expected")
                }
                var out: [T] = []
                out.reserveCapacity(count)
                for p in parts {
                    guard let x = parse(p) else {
                        throw fail(line, "\(treeName): \(key) value \"\(p)\" is not a number or out of range")
                    }
                    out.append(x)
                }
                return out
            }
            guard let (nl, nlLine) = fields["num_leaves"], let numLeaves = Int(nl), numLeaves >= 1 else {
                throw fail(treeLine, "\(treeName) has no valid num_leaves")
            }
            _ = nlLine
            let internalCount = numLeaves - 1
            let numCat = fields["num_cat"].flatMap { Int($0.0) } ?? 0
            guard (0...65_535).contains(numCat) else {
                throw fail(fields["num_cat"]!.1, "\(treeName): num_cat=\(numCat) is not in 0...65535")
            }
            let splitFeature: [Int32] = try array("split_feature", internalCount) { Int32($0) }
            let threshold: [Double] = try array("threshold", internalCount) { Double($0) }
            let decision: [Int32] = try array("decision_type", internalCount) { Int32($0) }
            let left: [Int32] = try array("left_child", internalCount) { Int32($0) }
            let right: [Int32] = try array("right_child", internalCount) { Int32($0) }
            let leafValue: [Double] = try array("leaf_value", numLeaves) { Double($0) }
            let isLinear = (fields["is_linear"].flatMap { Int($0.0) } ?? 0) != 0
            var catBoundaries: [Int32] = []
            var catThreshold: [UInt32] = []
            if numCat > 0 {
                catBoundaries = try array("cat_boundaries", numCat + 1) { Int32($0) }
                guard let (ct, _) = fields["cat_threshold"] else {
                    throw fail(treeLine, "\(treeName) has no cat_threshold")
                }
                catThreshold = try array("cat_threshold", ct.split(separator: " ").count) { UInt32($0) }
                guard catBoundaries.last.map({ Int($0) == catThreshold.count }) ?? false else {
                    throw fail(
                        treeLine,
                        "\(treeName): cat_boundaries end at \(catBoundaries.last ?? 0) but cat_threshold has \(catThreshold.count) words"
                    )
                }
                guard catBoundaries[0] == 0, zip(catBoundaries, catBoundaries.dropFirst()).allSatisfy({ $0 <= $1 })
                else { throw fail(treeLine, "\(treeName): cat_boundaries do not rise from 0") }
                guard bitsets.count + catThreshold.count <= Int(Int32.max) else {
                    throw fail(treeLine, "\(treeName): over \(Int32.max) category words in the model")
                }
            }
            let nodeBase = Int32(nodes.count), leafBase = Int32(leaves.count), rangeBase = ranges.count
            for k in 0..<numCat {
                ranges.append((Int32(bitsets.count) + catBoundaries[k], catBoundaries[k + 1] - catBoundaries[k]))
            }
            bitsets += catThreshold
            func child(_ c: Int32, node: Int) throws(ModelError) -> Int32 {
                if c >= 0 {
                    guard c < Int32(internalCount) else {
                        throw fail(treeLine, "\(treeName): node \(node) points at node \(c) of \(internalCount)")
                    }
                    return nodeBase + c
                }
                let leaf = ~c
                guard leaf < Int32(numLeaves) else {
                    throw fail(treeLine, "\(treeName): node \(node) points at leaf \(leaf) of \(numLeaves)")
                }
                return ~(leafBase + leaf)
            }
            for n in 0..<internalCount {
                let d = decision[n]
                let categorical = d & 1 != 0
                guard splitFeature[n] >= 0 && Int(splitFeature[n]) < features else {
                    throw fail(treeLine, "\(treeName): node \(n) splits on feature \(splitFeature[n]) of \(features)")
                }
                var category: UInt16 = 0
                if categorical {
                    // The threshold names the node's category set: a whole number below num_cat.
                    let t = threshold[n]
                    guard t >= 0, t < Double(numCat), let idx = Int(exactly: t) else {
                        throw fail(treeLine, "\(treeName): node \(n) uses category set \(t) of \(numCat)")
                    }
                    guard let c = UInt16(exactly: rangeBase + idx) else {
                        throw fail(treeLine, "\(treeName): over 65536 category sets in the model")
                    }
                    category = c
                } else if (d >> 2) & 3 == 3 {
                    throw fail(
                        treeLine, "\(treeName): node \(n) has decision_type \(d), missing type 3 (LightGBM has 0 to 2)")
                }
                nodes.append(
                    .init(
                        threshold: threshold[n], feature: splitFeature[n],
                        left: try child(left[n], node: n), right: try child(right[n], node: n),
                        kind: categorical ? 3 : UInt8((d >> 2) & 3), defaultLeft: d & 2 != 0 ? 1 : 0, category: category
                    ))
            }
            leaves += leafValue
            if isLinear {
                anyLinear = true
                let consts: [Double] = try array("leaf_const", numLeaves) { Double($0) }
                // A leaf's terms are at most one per feature, each a feature of the model.
                let counts: [Int] = try array("num_features", numLeaves) {
                    Int($0).flatMap { (0...features).contains($0) ? $0 : nil }
                }
                let total = counts.reduce(0, +)
                let feats: [Int32] = try array("leaf_features", total) {
                    Int32($0).flatMap { $0 >= 0 && $0 < features ? $0 : nil }
                }
                let coeffs: [Double] = try array("leaf_coeff", total) { Double($0) }
                // Pad the linear tables so they index by global leaf.
                while leafConst.count < Int(leafBase) { leafConst.append(0); termRange.append((0, 0)) }
                var at = 0
                for l in 0..<numLeaves {
                    leafConst.append(consts[l])
                    termRange.append((Int32(linFeatures.count), Int32(counts[l])))
                    linFeatures += feats[at..<at + counts[l]]
                    linCoeffs += coeffs[at..<at + counts[l]]
                    at += counts[l]
                }
            }
            let index = trees.count
            trees.append(
                .init(
                    root: internalCount == 0 ? ~leafBase : nodeBase, output: Int32(index % perIteration),
                    linear: isLinear))
        }
        guard !trees.isEmpty else { throw ModelError(file: file, place: "", reason: "the model has no trees") }
        if anyLinear { while leafConst.count < leaves.count { leafConst.append(0); termRange.append((0, 0)) } }
        let outputs = perIteration > 1 ? perIteration : numClass
        // A random forest's score is the trees' mean over its iterations (GBDT::PredictRaw).
        let averageOver = averaged ? trees.count / perIteration : 0
        if let problem = TreeEnsemble.structureProblem(trees: trees, nodes: nodes, leaves: leaves.count) {
            throw ModelError(file: file, place: "", reason: problem)
        }
        var ensemble = TreeEnsemble(
            arithmetic: .lightgbm, features: features, outputs: outputs, transform: transform,
            baseMargin: [Double](repeating: 0, count: outputs), averageOver: averageOver,
            trees: trees, nodes: nodes, leaves: leaves,
            bitsets: bitsets, bitsetRanges: ranges, leafConst: leafConst, leafTermRange: termRange,
            linearFeatures: linFeatures, linearCoeffs: linCoeffs)
        if let (names, _) = header["feature_names"] {
            ensemble.featureNames = names.split(separator: " ").map(String.init)
        }
        return ensemble
    }

    /// The output transform of an `objective=` header line.
    static func transform(_ objective: String, file: String, line: Int) throws(ModelError) -> TreeEnsemble.Transform {
        let words = objective.split(separator: " ")
        let name = words.first.map(String.init) ?? "regression"
        let sigmoid = words.first { $0.hasPrefix("sigmoid:") }.flatMap { Double($0.dropFirst(8)) } ?? 1
        switch name {
        case "binary": return .sigmoid(scale: sigmoid)
        case "multiclass", "softmax": return .softmax
        case "multiclassova", "multiclass_ova", "ova", "ovr": return .sigmoidPerClass(scale: sigmoid)
        case "cross_entropy", "xentropy": return .sigmoid(scale: 1)
        case "cross_entropy_lambda", "xentlambda": return .softplus
        case "regression", "regression_l2", "l2", "mean_squared_error", "mse", "regression_l1", "l1",
            "mean_absolute_error", "mae",
            "huber", "fair", "quantile", "mape", "mean_absolute_percentage_error", "rmse", "root_mean_squared_error",
            "l2_root":
            return words.contains("sqrt") ? .signedSquare : .identity
        case "poisson", "gamma", "tweedie": return .exp
        case "lambdarank", "rank_xendcg", "xendcg", "xe_ndcg", "xe_ndcg_mart", "xendcg_mart": return .identity
        case "custom", "none": return .identity  // a custom objective: predict() gives the raw score
        default:
            throw ModelError(
                file: file, place: "\(line + 1)",
                reason:
                    "objective \"\(objective)\" is not supported (binary, multiclass, multiclassova, cross_entropy, cross_entropy_lambda, regression variants with or without reg_sqrt, poisson, gamma, tweedie, lambdarank, rank_xendcg, custom)"
            )
        }
    }
}
