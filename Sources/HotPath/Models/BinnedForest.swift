import CSupport

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
/// Built at load time when every split is numeric (LightGBM: missing type None or NaN). On
/// CPUs with AVX-512, large forests of up to 128 features are walked as 64-byte blocks of three
/// levels instead (`BlockedWalk`, below), on the same ranks.
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
    /// Tree t feeds class t % outputCount, and there are at most four classes (LightGBM's and
    /// XGBoost's multiclass layout, and every one-class model).
    let classesTakeTurns: Bool
    let used: UnsafeMutablePointer<Int>
    let usedCount: Int
    /// This row's rank slots: 2 × features + 1 (scratch: one caller at a time).
    let ranks: UnsafeMutablePointer<UInt32>
    /// Each tree's leaf for this row (scratch): its node index from the scalar walk, counted
    /// from the tree's root from the blocked one.
    let leaves: UnsafeMutablePointer<Int32>
    let features: Int
    let xgboost: Bool
    /// Per class, where its sum starts (XGBoost's base margin as a float; 0 for LightGBM).
    let baseMargin: UnsafeMutablePointer<Double>
    /// The scalar walk's node memory (what decides for the blocked walk).
    let nodeBytes: Int
    /// The same trees as three-level blocks, when this CPU runs the blocked walk and `init`
    /// chose it.
    let blocked: UnsafeMutablePointer<BlockedWalk>?

    /// When to lay the trees out for the blocked walk (where the CPU runs it). Tests use
    /// `never` and `always` to check both walks on every model.
    enum Blocks { case never, whenLarge, always }

    init?(_ e: TreeEnsemble, blocks: Blocks = .whenLarge) {
        let xgboost = e.arithmetic == .xgboost
        func cut(_ n: TreeEnsemble.Node) -> Double { xgboost ? Double(Float(n.threshold)) : n.threshold }
        // A NaN threshold has no rank (the double walk sends every value right of it).
        guard !e.trees.contains(where: \.linear),
            e.nodes.allSatisfy({ (xgboost ? $0.kind != 3 : $0.kind == 0 || $0.kind == 2) && !cut($0).isNaN })
        else { return nil }
        var perFeature = [[Double]](repeating: [], count: e.features)
        for n in e.nodes { perFeature[Int(n.feature)].append(cut(n)) }
        let grid = ThresholdGrid(thresholds: perFeature)
        guard 2 * e.features < Int(UInt16.max),
            (0..<e.features).allSatisfy({ grid.cutCount($0) < Int(Self.nanRank) - 1 })
        else { return nil }
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
        classesTakeTurns = e.outputs <= 4 && e.classesTakeTurns
        let usedFeatures = (0..<e.features).filter { grid.cutCount($0) > 0 }
        used = loadTimeCopy(usedFeatures)
        usedCount = usedFeatures.count
        leaves = loadTimeCopy([Int32](repeating: 0, count: e.trees.count))
        ranks = loadTimeAllocate(2 * e.features + 1)
        ranks.initialize(repeating: 0, count: 2 * e.features + 1)
        features = e.features
        self.xgboost = xgboost
        // Blocks pay off once the nodes no longer sit in L1 (BENCHMARKS.md, "Design measurements").
        nodeBytes = nodes.count * MemoryLayout<Node>.stride
        blocked =
            blocks == .always || blocks == .whenLarge && nodeBytes > BlockedWalk.minimumNodeBytes
            ? BlockedWalk(nodes: nodes, roots: roots, features: e.features).map { loadTimeCopy([$0]) } : nil
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
    static func scores(
        _ b: UnsafePointer<BinnedForest>, _ x: UnsafePointer<Double>, _ out: UnsafeMutablePointer<Double>
    ) {
        let (grid, ranks, used, features, xgboost) = (
            b.pointee.grid, b.pointee.ranks, b.pointee.used, b.pointee.features, b.pointee.xgboost
        )
        let blocked = b.pointee.blocked
        for u in 0..<b.pointee.usedCount {
            let f = used[u]
            let v = x[f]
            // XGBoost: #{c ≤ Float(v)} = #{c < the next float up}.
            let key = xgboost ? Double(Float(v).nextUp) : v
            let r = v.isNaN ? nanRank : UInt32(truncatingIfNeeded: grid.rank(f, key))
            let nanLeft = v.isNaN ? 0 : r
            if let w = blocked {
                w.pointee.ranks[f] = UInt16(truncatingIfNeeded: r)
                w.pointee.ranks[features &+ f] = UInt16(truncatingIfNeeded: nanLeft)
            } else {
                ranks[f] = r
                ranks[features &+ f] = nanLeft
            }
        }
        let (nodes, values, roots, depths) = (b.pointee.nodes, b.pointee.values, b.pointee.roots, b.pointee.depths)
        let count = b.pointee.treeCount
        for k in 0..<b.pointee.outputCount { out[k] = b.pointee.baseMargin[k] }
        let leaves = b.pointee.leaves
        if let w = blocked {
            // The kernel writes each tree's leaf counted from its root node.
            w.pointee.walk(
                w.pointee.blocks, w.pointee.roots, w.pointee.depths, count, w.pointee.ranks, w.pointee.path, leaves)
            sumLeaves(b, out) { values[Int(roots[$0]) &+ Int(leaves[$0])] }
            return
        }
        var t = 0
        // Eight trees at a time (their loads overlap), then one at a time.
        while t &+ 8 <= count {
            var n0 = roots[t], n1 = roots[t &+ 1], n2 = roots[t &+ 2], n3 = roots[t &+ 3]
            var n4 = roots[t &+ 4], n5 = roots[t &+ 5], n6 = roots[t &+ 6], n7 = roots[t &+ 7]
            var steps: Int32 = 0
            for j in 0..<8 { steps = Swift.max(steps, depths[t &+ j]) }
            for _ in 0..<steps {
                n0 = step(nodes, ranks, n0); n1 = step(nodes, ranks, n1); n2 = step(nodes, ranks, n2);
                n3 = step(nodes, ranks, n3)
                n4 = step(nodes, ranks, n4); n5 = step(nodes, ranks, n5); n6 = step(nodes, ranks, n6);
                n7 = step(nodes, ranks, n7)
            }
            leaves[t] = n0; leaves[t &+ 1] = n1; leaves[t &+ 2] = n2; leaves[t &+ 3] = n3
            leaves[t &+ 4] = n4; leaves[t &+ 5] = n5; leaves[t &+ 6] = n6; leaves[t &+ 7] = n7
            t &+= 8
        }
        while t < count {
            var n = roots[t]
            for _ in 0..<depths[t] { n = step(nodes, ranks, n) }
            leaves[t] = n
            t &+= 1
        }
        sumLeaves(b, out) { values[Int(leaves[$0])] }
    }

    /// Adds each tree's leaf (`leaf(t)`) to its class in tree order: the library's sums to the
    /// bit.
    @inline(__always)
    static func sumLeaves(
        _ b: UnsafePointer<BinnedForest>, _ out: UnsafeMutablePointer<Double>, _ leaf: (Int) -> Double
    ) {
        let (count, xgboost, classOf) = (b.pointee.treeCount, b.pointee.xgboost, b.pointee.classOf)
        if b.pointee.classesTakeTurns {
            sumTakingTurns(out, b.pointee.outputCount, count, xgboost, leaf)
        } else {
            for t in 0..<count { add(out, Int(classOf[t]), leaf(t), xgboost) }
        }
    }

    /// Adds tree t's leaf to class t % `classes` (at most 4) in tree order, each class's sum in
    /// a register: through `out[k]` every addition waited on the previous one's store and
    /// reload (BENCHMARKS.md, "Design measurements").
    @inline(__always)
    static func sumTakingTurns(
        _ out: UnsafeMutablePointer<Double>, _ classes: Int, _ count: Int, _ xgboost: Bool,
        _ leaf: (Int) -> Double
    ) {
        func plus(_ a: Double, _ v: Double) -> Double { xgboost ? Double(Float(a) + Float(v)) : a + v }
        var s0 = out[0], s1 = classes > 1 ? out[1] : 0, s2 = classes > 2 ? out[2] : 0, s3 = classes > 3 ? out[3] : 0
        var t = 0
        while t &+ classes <= count {
            s0 = plus(s0, leaf(t))
            if classes > 1 { s1 = plus(s1, leaf(t &+ 1)) }
            if classes > 2 { s2 = plus(s2, leaf(t &+ 2)) }
            if classes > 3 { s3 = plus(s3, leaf(t &+ 3)) }
            t &+= classes
        }
        // Fewer than `classes` trees left: they feed classes 0, 1, … in order.
        if t < count { s0 = plus(s0, leaf(t)) }
        if t &+ 1 < count { s1 = plus(s1, leaf(t &+ 1)) }
        if t &+ 2 < count { s2 = plus(s2, leaf(t &+ 2)) }
        out[0] = s0
        if classes > 1 { out[1] = s1 }
        if classes > 2 { out[2] = s2 }
        if classes > 3 { out[3] = s3 }
    }
}

