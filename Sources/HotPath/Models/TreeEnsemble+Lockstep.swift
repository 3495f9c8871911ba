/// The evaluation layout: internal nodes and leaves in one array, a leaf being a node whose
/// children are itself, so a tree is walked for exactly its depth with no "reached a leaf?"
/// branch, and four trees are walked in lockstep so their dependent loads overlap instead of
/// queueing. Built once at load time from the loaders' arrays.
///
/// A node is 24 bytes; `flags` says how its comparison departs from the plain `x <= t`
/// (LightGBM) or `x < t` (XGBoost): bit 0 = where NaN goes (1 = left), bit 1 = LightGBM's
/// Zero missing type (|x| ≤ 1e-35 goes the default way), bit 2 = categorical, bit 3 = default
/// left. Nodes with bit 1 or 2 take the general path.
public struct LockstepForest: @unchecked Sendable {
    public struct Node: BitwiseCopyable {
        public var threshold: Double
        public var feature: Int32
        public var left: Int32
        public var right: Int32
        public var flags: UInt8
        public var category: UInt16
    }

    public let nodes: UnsafeMutableBufferPointer<Node>
    /// Per node: the leaf value (leaves only).
    public let values: UnsafeMutableBufferPointer<Double>
    public let roots: UnsafeMutableBufferPointer<Int32>
    public let depths: UnsafeMutableBufferPointer<Int32>
    public let outputsOf: UnsafeMutableBufferPointer<Int32>
    public let treeCount: Int

    init(_ e: TreeEnsemble) {
        // Internal nodes keep their indices; leaf ℓ becomes node (internal count + ℓ).
        let internalCount = e.nodes.count
        let total = internalCount + e.leaves.count
        var nodes = [Node](
            repeating: Node(threshold: 0, feature: 0, left: 0, right: 0, flags: 0, category: 0), count: total)
        var values = [Double](repeating: 0, count: total)
        func id(_ child: Int32) -> Int32 { child >= 0 ? child : Int32(internalCount) + ~child }
        for i in 0..<internalCount {
            let n = e.nodes[i]
            var flags: UInt8 = 0
            let dl = n.defaultLeft != 0
            switch (e.arithmetic, n.kind) {
            case (_, 3): flags = 4 | (dl ? 8 : 0)
            case (.lightgbm, 0): flags = 0 <= n.threshold ? 1 : 0  // NaN is read as 0
            case (.lightgbm, 1): flags = 2 | (dl ? 1 | 8 : 0)  // NaN → 0 → zero → default
            default: flags = dl ? 1 | 8 : 0  // NaN goes the default way
            }
            nodes[i] = Node(
                threshold: n.threshold, feature: n.feature, left: id(n.left), right: id(n.right), flags: flags,
                category: n.category)
        }
        for l in 0..<e.leaves.count {
            let me = Int32(internalCount + l)
            nodes[internalCount + l] = Node(threshold: 0, feature: 0, left: me, right: me, flags: 0, category: 0)
            values[internalCount + l] = e.leaves[l]
        }
        func depth(_ n: Int32) -> Int32 {
            n < Int32(internalCount) ? 1 + max(depth(nodes[Int(n)].left), depth(nodes[Int(n)].right)) : 0
        }
        let roots = e.trees.map { id($0.root) }
        self.nodes = loadTimeBuffer(nodes)
        self.values = loadTimeBuffer(values)
        self.roots = loadTimeBuffer(roots)
        self.depths = loadTimeBuffer(roots.map(depth))
        self.outputsOf = loadTimeBuffer(e.trees.map { $0.output })
        treeCount = e.trees.count
    }
}

extension TreeEnsemble {
    /// One step down from node `n` (LightGBM arithmetic).
    @inline(__always)
    func stepLightGBM(_ f: LockstepForest, _ n: Int32, _ x: UnsafePointer<Double>) -> Int32 {
        let node = f.nodes[Int(n)]
        let v = x[Int(node.feature)]
        if _slowPath(node.flags & 6 != 0) { return slowStep(f, node, v) }
        let goLeft = v.isNaN ? node.flags & 1 != 0 : v <= node.threshold
        return goLeft ? node.left : node.right
    }

    /// One step down from node `n` (XGBoost arithmetic).
    @inline(__always)
    func stepXGBoost(_ f: LockstepForest, _ n: Int32, _ x: UnsafePointer<Double>) -> Int32 {
        let node = f.nodes[Int(n)]
        let v = Float(x[Int(node.feature)])
        if _slowPath(node.flags & 4 != 0) { return slowStep(f, node, Double(v)) }
        let goLeft = v.isNaN ? node.flags & 1 != 0 : v < Float(node.threshold)
        return goLeft ? node.left : node.right
    }

