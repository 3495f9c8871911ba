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
/// missing type None or NaN (LightGBM arithmetic): a NaN feature sends each node its missing
/// way (NaN type: its default; None: as 0). Leaf values are summed in tree order, so the
/// outputs are the library's to the bit. One scratch row of bitvectors: one caller at a time.
public struct QuickScorer: @unchecked Sendable {
    // All in memory allocated once at load (raw pointers: no array checks on the hot path).
    let thresholds: UnsafeMutablePointer<Double>   // per feature, ascending, concatenated
    let nodeTree: UnsafeMutablePointer<Int32>
    let nodeMask: UnsafeMutablePointer<UInt64>
    let featureStart: UnsafeMutablePointer<Int>    // features + 1 offsets into the three above
    let nanTree: UnsafeMutablePointer<Int32>       // per feature: nodes a NaN sends right
    let nanMask: UnsafeMutablePointer<UInt64>
    let nanStart: UnsafeMutablePointer<Int>
    let leafValues: UnsafeMutablePointer<Double>   // per tree, left to right
    let leafStart: UnsafeMutablePointer<Int>
    let outputs: UnsafeMutablePointer<Int32>
    let features: Int
    let trees: Int
    let bits: UnsafeMutablePointer<UInt64>
    /// Prefix tables, when they fit in `prefixTableLimit` bytes: for feature f and k in
    /// 0...n_f, row `prefixRow[f] + k` holds, per tree, the AND of the masks of f's first k
    /// nodes (by threshold) — exactly what the scan would and into each tree when k nodes are
    /// false. A row then costs one binary search for k and `trees` independent ANDs, which
    /// vectorise, instead of k dependent read-modify-writes. Same masks, same leaves, same sums.
    /// 32-bit words: every tree has at most 32 leaves (64-bit models keep the scan).
    let prefix: UnsafeMutablePointer<UInt32>?
    let prefixRow: UnsafeMutablePointer<Int>
    /// Per feature, the AND of the masks a NaN applies, per tree (rows of `trees` words).
    let nanRows: UnsafeMutablePointer<UInt32>?
    let bits32: UnsafeMutablePointer<UInt32>
    static let prefixTableLimit = 4 << 20

