import CSupport

#if canImport(Glibc)
import Glibc
#endif

/// QuickScorer (Lucchese et al., 2015) for ensembles of small LightGBM trees: no tree walk.
/// Leaves of each tree are numbered left to right; each internal node carries a bitmask with
/// its left subtree's leaves cleared. A row makes a node "false" (go right) when x > threshold,
/// so for every feature the nodes are sorted by threshold and scanned while threshold < x,
/// and-ing their masks into their trees' leaf bitvectors; each tree's exit leaf is then the
/// lowest set bit. Every comparison is independent (no dependent loads between levels).
///
/// Built at load time when every tree has at most 64 leaves and every split is numeric with
/// missing type None or NaN, or categorical (LightGBM arithmetic): a NaN feature sends each
/// numeric node its missing way (NaN type: its default; None: as 0) and every categorical
/// node right. Categorical splits need the prefix tables (a row per category). Leaf values
/// are summed in tree order, so the outputs are the library's to the bit. One scratch row of
/// bitvectors: one caller at a time.
public struct QuickScorer: @unchecked Sendable {
    // All in memory allocated once at load (raw pointers: no array checks on the hot path).
    let thresholds: UnsafeMutablePointer<Double>  // per feature, ascending, concatenated
    let nodeTree: UnsafeMutablePointer<Int32>
    let nodeMask: UnsafeMutablePointer<UInt64>
    let featureStart: UnsafeMutablePointer<Int>  // features + 1 offsets into the three above
    let nanTree: UnsafeMutablePointer<Int32>  // per feature: nodes a NaN sends right
    let nanMask: UnsafeMutablePointer<UInt64>
    let nanStart: UnsafeMutablePointer<Int>
    let leafValues: UnsafeMutablePointer<Double>  // per tree, left to right
    let leafStart: UnsafeMutablePointer<Int>
    let outputs: UnsafeMutablePointer<Int32>
    let features: Int
    let trees: Int
    let bits: UnsafeMutablePointer<UInt64>
    /// Prefix tables, when they fit in `prefixTableLimit` bytes.
    /// For each feature some split uses and each j in 0...m (m distinct thresholds), one row
    /// holds per tree the AND of the masks of the nodes whose threshold is among the first j
    /// — exactly what the scan would and in when a value exceeds those j — and one more row
    /// holds what a NaN ands in. A row then costs a rank lookup (`ThresholdGrid`) and
    /// `trees` independent ANDs, instead of dependent read-modify-writes per false node.
    /// Words are as narrow as the widest tree (8, 16, 32 or 64 leaves: 1, 2, 4 or 8 bytes a tree),
    /// so 32 trees of 8 leaves AND as one 32-byte row. Same masks, same leaves, same sums as
    /// the scan.
    let prefix: UnsafeMutableRawPointer?
    /// Bytes per tree in a prefix row (1, 2, 4 or 8); rows are `rowStride` bytes, padded to 32.
    let wordBytes: Int
    let rowStride: Int
    /// Per feature a split uses: where its thresholds and rows are.
    let used: UnsafeMutablePointer<UsedFeature>
    let usedCount: Int
    /// Leaf values with a fixed stride of `wordBytes * 8` per tree (left to right): the leaf
    /// of tree t is `slotValues[t * width + trailing zeros]`, one load, no per-tree offset.
    let slotValues: UnsafeMutablePointer<Double>
    let prefixBits: UnsafeMutableRawPointer
    /// Per used feature, the prefix row this call selected.
    let rowScratch: UnsafeMutablePointer<UnsafeRawPointer>
    /// Class k's trees are k, k + outputs, … (LightGBM's order), so each class sums its trees
    /// in a register, in tree order: the library's sums to the bit.
    let outputCount: Int
    static let prefixTableLimit = 4 << 20
    /// The compare kernel (quickscore.c) and its plan, for models small enough: prefix rows of
    /// at most 256 bytes, numeric splits only, and at most `compareBlockLimit` groups of eight
    /// thresholds over all used features; nil on CPUs without AVX-512. Same rows, same sums.
    /// The limit is where the compares stop paying against the grid lookup (BENCHMARKS.md, "Design measurements").
    let compare: (kernel: hp_qs_scores_fn, plan: UnsafeMutablePointer<hp_qs_plan>)?
    static let compareBlockLimit = 32

