/// LightGBM trees of numeric splits walked on ranks instead of doubles, for trees too wide for
/// QuickScorer's prefix tables. Per row, every feature a split uses is ranked once (`ThresholdGrid`: r =
/// #{distinct thresholds < x}); then `x <= u_i` is `r <= i`, and a node is 8 bytes — its left
/// child (the right one is next to it), `lo` = i + 1 and a rank slot — so a step is one node
/// load, one rank load and `left + (rank >= lo ? 1 : 0)`: no NaN branch, no double compare.
///
/// Missing values: each feature has two rank slots. A NaN ranks `nanRank` (above every `lo`:
/// goes right) in slot f and 0 (below every `lo`: goes left) in slot `features + f`; a node
/// reads the slot of the way NaN goes for it (missing type NaN: its default; None: as 0, so
/// left when 0 ≤ threshold). A leaf reads the last slot, always 0, with lo = 1, and is its
/// own left child, so trees walked in lockstep for the deepest one's depth stay on their
/// leaves. Leaves are added to their class in tree order: the library's sums to the bit.
///
/// XGBoost models too: there a split sends x left when Float(x) < c in float, so the cuts are
/// the conditions rounded to float and a value is ranked as #{c ≤ Float(x)}, the rank of the
/// next float up; NaN goes the node's default way; leaves are summed in float from the base
/// margin, as XGBoost does.
///
/// Built at load time when every split is numeric (LightGBM: missing type None or NaN).
struct BinnedForest: @unchecked Sendable {
    struct Node {
        var left: Int32
        var lo: UInt16
        var slot: UInt16
    }

    static let nanRank: UInt32 = 0xFFFF

    let grid: ThresholdGrid
    let nodes: UnsafeMutablePointer<Node>
    /// Per node, the leaf value (leaves only).
    let values: UnsafeMutablePointer<Double>
    let roots: UnsafeMutablePointer<Int32>
    let depths: UnsafeMutablePointer<Int32>
    let classOf: UnsafeMutablePointer<Int32>
    let treeCount: Int
    let outputCount: Int
    let used: UnsafeMutablePointer<Int>
    let usedCount: Int
    /// This row's rank slots: 2 × features + 1 (scratch: one caller at a time).
    let ranks: UnsafeMutablePointer<UInt32>
    let features: Int
    let xgboost: Bool
    /// Per class, where its sum starts (XGBoost's base margin as a float; 0 for LightGBM).
    let baseMargin: UnsafeMutablePointer<Double>

    init?(_ e: TreeEnsemble) {
        let xgboost = e.arithmetic == .xgboost
        func cut(_ n: TreeEnsemble.Node) -> Double { xgboost ? Double(Float(n.threshold)) : n.threshold }
        // A NaN threshold has no rank (the double walk sends every value right of it).
        guard !e.trees.contains(where: \.linear),
              e.nodes.allSatisfy({ (xgboost ? $0.kind != 3 : $0.kind == 0 || $0.kind == 2) && !cut($0).isNaN }) else { return nil }
        var perFeature = [[Double]](repeating: [], count: e.features)
        for n in e.nodes { perFeature[Int(n.feature)].append(cut(n)) }
        let grid = ThresholdGrid(thresholds: perFeature)
        guard 2 * e.features < Int(UInt16.max), (0..<e.features).allSatisfy({ grid.cutCount($0) < Int(Self.nanRank) - 1 }) else { return nil }
        let leafSlot = UInt16(2 * e.features)
        let leaf = { (me: Int32) in Node(left: me, lo: 1, slot: leafSlot) }
        // Each distinct threshold's index, per feature.
        var index = [[Double: Int]](repeating: [:], count: e.features)
        for f in 0..<e.features { for i in 0..<grid.cutCount(f) { index[f][grid.cut(f, i)] = i } }

        var nodes: [Node] = [], values: [Double] = [], roots: [Int32] = [], depths: [Int32] = []
        for tree in e.trees {
            // Breadth first: a node's children take two adjacent slots.
            let root = Int32(nodes.count)
            roots.append(root)
            nodes.append(leaf(root))
            values.append(0)
            var queue: [(source: Int32, slot: Int32, depth: Int32)] = [(tree.root, root, 0)]
            var deepest: Int32 = 0
            var q = 0
            while q < queue.count {
                let (source, slot, depth) = queue[q]
                q += 1
                deepest = max(deepest, depth)
                if source < 0 {  // a leaf: its own left child, never right
                    nodes[Int(slot)] = leaf(slot)
                    values[Int(slot)] = e.leaves[Int(~source)]
                    continue
                }
                let n = e.nodes[Int(source)]
                let lo = UInt16(index[Int(n.feature)][cut(n)]! + 1)
                let nanLeft = xgboost || n.kind == 2 ? n.defaultLeft != 0 : 0 <= n.threshold
                let left = Int32(nodes.count)
                nodes[Int(slot)] = Node(left: left, lo: lo, slot: UInt16(Int(n.feature) + (nanLeft ? e.features : 0)))
                nodes.append(leaf(left))
                nodes.append(leaf(left + 1))
                values += [0, 0]
                queue.append((n.left, left, depth + 1))
                queue.append((n.right, left + 1, depth + 1))
            }
            depths.append(deepest)
        }
        self.grid = grid
        self.nodes = loadTimeCopy(nodes)
        self.values = loadTimeCopy(values)
        self.roots = loadTimeCopy(roots)
        self.depths = loadTimeCopy(depths)
        classOf = loadTimeCopy(e.trees.map(\.output))
        treeCount = e.trees.count
        outputCount = e.outputs
        let usedFeatures = (0..<e.features).filter { grid.cutCount($0) > 0 }
        used = loadTimeCopy(usedFeatures)
        usedCount = usedFeatures.count
        ranks = .allocate(capacity: 2 * e.features + 1)
        ranks.initialize(repeating: 0, count: 2 * e.features + 1)
        features = e.features
        self.xgboost = xgboost
        baseMargin = loadTimeCopy((0..<e.outputs).map { xgboost ? Double(Float(e.baseMargin[$0])) : 0 })
    }