    /// - Parameter prefixTables: build the prefix tables when they fit (tests compare both ways).
    init?(_ e: TreeEnsemble, prefixTables: Bool = true) {
        guard e.arithmetic == .lightgbm, !e.trees.contains(where: \.linear) else { return nil }
        var perFeature = [[(Double, Int32, UInt64)]](repeating: [], count: e.features)
        var perFeatureNaN = [[(Int32, UInt64)]](repeating: [], count: e.features)
        var leafValues: [Double] = [], leafStart: [Int] = []
        for (t, tree) in e.trees.enumerated() {
            leafStart.append(leafValues.count)
            // In-order walk: leaves left to right; each node's left subtree spans [a, b).
            var order: [Int] = []   // global leaf indices in left-to-right order
            var nodes: [(node: Int, a: Int, b: Int)] = []
            var ok = true
            func walk(_ n: Int32) -> Int {  // the first leaf position of the subtree
                if n < 0 { order.append(Int(~n)); return order.count - 1 }
                let node = e.nodes[Int(n)]
                if node.kind != 0 && node.kind != 2 { ok = false }
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
                perFeature[Int(node.feature)].append((node.threshold, Int32(t), mask))
                let nanGoesLeft = node.kind == 2 ? node.defaultLeft != 0 : 0 <= node.threshold
                if !nanGoesLeft { perFeatureNaN[Int(node.feature)].append((Int32(t), mask)) }
            }
        }
        leafStart.append(leafValues.count)
        var thresholds: [Double] = [], nodeTree: [Int32] = [], nodeMask: [UInt64] = [], featureStart = [0]
        var nanTree: [Int32] = [], nanMask: [UInt64] = [], nanStart = [0]
        for f in 0..<e.features {
            for (th, t, m) in perFeature[f].sorted(by: { $0.0 < $1.0 }) { thresholds.append(th); nodeTree.append(t); nodeMask.append(m) }
            featureStart.append(thresholds.count)
            for (t, m) in perFeatureNaN[f] { nanTree.append(t); nanMask.append(m) }
            nanStart.append(nanTree.count)
        }
        func copy<T>(_ a: [T]) -> UnsafeMutablePointer<T> {
            let p = UnsafeMutablePointer<T>.allocate(capacity: max(a.count, 1))
            p.initialize(from: a, count: a.count)
            return p
        }
        self.thresholds = copy(thresholds); self.nodeTree = copy(nodeTree); self.nodeMask = copy(nodeMask)
        self.featureStart = copy(featureStart)
        self.nanTree = copy(nanTree); self.nanMask = copy(nanMask); self.nanStart = copy(nanStart)
        self.leafValues = copy(leafValues); self.leafStart = copy(leafStart)
        outputs = copy(e.trees.map(\.output))
        features = e.features
        trees = e.trees.count
        bits = .allocate(capacity: max(1, e.trees.count))
        bits.initialize(repeating: .max, count: max(1, e.trees.count))
        let treeCount = max(1, e.trees.count)
        let rows = thresholds.count + e.features
        prefixRow = .allocate(capacity: e.features + 1)
        bits32 = .allocate(capacity: treeCount)
        bits32.initialize(repeating: .max, count: treeCount)
        let narrow = zip(leafStart, leafStart.dropFirst()).allSatisfy { $1 - $0 <= 32 }
        if narrow && rows * treeCount * 4 <= Self.prefixTableLimit && prefixTables {
            let table = UnsafeMutablePointer<UInt32>.allocate(capacity: rows * treeCount)
            let nan = UnsafeMutablePointer<UInt32>.allocate(capacity: e.features * treeCount)
            var row = 0
            for f in 0..<e.features {
                prefixRow[f] = row
                let first = table + row * treeCount
                first.initialize(repeating: .max, count: treeCount)
                for i in featureStart[f]..<featureStart[f + 1] {
                    let previous = table + row * treeCount, next = previous + treeCount
                    next.initialize(from: previous, count: treeCount)
                    next[Int(nodeTree[i])] &= UInt32(truncatingIfNeeded: nodeMask[i])
                    row += 1
                }
                row += 1
                let nanRow = nan + f * treeCount
                nanRow.initialize(repeating: .max, count: treeCount)
                for i in nanStart[f]..<nanStart[f + 1] { nanRow[Int(nanTree[i])] &= UInt32(truncatingIfNeeded: nanMask[i]) }
            }
            prefixRow[e.features] = row
            prefix = table
            nanRows = nan
        } else {
            prefix = nil
            nanRows = nil
        }
    }

    /// Adds every tree's exit leaf to `out` (raw scores, tree order).
    @inline(__always)
    func scores(_ x: UnsafePointer<Double>, _ out: UnsafeMutablePointer<Double>) {
        if let prefix, let nanRows {
            scoresByPrefix(x, out, prefix, nanRows)
            return
        }
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
    func scoresByPrefix(_ x: UnsafePointer<Double>, _ out: UnsafeMutablePointer<Double>,
                        _ prefix: UnsafeMutablePointer<UInt32>, _ nanRows: UnsafeMutablePointer<UInt32>) {
        let bits = bits32
        bits.update(repeating: .max, count: trees)
        for f in 0..<features {
            let start = featureStart[f], n = featureStart[f + 1] - start
            if n == 0 { continue }
            let v = x[f]
            let row: UnsafeMutablePointer<UInt32>
            if v.isNaN {
                row = nanRows + f * trees
            } else {
                // k = how many of f's thresholds are < v (the nodes v sends right).
                var lo = 0, len = n
                while len > 0 {
                    let half = len >> 1
                    let goRight = thresholds[start + lo + half] < v
                    lo = goRight ? lo + half + 1 : lo
                    len = goRight ? len - half - 1 : half
                }
                row = prefix + (prefixRow[f] + lo) * trees
            }
            for t in 0..<trees { bits[t] &= row[t] }
        }
        for t in 0..<trees {
            out[Int(outputs[t])] += leafValues[leafStart[t] + bits[t].trailingZeroBitCount]
        }
    }
}
