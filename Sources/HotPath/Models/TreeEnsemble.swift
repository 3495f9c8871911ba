#if canImport(Glibc)
import Glibc
#endif

/// A tree ensemble flattened for evaluation: every tree's nodes in one contiguous array,
/// leaves in another, categorical bitsets in a third. Loaders (LightGBM text, XGBoost JSON)
/// build it at start-up; `predict` walks it with no allocation.
///
/// Two arithmetic modes reproduce the libraries exactly:
/// - `.lightgbm`: double features, `x <= threshold`, NaN handling by missing type (None and
///   Zero turn NaN into 0; Zero sends |x| ≤ 1e-35 the default way; NaN sends NaN the default
///   way), categorical bitsets with NaN and negatives going right, sums in double.
/// - `.xgboost`: features rounded to float, `x < condition` in float, NaN the default way,
///   listed categories going right, sums in float from the base margin.
///
/// XGBoost's gblinear booster loads as an ensemble of no trees with one float weight matrix
/// (`gblinear`), so it shares the objectives' transforms: per output, bias + the first base
/// margin (XGBoost's gblinear uses output 0's for all), then
/// value × weight added in feature order, in float, missing values skipped — as XGBoost does.
public struct TreeEnsemble: @unchecked Sendable {
    public enum Arithmetic: Sendable { case lightgbm, xgboost }

    public enum Transform: Sendable, Equatable {
        case identity
        case sigmoid(scale: Double)
        case softmax
        /// One sigmoid per class (LightGBM multiclassova).
        case sigmoidPerClass(scale: Double)
        case exp
        /// 1 when the margin is above 0, else 0 (XGBoost binary:hinge).
        case step
        /// The index of the largest margin, first on ties, as one output (XGBoost
        /// multi:softmax, whose `predict()` gives the class, not probabilities).
        case classIndex
        /// log1p(exp(margin)) (LightGBM cross_entropy_lambda).
        case softplus
        /// sign(margin) · margin² (LightGBM regression trained with reg_sqrt).
        case signedSquare
    }

    /// 24 bytes. `left`/`right` ≥ 0 are node indices; < 0 are ~leaf index.
    public struct Node: BitwiseCopyable {
        public var threshold: Double
        public var feature: Int32
        public var left: Int32
        public var right: Int32
        /// 0 numeric / missing None, 1 numeric / missing Zero, 2 numeric / missing NaN,
        /// 3 categorical.
        public var kind: UInt8
        public var defaultLeft: UInt8
        /// Categorical: index into `bitsetRanges`.
        public var category: UInt16
    }

    /// The most features a tree model may take: far beyond any this engine feeds, and a bound
    /// on what a malformed header can make the loaders allocate.
    public static let maxFeatures = 1 << 16

    /// The deepest tree a model may hold. Trained trees are far shallower (LightGBM and
    /// XGBoost cap depth in the tens); the evaluators' set-up walks trees recursively.
    public static let maxDepth = 1024

    /// Why `trees` over `nodes` and `leaves` are not a forest of proper trees, or nil: every
    /// child within range, no node reached twice (a cycle, or two parents), no tree deeper
    /// than `maxDepth`. Loaders check it before building an ensemble: a file that fails it
    /// would send the evaluators round a cycle or off the end of the node array.
    public static func structureProblem(trees: [Tree], nodes: [Node], leaves: Int) -> String? {
        var seen = [Bool](repeating: false, count: nodes.count)
        var stack: [(node: Int32, depth: Int)] = []
        for (t, tree) in trees.enumerated() {
            stack.append((tree.root, 1))
            while let (n, depth) = stack.popLast() {
                if n < 0 {
                    if Int(~n) >= leaves { return "tree \(t): leaf \(~n) of \(leaves)" }
                    continue
                }
                guard Int(n) < nodes.count else { return "tree \(t): node \(n) of \(nodes.count)" }
                guard !seen[Int(n)] else { return "tree \(t): node \(n) is reached twice (a cycle, or two parents)" }
                guard depth <= maxDepth else { return "tree \(t) is deeper than \(maxDepth)" }
                seen[Int(n)] = true
                stack.append((nodes[Int(n)].left, depth + 1))
                stack.append((nodes[Int(n)].right, depth + 1))
            }
        }
        return nil
    }

    public struct Tree: Sendable {
        public var root: Int32  // node index, or ~leaf for a single-leaf tree
        public var output: Int32  // class this tree adds to
        /// Linear tree: per leaf, [start, end) into `linearTerms` (else empty).
        public var linear: Bool
    }