    /// A feature some split uses: the rows for j = 0…(its distinct thresholds), j = #{u < v}
    /// from `grid`, start at `firstRow`; `nanRow` is what a NaN ands in.
    struct UsedFeature {
        var feature: Int
        var firstRow: Int
        var nanRow: Int
        /// A categorical feature: the row of category c (0 ≤ c < categories) is firstRow + c,
        /// and `nanRow` serves every value in no set (NaN, ≤ −1, past every bitset). 0 for
        /// a numeric feature.
        var categories = 0
    }
    let grid: ThresholdGrid

    /// - Parameters:
    ///   - prefixTables: build the prefix tables when they fit (tests compare both ways).
    ///   - compareBlocks: the compare kernel's limit (tests force it on or off).
    init?(_ e: TreeEnsemble, prefixTables: Bool = true, compareBlocks: Int = compareBlockLimit) {
        // A NaN threshold cannot be ordered among the others (the double walk takes it).
        guard e.arithmetic == .lightgbm, !e.trees.contains(where: \.linear),
            !e.nodes.contains(where: { $0.threshold.isNaN })
        else { return nil }
        var perFeature = [[(Double, Int32, UInt64)]](repeating: [], count: e.features)
        var perFeatureNaN = [[(Int32, UInt64)]](repeating: [], count: e.features)
        // Categorical splits (LightGBM sends a listed category left): per feature, each node's
        // tree, mask and bitset.
        var perFeatureCategorical = [[(tree: Int, mask: UInt64, set: Int)]](repeating: [], count: e.features)
        var leafValues: [Double] = [], leafStart: [Int] = []
        for (t, tree) in e.trees.enumerated() {
            leafStart.append(leafValues.count)
            // In-order walk: leaves left to right; each node's left subtree spans [a, b).
            var order: [Int] = []  // global leaf indices in left-to-right order
            var nodes: [(node: Int, a: Int, b: Int)] = []
            var ok = true
            func walk(_ n: Int32) -> Int {  // the first leaf position of the subtree
                if n < 0 { order.append(Int(~n)); return order.count - 1 }
                let node = e.nodes[Int(n)]
                if node.kind == 1 { ok = false }
                let a = walk(node.left)
                let leftEnd = order.count
                _ = walk(node.right)
                nodes.append((Int(n), a, leftEnd))
                return a
            }
            _ = walk(tree.root)
            guard ok, order.count <= 64 else { return nil }
            for l in order { leafValues.append(e.leaves[l]) }
            for (n, a, b) in nodes {
                let node = e.nodes[n]
                let width = b - a
                let clear = width == 64 ? UInt64.max : ((UInt64(1) << UInt64(width)) - 1) << UInt64(a)
                let mask = ~clear
                if node.kind == 3 {
                    perFeatureCategorical[Int(node.feature)].append((t, mask, Int(node.category)))
                    continue
                }
                perFeature[Int(node.feature)].append((node.threshold, Int32(t), mask))
                let nanGoesLeft = node.kind == 2 ? node.defaultLeft != 0 : 0 <= node.threshold
                if !nanGoesLeft { perFeatureNaN[Int(node.feature)].append((Int32(t), mask)) }
            }
        }
        leafStart.append(leafValues.count)
        var thresholds: [Double] = [], nodeTree: [Int32] = [], nodeMask: [UInt64] = [], featureStart = [0]
        var nanTree: [Int32] = [], nanMask: [UInt64] = [], nanStart = [0]
        for f in 0..<e.features {
            for (th, t, m) in perFeature[f].sorted(by: { $0.0 < $1.0 }) {
                thresholds.append(th); nodeTree.append(t); nodeMask.append(m)
            }
            featureStart.append(thresholds.count)
            for (t, m) in perFeatureNaN[f] { nanTree.append(t); nanMask.append(m) }
            nanStart.append(nanTree.count)
        }
        self.thresholds = loadTimeCopy(thresholds); self.nodeTree = loadTimeCopy(nodeTree);
        self.nodeMask = loadTimeCopy(nodeMask)
        self.featureStart = loadTimeCopy(featureStart)
        self.nanTree = loadTimeCopy(nanTree); self.nanMask = loadTimeCopy(nanMask);
        self.nanStart = loadTimeCopy(nanStart)
        self.leafValues = loadTimeCopy(leafValues); self.leafStart = loadTimeCopy(leafStart)
        outputs = loadTimeCopy(e.trees.map(\.output))
        features = e.features
        trees = e.trees.count
        bits = loadTimeAllocate(e.trees.count)
        bits.initialize(repeating: .max, count: max(1, e.trees.count))
        outputCount = e.outputs
        let widest = zip(leafStart, leafStart.dropFirst()).map { $1 - $0 }.max() ?? 1
        let wordBytes = widest <= 8 ? 1 : widest <= 16 ? 2 : widest <= 32 ? 4 : 8
        let rowStride = (e.trees.count * wordBytes + 31) & ~31
        self.wordBytes = wordBytes
        self.rowStride = rowStride
        // Categorical features take rows per category (up to their widest bitset), and only
        // prefix tables serve them: a model that has them and no tables is not taken.
        let categories = perFeatureCategorical.map { nodes in
            nodes.map { Int(e.bitsetRanges[$0.set].1) * 32 }.max() ?? 0
        }
        guard (0..<e.features).allSatisfy({ categories[$0] == 0 || featureStart[$0 + 1] == featureStart[$0] }) else {
            return nil
        }
        let usedFeatures = (0..<e.features).filter { featureStart[$0 + 1] > featureStart[$0] || categories[$0] > 0 }
        let grid = ThresholdGrid(
            thresholds: (0..<e.features).map { Array(thresholds[featureStart[$0]..<featureStart[$0 + 1]]) })
        self.grid = grid
        let rows = usedFeatures.reduce(0) { $0 + (categories[$1] > 0 ? categories[$1] + 1 : grid.cutCount($1) + 2) }
        used = loadTimeAllocate(usedFeatures.count)
        usedCount = usedFeatures.count
        rowScratch = loadTimeAllocate(usedFeatures.count)
        let width = wordBytes * 8
        slotValues = loadTimeAllocate(e.trees.count * width)
        slotValues.initialize(repeating: 0, count: max(1, e.trees.count * width))
        for t in 0..<e.trees.count {
            for i in leafStart[t]..<leafStart[t + 1] { slotValues[t * width + i - leafStart[t]] = leafValues[i] }
        }
        prefixBits = loadTimeAllocate(bytes: rowStride, minimum: 32, alignment: 32)
        if prefixTables && e.classesTakeTurns && rows * rowStride <= Self.prefixTableLimit {
            let table = loadTimeAllocate(bytes: rows * rowStride, minimum: 32, alignment: 32)
            table.initializeMemory(as: UInt8.self, repeating: 0, count: max(32, rows * rowStride))
            // Rows are built as 64-bit masks and stored narrowed (a tree's bits fit its word).
            var masks = [UInt64](repeating: .max, count: e.trees.count)
            func store(_ row: Int) {
                let p = table + row * rowStride
                for t in masks.indices {
                    switch wordBytes {
                    case 1: p.storeBytes(of: UInt8(truncatingIfNeeded: masks[t]), toByteOffset: t, as: UInt8.self)
                    case 2: p.storeBytes(of: UInt16(truncatingIfNeeded: masks[t]), toByteOffset: 2 * t, as: UInt16.self)
                    case 4: p.storeBytes(of: UInt32(truncatingIfNeeded: masks[t]), toByteOffset: 4 * t, as: UInt32.self)
                    default: p.storeBytes(of: masks[t], toByteOffset: 8 * t, as: UInt64.self)
                    }
                }
            }
            var row = 0
            for (u, f) in usedFeatures.enumerated() {
                if categories[f] > 0 {
                    used[u] = UsedFeature(
                        feature: f, firstRow: row, nanRow: row + categories[f], categories: categories[f])
                    for c in 0...categories[f] {  // the last row: in no set
                        for t in masks.indices { masks[t] = .max }
                        for node in perFeatureCategorical[f] {
                            let listed =
                                c < categories[f]
                                && TreeEnsemble.inCategorySet(Double(c), e.bitsetRanges[node.set], e.bitsets)
                            if !listed { masks[node.tree] &= node.mask }
                        }
                        store(row)
                        row += 1
                    }
                    continue
                }
                let distinct = grid.cutCount(f)
                used[u] = UsedFeature(feature: f, firstRow: row, nanRow: row + distinct + 1)
                for t in masks.indices { masks[t] = .max }
                store(row)
                var i = featureStart[f]
                for j in 0..<distinct {
                    // Row j + 1: the nodes of the first j + 1 distinct thresholds are false.
                    while i < featureStart[f + 1] && thresholds[i] == grid.cut(f, j) {
                        masks[Int(nodeTree[i])] &= nodeMask[i]
                        i += 1
                    }
                    row += 1
                    store(row)
                }
                row += 1
                for t in masks.indices { masks[t] = .max }
                for i in nanStart[f]..<nanStart[f + 1] { masks[Int(nanTree[i])] &= nanMask[i] }
                store(row)
                row += 1
            }
            prefix = table
            compare = Self.comparePlan(
                table: table, rowStride: rowStride, wordBytes: wordBytes, trees: e.trees.count,
                classes: e.outputs, used: Array(UnsafeBufferPointer(start: used, count: usedCount)),
                grid: grid, leaves: slotValues, blockLimit: compareBlocks)
        } else {
            if categories.contains(where: { $0 > 0 }) { return nil }
            prefix = nil
            compare = nil
        }
    }