/// BinnedForest's trees as 64-byte blocks of three levels each, walked by the AVX-512 kernel in
/// CSupport/forest.c (layout described there): per block, one load, one permute for the
/// ranks of its seven nodes, one compare, and a table lookup for the exit the row takes.
/// Exact by construction: the same ranks, `lo`s and NaN slots as the scalar walk; a leaf met
/// inside a block sends every exit below it to that leaf. Built when the CPU has AVX-512
/// BW/VL/DQ and the model's rank slots (two per feature) fit the kernel's 256.
struct BlockedWalk {
    /// Smaller forests keep the scalar walk (see BinnedForest.init).
    static let minimumNodeBytes = 16 << 10

    let walk: hp_forest_walk_fn
    /// Rank slots the kernel holds: 64, 128 or 256.
    let slots: Int
    let blocks: UnsafeMutablePointer<UInt8>
    /// Per tree: its first block's byte offset, or ~0 when its root is a leaf.
    let roots: UnsafeMutablePointer<Int32>
    /// Per tree: the blocks on its longest path.
    let depths: UnsafeMutablePointer<Int32>
    /// This row's rank slots, as the kernel reads them (scratch).
    let ranks: UnsafeMutablePointer<UInt16>
    /// A block's compare result (7 node bits; the 8th is always 0) → the exit (0..<8) the
    /// path takes.
    let path: UnsafeMutablePointer<UInt8>