    public let arithmetic: Arithmetic
    public let features: Int
    /// The feature names the model was trained with, when its file records them.
    public internal(set) var featureNames: [String]? = nil
    public let outputs: Int
    public let transform: Transform
    /// Added to every output before the trees (XGBoost's base margin; 0 for LightGBM).
    public let baseMargin: [Double]
    /// LightGBM random forests (`boosting=rf`, `average_output` in the file): the raw score
    /// is the sum over the trees divided by this many iterations; 0 when scores are sums.
    public let averageOver: Int
    public let trees: [Tree]
    public let nodes: UnsafeMutableBufferPointer<Node>
    public let leaves: UnsafeMutableBufferPointer<Double>
    public let bitsets: UnsafeMutableBufferPointer<UInt32>
    /// Per categorical split: (start, count) of its words in `bitsets`.
    public let bitsetRanges: UnsafeMutableBufferPointer<(Int32, Int32)>
    /// Linear leaves: leafTermRange[leaf] = (start, count) into linearFeatures/linearCoeffs;
    /// leafConst[leaf] is the constant.
    public let leafConst: UnsafeMutableBufferPointer<Double>
    public let leafTermRange: UnsafeMutableBufferPointer<(Int32, Int32)>
    public let linearFeatures: UnsafeMutableBufferPointer<Int32>
    public let linearCoeffs: UnsafeMutableBufferPointer<Double>
    /// The evaluation layout (nil for linear trees, which take the per-tree path).
    public private(set) var lockstep: LockstepForest?
    /// QuickScorer, for LightGBM ensembles of trees of ≤ 64 leaves (numeric or categorical
    /// splits) whose prefix tables fit, or its scan where the ranked walk cannot take the
    /// model. Held by pointer (allocated once at load): `predict` must not copy the scorer's
    /// description.
    private(set) var quick: UnsafeMutablePointer<QuickScorer>?
    /// The ranked tree walk, for the other numeric LightGBM trees and XGBoost's.
    private(set) var binned: UnsafeMutablePointer<BinnedForest>?
    /// XGBoost gblinear: [features + 1][outputs] float weights, the biases in the last row.
    let gblinear: UnsafeMutableBufferPointer<Float>?
    /// Every allocation above and in the evaluators, for `deallocate`.
    let memory: Unmanaged<LoadTimeLog>

    /// Built by the loaders from plain arrays (copied into one-time allocations).
    init(
        arithmetic: Arithmetic, features: Int, outputs: Int, transform: Transform, baseMargin: [Double],
        averageOver: Int = 0,
        trees: [Tree], nodes: [Node], leaves: [Double], bitsets: [UInt32], bitsetRanges: [(Int32, Int32)],
        leafConst: [Double] = [], leafTermRange: [(Int32, Int32)] = [], linearFeatures: [Int32] = [],
        linearCoeffs: [Double] = [], gblinear: [Float]? = nil
    ) {
        let (log, previous) = LoadTimeLog.begin()
        defer { LoadTimeLog.end(restoring: previous) }
        memory = log
        self.arithmetic = arithmetic
        self.features = features
        self.outputs = outputs
        self.transform = transform
        self.baseMargin = baseMargin
        self.averageOver = averageOver
        self.trees = trees
        self.nodes = loadTimeBuffer(nodes)
        self.leaves = loadTimeBuffer(leaves)
        self.bitsets = loadTimeBuffer(bitsets)
        self.bitsetRanges = loadTimeBuffer(bitsetRanges)
        self.leafConst = loadTimeBuffer(leafConst)
        self.leafTermRange = loadTimeBuffer(leafTermRange)
        self.linearFeatures = loadTimeBuffer(linearFeatures)
        self.linearCoeffs = loadTimeBuffer(linearCoeffs)
        lockstep = nil
        quick = nil
        self.gblinear = gblinear.map(loadTimeBuffer)
        if gblinear != nil {
            binned = nil
            return
        }
        if !trees.contains(where: \.linear) { lockstep = LockstepForest(self) }
        func boxed<T>(_ value: T?) -> UnsafeMutablePointer<T>? { value.map { loadTimeCopy([$0]) } }
        // QuickScorer with its prefix tables first; then the ranked walk, which beat
        // QuickScorer's scan (BENCHMARKS.md, "Design measurements"); the scan only where neither fits.
        let scorer = QuickScorer(self)
        if let scorer, scorer.prefix != nil {
            quick = boxed(scorer)
            binned = nil
        } else {
            binned = boxed(BinnedForest(self))
            quick = binned == nil ? boxed(scorer) : nil
        }
    }

    /// Frees the model's memory. Only for the holder of its last copy, once nothing evaluates
    /// it: the engine never calls it (its models live as long as the process).
    public func deallocate() { LoadTimeLog.free(memory) }

    /// Whether tree t feeds class t % outputs: LightGBM's and XGBoost's multiclass layout
    /// (and every one-class model). Load time.
    var classesTakeTurns: Bool { trees.indices.allSatisfy { Int(trees[$0].output) == $0 % outputs } }