    /// The compare kernel's plan over the prefix tables, when the model and the CPU suit it.
    static func comparePlan(
        table: UnsafeMutableRawPointer, rowStride: Int, wordBytes: Int, trees: Int, classes: Int,
        used: [UsedFeature], grid: ThresholdGrid, leaves: UnsafeMutablePointer<Double>, blockLimit: Int
    )
        -> (kernel: hp_qs_scores_fn, plan: UnsafeMutablePointer<hp_qs_plan>)?
    {
        guard blockLimit > 0, used.allSatisfy({ $0.categories == 0 }),
            used.reduce(0, { $0 + (grid.cutCount($1.feature) + 7) / 8 }) <= blockLimit,
            let kernel = hp_qs_scores_best(Int32(rowStride))
        else { return nil }
        var features: [hp_qs_feature] = [], thresholds: [Double] = []
        for u in used {
            let count = grid.cutCount(u.feature), blocks = (count + 7) / 8
            features.append(
                hp_qs_feature(
                    index: Int32(u.feature), blocks: Int32(blocks),
                    first_row: Int32(u.firstRow * rowStride), nan_row: Int32(u.nanRow * rowStride)))
            thresholds +=
                (0..<count).map { grid.cut(u.feature, $0) } + [Double](repeating: .infinity, count: blocks * 8 - count)
        }
        let plan = loadTimeAllocate(1, of: hp_qs_plan.self)
        plan.initialize(
            to: hp_qs_plan(
                features: UnsafePointer(loadTimeCopy(features)),
                thresholds: UnsafePointer(
                    loadTimeBytes(thresholds, alignment: 64).assumingMemoryBound(to: Double.self)),
                table: UnsafePointer(table.assumingMemoryBound(to: UInt8.self)), leaves: UnsafePointer(leaves),
                used: Int32(used.count), word_bytes: Int32(wordBytes), trees: Int32(trees), classes: Int32(classes)))
        return (kernel, plan)
    }