    /// Zero-missing-type and categorical nodes.
    @inline(never)
    func slowStep(_ f: LockstepForest, _ node: LockstepForest.Node, _ value: Double) -> Int32 {
        var v = value
        let defaultLeft = node.flags & 8 != 0
        if node.flags & 4 != 0 {
            let range = bitsetRanges[Int(node.category)]
            let left =
                arithmetic == .xgboost
                ? TreeEnsemble.xgboostCategoryGoesLeft(Float(v), defaultLeft, range, bitsets)
                : TreeEnsemble.inCategorySet(v, range, bitsets)
            return left ? node.left : node.right
        }
        if v.isNaN { v = 0 }
        if v >= -TreeEnsemble.zeroThreshold && v <= TreeEnsemble.zeroThreshold {
            return defaultLeft ? node.left : node.right
        }
        return v <= node.threshold ? node.left : node.right
    }

    /// Raw scores by walking four trees at a time (trees of one output class in a group of
    /// four need not be: each tree's leaf is added to its own output, in tree order, so the
    /// sums are the library's).
    @inline(__always)
    func lockstepScores(_ f: LockstepForest, _ x: UnsafePointer<Double>, _ out: UnsafeMutablePointer<Double>) {
        let xgb = arithmetic == .xgboost
        var t = 0
        let count = f.treeCount
        // Eight trees at a time while they last (more loads in flight), then four, then one.
        while t + 8 <= count {
            var a = f.roots[t], b = f.roots[t + 1], c = f.roots[t + 2], d = f.roots[t + 3]
            var e = f.roots[t + 4], g = f.roots[t + 5], h = f.roots[t + 6], k = f.roots[t + 7]
            var steps: Int32 = 0
            for j in 0..<8 { steps = max(steps, f.depths[t + j]) }
            var s: Int32 = 0
            if xgb {
                while s < steps {
                    a = stepXGBoost(f, a, x); b = stepXGBoost(f, b, x); c = stepXGBoost(f, c, x);
                    d = stepXGBoost(f, d, x)
                    e = stepXGBoost(f, e, x); g = stepXGBoost(f, g, x); h = stepXGBoost(f, h, x);
                    k = stepXGBoost(f, k, x)
                    s &+= 1
                }
            } else {
                while s < steps {
                    a = stepLightGBM(f, a, x); b = stepLightGBM(f, b, x); c = stepLightGBM(f, c, x);
                    d = stepLightGBM(f, d, x)
                    e = stepLightGBM(f, e, x); g = stepLightGBM(f, g, x); h = stepLightGBM(f, h, x);
                    k = stepLightGBM(f, k, x)
                    s &+= 1
                }
            }
            add(f, t, a, out); add(f, t + 1, b, out); add(f, t + 2, c, out); add(f, t + 3, d, out)
            add(f, t + 4, e, out); add(f, t + 5, g, out); add(f, t + 6, h, out); add(f, t + 7, k, out)
            t &+= 8
        }
        while t + 4 <= count {
            var a = f.roots[t], b = f.roots[t + 1], c = f.roots[t + 2], d = f.roots[t + 3]
            let steps = max(max(f.depths[t], f.depths[t + 1]), max(f.depths[t + 2], f.depths[t + 3]))
            var s: Int32 = 0
            if xgb {
                while s < steps {
                    a = stepXGBoost(f, a, x); b = stepXGBoost(f, b, x); c = stepXGBoost(f, c, x);
                    d = stepXGBoost(f, d, x)
                    s &+= 1
                }
            } else {
                while s < steps {
                    a = stepLightGBM(f, a, x); b = stepLightGBM(f, b, x); c = stepLightGBM(f, c, x);
                    d = stepLightGBM(f, d, x)
                    s &+= 1
                }
            }
            add(f, t, a, out); add(f, t + 1, b, out); add(f, t + 2, c, out); add(f, t + 3, d, out)
            t &+= 4
        }
        while t < count {
            var a = f.roots[t]
            for _ in 0..<f.depths[t] { a = xgb ? stepXGBoost(f, a, x) : stepLightGBM(f, a, x) }
            add(f, t, a, out)
            t &+= 1
        }
    }

    @inline(__always)
    func add(_ f: LockstepForest, _ t: Int, _ leafNode: Int32, _ out: UnsafeMutablePointer<Double>) {
        let k = Int(f.outputsOf[t])
        if arithmetic == .xgboost {
            out[k] = Double(Float(out[k]) + Float(f.values[Int(leafNode)]))
        } else {
            out[k] += f.values[Int(leafNode)]
        }
    }
}