    /// LightGBM's kZeroThreshold: 1e-35 as a float, widened.
    static let zeroThreshold = Double(Float(1e-35))

    /// Whether `v` names a category in the bitset `range` (words of `bitsets`), by LightGBM's
    /// rule: the value is truncated to an integer first, so (−1, 0) is category 0; NaN and
    /// values ≤ −1 are in no set, nor is anything past the bitset (huge and infinite values
    /// included — they are compared before any conversion, which would trap).
    @inline(__always)
    static func inCategorySet(
        _ v: Double, _ range: (Int32, Int32), _ bitsets: UnsafeMutableBufferPointer<UInt32>
    ) -> Bool {
        let (start, count) = range
        guard v > -1, v < Double(Int(count) &* 32) else { return false }  // NaN fails both
        let c = Int(v)
        return (bitsets[Int(start) &+ c >> 5] >> UInt32(c & 31)) & 1 == 1
    }

    /// XGBoost's rule for a categorical split, on the float value: a negative value, or one
    /// past the node's bitset (its largest listed category's 32-bit words), is not a category
    /// and goes the default way, as NaN does; otherwise the value is truncated and a listed
    /// category goes right.
    @inline(__always)
    static func xgboostCategoryGoesLeft(
        _ v: Float, _ defaultLeft: Bool, _ range: (Int32, Int32), _ bitsets: UnsafeMutableBufferPointer<UInt32>
    ) -> Bool {
        let (start, count) = range
        guard v >= 0, v < Float(Int(count) &* 32) else { return defaultLeft }  // NaN fails both
        let c = Int(v)
        return (bitsets[Int(start) &+ c >> 5] >> UInt32(c & 31)) & 1 == 0
    }

    /// The leaf a row reaches in the tree rooted at `root` (LightGBM arithmetic).
    @inline(__always)
    func leafLightGBM(_ root: Int32, _ x: UnsafePointer<Double>) -> Int {
        var n = root
        while n >= 0 {
            let node = nodes[Int(n)]
            var v = x[Int(node.feature)]
            let goLeft: Bool
            switch node.kind {
            case 3:
                goLeft = TreeEnsemble.inCategorySet(v, bitsetRanges[Int(node.category)], bitsets)
            case 2:
                goLeft = v.isNaN ? node.defaultLeft != 0 : v <= node.threshold
            case 1:
                if v.isNaN { v = 0 }
                goLeft =
                    (v >= -TreeEnsemble.zeroThreshold && v <= TreeEnsemble.zeroThreshold)
                    ? node.defaultLeft != 0 : v <= node.threshold
            default:
                if v.isNaN { v = 0 }
                goLeft = v <= node.threshold
            }
            n = goLeft ? node.left : node.right
        }
        return Int(~n)
    }

    /// The leaf a row reaches (XGBoost arithmetic: float features and conditions, `<`).
    @inline(__always)
    func leafXGBoost(_ root: Int32, _ x: UnsafePointer<Double>) -> Int {
        var n = root
        while n >= 0 {
            let node = nodes[Int(n)]
            let v = Float(x[Int(node.feature)])
            let goLeft: Bool
            if v.isNaN {
                goLeft = node.defaultLeft != 0
            } else if node.kind == 3 {
                goLeft = TreeEnsemble.xgboostCategoryGoesLeft(
                    v, node.defaultLeft != 0, bitsetRanges[Int(node.category)], bitsets)
            } else {
                goLeft = v < Float(node.threshold)
            }
            n = goLeft ? node.left : node.right
        }
        return Int(~n)
    }

    /// Which evaluator `predict` runs, as `bench model` reports it: the choice depends on the
    /// model and on the CPU (the blocked walk needs AVX-512), so a figure names its path.
    public var evaluator: String {
        if gblinear != nil { return "gblinear (float dot product)" }
        if let b = binned {
            guard let w = b.pointee.blocked else { return "ranked walk" }
            return "blocked walk (AVX-512, \(w.pointee.slots) rank slots)"
        }
        if let q = quick {
            return q.pointee.compare != nil
                ? "QuickScorer, prefix tables, compare kernel (AVX-512)"
                : q.pointee.prefix != nil ? "QuickScorer, prefix tables" : "QuickScorer, scan"
        }
        return lockstep != nil ? "lockstep walk" : "node walk"
    }

    /// How many values `predict` writes that mean something: `outputs`, or 1 for a class
    /// index (the rest of `out` is scratch).
    public func predictionWidth(raw: Bool = false) -> Int { transform == .classIndex && !raw ? 1 : outputs }