    /// Writes every class's raw score (its trees' exit leaves summed in tree order) to `out`.
    /// Static over a pointer: the scorer is never copied on the hot path.
    @inline(__always)
    static func scores(_ q: UnsafePointer<QuickScorer>, _ x: UnsafePointer<Double>, _ out: UnsafeMutablePointer<Double>)
    {
        if let (kernel, plan) = q.pointee.compare {
            kernel(plan, x, out)
        } else if let prefix = q.pointee.prefix {
            switch q.pointee.wordBytes {
            case 1: scoresByPrefix(q, UInt8.self, prefix, x, out)
            case 2: scoresByPrefix(q, UInt16.self, prefix, x, out)
            case 4: scoresByPrefix(q, UInt32.self, prefix, x, out)
            default: scoresByPrefix(q, UInt64.self, prefix, x, out)
            }
        } else {
            q.pointee.scoresByScan(x, out)
        }
    }

    /// The same, on a value (tests).
    func scores(_ x: UnsafePointer<Double>, _ out: UnsafeMutablePointer<Double>) {
        withUnsafePointer(to: self) { QuickScorer.scores($0, x, out) }
    }

    func scoresByScan(_ x: UnsafePointer<Double>, _ out: UnsafeMutablePointer<Double>) {
        for k in 0..<outputCount { out[k] = 0 }
        bits.update(repeating: .max, count: trees)
        for f in 0..<features {
            let v = x[f]
            if v.isNaN {
                for i in nanStart[f]..<nanStart[f + 1] { bits[Int(nanTree[i])] &= nanMask[i] }
                continue
            }
            var i = featureStart[f]
            let end = featureStart[f + 1]
            while i < end && thresholds[i] < v {
                bits[Int(nodeTree[i])] &= nodeMask[i]
                i &+= 1
            }
        }
        for t in 0..<trees {
            out[Int(outputs[t])] += leafValues[leafStart[t] + bits[t].trailingZeroBitCount]
        }
    }