    @inline(__always)
    static func step(_ nodes: UnsafeMutablePointer<Node>, _ ranks: UnsafeMutablePointer<UInt32>, _ n: Int32) -> Int32 {
        let node = nodes[Int(n)]
        return node.left &+ (ranks[Int(node.slot)] >= UInt32(node.lo) ? 1 : 0)
    }

    /// Adds a leaf to its class: in double (LightGBM) or in float (XGBoost).
    @inline(__always)
    static func add(_ out: UnsafeMutablePointer<Double>, _ k: Int, _ leaf: Double, _ xgboost: Bool) {
        out[k] = xgboost ? Double(Float(out[k]) + Float(leaf)) : out[k] + leaf
    }

    /// Writes every class's raw score to `out`. Static over a pointer: never copied.
    static func scores(_ b: UnsafePointer<BinnedForest>, _ x: UnsafePointer<Double>, _ out: UnsafeMutablePointer<Double>) {
        let (grid, ranks, used, features, xgboost) = (b.pointee.grid, b.pointee.ranks, b.pointee.used, b.pointee.features, b.pointee.xgboost)
        for u in 0..<b.pointee.usedCount {
            let f = used[u]
            let v = x[f]
            // XGBoost: #{c ≤ Float(v)} = #{c < the next float up}.
            let key = xgboost ? Double(Float(v).nextUp) : v
            let r = v.isNaN ? nanRank : UInt32(truncatingIfNeeded: grid.rank(f, key))
            ranks[f] = r
            ranks[features &+ f] = v.isNaN ? 0 : r
        }
        let (nodes, values, roots, depths, classOf) = (b.pointee.nodes, b.pointee.values, b.pointee.roots, b.pointee.depths, b.pointee.classOf)
        let count = b.pointee.treeCount
        for k in 0..<b.pointee.outputCount { out[k] = b.pointee.baseMargin[k] }
        var t = 0
        // Eight trees at a time (their loads overlap), then one at a time.
        while t &+ 8 <= count {
            var n0 = roots[t], n1 = roots[t &+ 1], n2 = roots[t &+ 2], n3 = roots[t &+ 3]
            var n4 = roots[t &+ 4], n5 = roots[t &+ 5], n6 = roots[t &+ 6], n7 = roots[t &+ 7]
            var steps: Int32 = 0
            for j in 0..<8 { steps = Swift.max(steps, depths[t &+ j]) }
            for _ in 0..<steps {
                n0 = step(nodes, ranks, n0); n1 = step(nodes, ranks, n1); n2 = step(nodes, ranks, n2); n3 = step(nodes, ranks, n3)
                n4 = step(nodes, ranks, n4); n5 = step(nodes, ranks, n5); n6 = step(nodes, ranks, n6); n7 = step(nodes, ranks, n7)
            }
            add(out, Int(classOf[t]), values[Int(n0)], xgboost)
            add(out, Int(classOf[t &+ 1]), values[Int(n1)], xgboost)
            add(out, Int(classOf[t &+ 2]), values[Int(n2)], xgboost)
            add(out, Int(classOf[t &+ 3]), values[Int(n3)], xgboost)
            add(out, Int(classOf[t &+ 4]), values[Int(n4)], xgboost)
            add(out, Int(classOf[t &+ 5]), values[Int(n5)], xgboost)
            add(out, Int(classOf[t &+ 6]), values[Int(n6)], xgboost)
            add(out, Int(classOf[t &+ 7]), values[Int(n7)], xgboost)
            t &+= 8
        }
        while t < count {
            var n = roots[t]
            for _ in 0..<depths[t] { n = step(nodes, ranks, n) }
            add(out, Int(classOf[t]), values[Int(n)], xgboost)
            t &+= 1
        }
    }
}