    /// Writes the model's outputs for one row of `features` doubles (NaN = missing) into
    /// `out` (room for `outputs` values): probabilities or values after the objective's
    /// transform, or raw scores with `raw` — what the library's `predict()` gives, and its
    /// `predict(raw_score=True)` / `output_margin=True`.
    public func predict(_ x: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>, raw: Bool = false) {
        if let w = gblinear {
            // XGBoost's gblinear starts every output from the first base margin, not its own.
            let base = Float(baseMargin[0])
            for k in 0..<outputs {
                var sum = w[features &* outputs &+ k] + base
                for i in 0..<features {
                    let v = Float(x[i])
                    if !v.isNaN { sum += v * w[i &* outputs &+ k] }
                }
                out[k] = Double(sum)
            }
            return finish(out, raw: raw)
        }
        if let b = binned {
            BinnedForest.scores(b, x, out)
            return finish(out, raw: raw)
        }
        if let q = quick {
            QuickScorer.scores(q, x, out)
            return finish(out, raw: raw)
        }
        if let f = lockstep {
            for k in 0..<outputs { out[k] = arithmetic == .xgboost ? Double(Float(baseMargin[k])) : 0 }
            lockstepScores(f, x, out)
            return finish(out, raw: raw)
        }
        switch arithmetic {
        case .lightgbm:
            for k in 0..<outputs { out[k] = 0 }
            for t in trees {
                let leaf = t.root < 0 ? Int(~t.root) : leafLightGBM(t.root, x)
                out[Int(t.output)] += t.linear ? linearOutput(leaf, x) : leaves[leaf]
            }
        case .xgboost:
            // XGBoost accumulates in float, starting from the base margin.
            for k in 0..<outputs { out[k] = Double(Float(baseMargin[k])) }
            for t in trees {
                let leaf = t.root < 0 ? Int(~t.root) : leafXGBoost(t.root, x)
                out[Int(t.output)] = Double(Float(out[Int(t.output)]) + Float(leaves[leaf]))
            }
        }
        finish(out, raw: raw)
    }

    /// The summed scores into the library's outputs: LightGBM's rf average (raw scores
    /// included, as `PredictRaw` divides), then the objective's transform.
    @inline(__always)
    func finish(_ out: UnsafeMutablePointer<Double>, raw: Bool) {
        if averageOver > 0 {
            let n = Double(averageOver)
            for k in 0..<outputs { out[k] /= n }
        }
        if !raw { apply(transform, out) }
    }

    func linearOutput(_ leaf: Int, _ x: UnsafePointer<Double>) -> Double {
        var output = leafConst[leaf]
        let (start, count) = leafTermRange[leaf]
        for i in Int(start)..<Int(start + count) {
            let v = x[Int(linearFeatures[i])]
            if v.isNaN { return leaves[leaf] }
            output += linearCoeffs[i] * v
        }
        return output
    }

    func apply(_ transform: Transform, _ out: UnsafeMutablePointer<Double>) {
        switch transform {
        case .identity:
            break
        case let .sigmoid(scale):
            if arithmetic == .xgboost {
                for k in 0..<outputs { out[k] = Double(1 / (1 + expf(-Float(out[k])))) }
            } else {
                for k in 0..<outputs { out[k] = 1.0 / (1.0 + exp(-scale * out[k])) }
            }
        case let .sigmoidPerClass(scale):
            for k in 0..<outputs { out[k] = 1.0 / (1.0 + exp(-scale * out[k])) }
        case .exp:
            if arithmetic == .xgboost {
                for k in 0..<outputs { out[k] = Double(expf(Float(out[k]))) }
            } else {
                for k in 0..<outputs { out[k] = exp(out[k]) }
            }
        case .step:
            for k in 0..<outputs { out[k] = out[k] > 0 ? 1 : 0 }
        case .softplus:
            for k in 0..<outputs { out[k] = log1p(exp(out[k])) }
        case .signedSquare:
            for k in 0..<outputs { out[k] = (out[k] > 0 ? 1 : out[k] < 0 ? -1 : 0) * out[k] * out[k] }
        case .classIndex:
            var best = 0
            for k in 1..<outputs where out[k] > out[best] { best = k }
            out[0] = Double(best)
        case .softmax:
            if arithmetic == .xgboost {
                // XGBoost: float values, float max, double sum of expf, float division.
                var wmax = Float(out[0])
                for k in 1..<outputs { wmax = fmaxf(Float(out[k]), wmax) }
                var wsum = 0.0
                for k in 0..<outputs {
                    let e = expf(Float(out[k]) - wmax)
                    out[k] = Double(e)
                    wsum += Double(e)
                }
                for k in 0..<outputs { out[k] = Double(Float(out[k]) / Float(wsum)) }
            } else {
                var wmax = out[0]
                for k in 1..<outputs { wmax = max(out[k], wmax) }
                var wsum = 0.0
                for k in 0..<outputs {
                    out[k] = exp(out[k] - wmax)
                    wsum += out[k]
                }
                for k in 0..<outputs { out[k] /= wsum }
            }
        }
    }
}