    /// - Parameters: `nodes` and `roots` as BinnedForest lays them out (a tree's nodes follow
    ///   its root; a leaf is its own left child).
    init?(nodes: [BinnedForest.Node], roots: [Int32], features: Int) {
        guard let walk = hp_forest_walk_blocks(Int32(min(2 * features, 1 << 20))) else { return nil }
        slots = 2 * features <= 64 ? 64 : 2 * features <= 128 ? 128 : 256
        // Block 0 is what finished lanes read: every node false, every exit 0 (stay).
        // A node that is never true: a NaN-left slot (never 0xFFFF) against lo 0xFFFF.
        let never = (slot: UInt16(features), lo: UInt16.max)
        var words: [UInt16] = []  // 32 per block: 8 slots, 8 los, 8 exits of two words
        func newBlock() -> Int {
            words +=
                [UInt16](repeating: never.slot, count: 8) + [UInt16](repeating: never.lo, count: 8)
                + [UInt16](repeating: 0, count: 16)
            return words.count / 32 - 1
        }
        func isLeaf(_ n: Int) -> Bool { Int(nodes[n].left) == n }
        /// What a lane in block `from` takes on reaching node `n` of the tree rooted at
        /// `root` (the exit's value: the distance in bytes to the block `n` heads, or ~leaf
        /// counted from the root), and how many blocks lie below it.
        func enter(_ n: Int, root: Int, from: Int) -> (exit: Int, depth: Int32) {
            if isLeaf(n) { return (~(n - root), 0) }
            let b = newBlock()
            var deepest: Int32 = 0
            func setExit(_ e: Int, _ v: Int) {  // int32, little-endian
                words[32 * b + 16 + 2 * e] = UInt16(truncatingIfNeeded: v)
                words[32 * b + 17 + 2 * e] = UInt16(truncatingIfNeeded: v >> 16)
            }
            // Node `n` at heap position j of block b.
            func fill(_ j: Int, _ n: Int) {
                if isLeaf(n) {
                    // Its (never true) position leads left to its first exit; send all there.
                    let level = j == 0 ? 0 : j < 3 ? 1 : 2
                    let first = (j - ((1 << level) - 1)) << (3 - level), width = 8 >> level
                    for e in first..<(first + width) { setExit(e, ~(n - root)) }
                    return
                }
                words[32 * b + j] = nodes[n].slot
                words[32 * b + 8 + j] = nodes[n].lo
                let left = Int(nodes[n].left)
                if j < 3 {
                    fill(2 * j + 1, left)
                    fill(2 * j + 2, left + 1)
                } else {
                    for (e, c) in [(2 * (j - 3), left), (2 * (j - 3) + 1, left + 1)] {
                        let (exit, depth) = enter(c, root: root, from: b)
                        setExit(e, exit)
                        deepest = max(deepest, depth)
                    }
                }
            }
            fill(0, n)
            return (64 * (b - from), deepest + 1)
        }
        _ = newBlock()
        var rootStates: [Int32] = [], depths: [Int32] = []
        for r in roots {
            let (state, depth) = enter(Int(r), root: Int(r), from: 0)  // from block 0: the root block's offset
            rootStates.append(Int32(state))
            depths.append(depth)
        }
        var table = [UInt8](repeating: 0, count: 256)  // the kernel indexes by a byte
        for m in 0..<256 {
            func bit(_ j: Int) -> Int { (m >> j) & 1 }
            var j = 0
            for _ in 0..<2 { j = 2 * j + 1 + bit(j) }
            table[m] = UInt8(2 * (j - 3) + bit(j))
        }
        self.walk = walk
        // A block is one cache line, read with aligned loads.
        blocks = loadTimeBytes(words, alignment: 64).bindMemory(to: UInt8.self, capacity: 2 * words.count)
        self.roots = loadTimeCopy(rootStates)
        self.depths = loadTimeCopy(depths)
        ranks = loadTimeCopy([UInt16](repeating: 0, count: slots))
        path = loadTimeCopy(table)
    }
}