    @inline(__always)
    static func scoresByPrefix<W: FixedWidthInteger & UnsignedInteger>(
        _ q: UnsafePointer<QuickScorer>, _: W.Type, _ table: UnsafeMutableRawPointer,
        _ x: UnsafePointer<Double>, _ out: UnsafeMutablePointer<Double>
    ) {
        let (used, usedCount, grid, rowStride) = (
            q.pointee.used, q.pointee.usedCount, q.pointee.grid, q.pointee.rowStride
        )
        let (prefixBits, slotValues, trees, k) = (
            q.pointee.prefixBits, q.pointee.slotValues, q.pointee.trees, q.pointee.outputCount
        )
        // First every feature's row (independent lookups the CPU overlaps), then the ANDs 32
        // bytes at a time in registers: no read-modify-write chain through memory.
        let rowAt = q.pointee.rowScratch
        for u in 0..<usedCount {
            let f = used[u]
            let v = x[f.feature]
            let r: Int
            if f.categories > 0 {
                // LightGBM truncates: (−1, 0) is category 0; NaN fails both compares.
                r = v > -1 && v < Double(f.categories) ? f.firstRow &+ Int(v) : f.nanRow
            } else {
                r = v.isNaN ? f.nanRow : f.firstRow &+ grid.rank(f.feature, v)
            }
            rowAt[u] = UnsafeRawPointer(table + r &* rowStride)
        }
        var o = 0
        while o < rowStride {
            var a0 = UInt64.max, a1 = UInt64.max, a2 = UInt64.max, a3 = UInt64.max
            for u in 0..<usedCount {
                let row = rowAt[u] + o
                a0 &= row.load(as: UInt64.self)
                a1 &= row.load(fromByteOffset: 8, as: UInt64.self)
                a2 &= row.load(fromByteOffset: 16, as: UInt64.self)
                a3 &= row.load(fromByteOffset: 24, as: UInt64.self)
            }
            prefixBits.storeBytes(of: a0, toByteOffset: o, as: UInt64.self)
            prefixBits.storeBytes(of: a1, toByteOffset: o &+ 8, as: UInt64.self)
            prefixBits.storeBytes(of: a2, toByteOffset: o &+ 16, as: UInt64.self)
            prefixBits.storeBytes(of: a3, toByteOffset: o &+ 24, as: UInt64.self)
            o &+= 32
        }
        let bits = UnsafeRawPointer(prefixBits).assumingMemoryBound(to: W.self)
        let width = W.bitWidth
        if k == 1 {
            // One class: the same sequential sum, four trees a step.
            var sum = 0.0, t = 0
            while t &+ 4 <= trees {
                sum += slotValues[t &* width &+ bits[t].trailingZeroBitCount]
                sum += slotValues[(t &+ 1) &* width &+ bits[t &+ 1].trailingZeroBitCount]
                sum += slotValues[(t &+ 2) &* width &+ bits[t &+ 2].trailingZeroBitCount]
                sum += slotValues[(t &+ 3) &* width &+ bits[t &+ 3].trailingZeroBitCount]
                t &+= 4
            }
            while t < trees { sum += slotValues[t &* width &+ bits[t].trailingZeroBitCount]; t &+= 1 }
            out[0] = sum
            return
        }
        for c in 0..<k {
            var sum = 0.0
            var t = c
            while t < trees {
                sum += slotValues[t &* width &+ bits[t].trailingZeroBitCount]
                t &+= k
            }
            out[c] = sum
        }
    }
}
