import CSupport

/// Per feature, the distinct thresholds its splits use (its cuts u₀ < u₁ < …), and for a value
/// v the rank j = #{u < v} — so `v <= u_i` exactly when `j <= i`, and a model can compare
/// small integers instead of doubles, or pick a precomputed row by j.
///
/// The rank comes from a grid, not a binary search: cell(v) = ⌊(v − low)·scale⌋ clamped to
/// [0, cells), and `cellBase[cell]` = #{u : cell(u) < cell(v)}. cell is monotone, so a cut in
/// an earlier cell is < v and one in a later cell is > v; only the ≤ `cellWidth` cuts sharing
/// v's cell are compared, branch-free (`cellWidth` cuts of +∞ pad the end of each feature).
/// Exact for every v, ties included. A feature whose cuts are too clustered for a grid of at
/// most `maxCells` cells (`cells == 0`) is ranked by binary search instead.
/// Built at load time; all memory is allocated once and read-only afterwards.
struct ThresholdGrid: @unchecked Sendable {
    struct Feature {
        var cutStart = 0  // into `cuts`
        var cutCount = 0
        var cells = 0
        var lastCell = 0.0  // cells − 1
        var low = 0.0
        var scale = 0.0
        var cellStart = 0  // into `cellBase`
    }

    static let cellWidth = 4
    static let maxCells = 8192

    let features: UnsafeMutablePointer<Feature>
    let cuts: UnsafeMutablePointer<Double>
    let cellBase: UnsafeMutablePointer<UInt16>

    /// - Parameter thresholds: per feature, the thresholds of its splits (any order, repeats
    ///   allowed, finite).
    init(thresholds: [[Double]]) {
        var table = [Feature](repeating: Feature(), count: max(1, thresholds.count))
        var cutList: [Double] = [], bases: [UInt16] = []
        for (f, list) in thresholds.enumerated() where !list.isEmpty {
            let distinct = Array(Set(list)).sorted()
            var feature = Feature(
                cutStart: cutList.count, cutCount: distinct.count, low: distinct[0], cellStart: bases.count)
            cutList += distinct + [Double](repeating: .infinity, count: Self.cellWidth)
            let span = distinct[distinct.count - 1] - distinct[0]
            var cells = 1
            while cells <= Self.maxCells && distinct.count < Int(UInt16.max) {
                feature.cells = cells
                feature.lastCell = Double(cells - 1)
                feature.scale = span > 0 && span.isFinite ? Double(cells) / span : 0
                var occupancy = [Int](repeating: 0, count: cells)
                for u in distinct { occupancy[Self.cell(u, feature)] += 1 }
                if occupancy.max()! <= Self.cellWidth {
                    var below = 0
                    for c in 0..<cells { bases.append(UInt16(below)); below += occupancy[c] }
                    break
                }
                feature.cells = 0
                cells *= 2
            }
            table[f] = feature
        }
        features = loadTimeCopy(table)
        cuts = loadTimeCopy(cutList)
        cellBase = loadTimeCopy(bases)
    }

    /// How many distinct cuts feature `f` has.
    func cutCount(_ f: Int) -> Int { features[f].cutCount }

    /// The i-th cut of feature `f`, ascending.
    func cut(_ f: Int, _ i: Int) -> Double { cuts[features[f].cutStart + i] }

    @inline(__always)
    static func cell(_ v: Double, _ f: Feature) -> Int {
        // NaN (an infinite v times a zero scale) and negatives land in cell 0, +∞ in the last.
        let x = (v - f.low) * f.scale
        return x >= 0 ? hp_truncate(Swift.min(x, f.lastCell)) : 0
    }

    /// #{cuts of feature `f` < v}, for v not NaN.
    @inline(__always)
    func rank(_ f: Int, _ v: Double) -> Int {
        let feature = features[f]
        let u = cuts + feature.cutStart
        if feature.cells > 0 {
            let b = Int(cellBase[feature.cellStart &+ Self.cell(v, feature)])
            return b &+ (u[b] < v ? 1 : 0) &+ (u[b &+ 1] < v ? 1 : 0) &+ (u[b &+ 2] < v ? 1 : 0)
                &+ (u[b &+ 3] < v ? 1 : 0)
        }
        var j = 0, len = feature.cutCount
        while len > 0 {
            let half = len >> 1
            let goRight = u[j &+ half] < v
            j = goRight ? j &+ half &+ 1 : j
            len = goRight ? len &- half &- 1 : half
        }
        return j
    }
}
