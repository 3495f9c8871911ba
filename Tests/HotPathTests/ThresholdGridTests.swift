import XCTest

@testable import HotPath

/// `ThresholdGrid.rank` is #{distinct cuts < v} for every v, by construction of a monotone
/// grid; here against a brute-force count, on cut sets that stress each path: spread and
/// clustered (grid), too clustered for any grid (binary search), one cut, spans that
/// overflow a double, and values on, just beside and far from the cuts, signed zeros and
/// infinities.
final class ThresholdGridTests: XCTestCase {
    func testRankEqualsABruteForceCount() {
        var rng = SystemRandomNumberGenerator()
        let sets: [[Double]] = [
            (0..<255).map { _ in Double.random(in: -3...3, using: &rng) },  // spread
            (0..<200).map { _ in exp(Double.random(in: -20...5, using: &rng)) },  // heavy-tailed
            (0..<64).map { 1 + Double($0) * .ulpOfOne },  // one ulp apart
            (0..<64).map { Double($0) * 1e-3 } + (0..<64).map { 1e6 + Double($0) },  // two far clusters
            [0.5],  // one cut
            [-Double.greatestFiniteMagnitude, 0, Double.greatestFiniteMagnitude],  // span overflows
            [-0.0, 1e-300, 2e-300, 1e300],  // tiny and huge
            (0..<40).map { _ in Double(Int.random(in: 0..<8, using: &rng)) },  // repeats
        ]
        let grid = ThresholdGrid(thresholds: sets)
        for (f, set) in sets.enumerated() {
            let cuts = Array(Set(set)).sorted()
            XCTAssertEqual(grid.cutCount(f), cuts.count, "set \(f)")
            var probes: [Double] = [
                0, -0.0, .infinity, -.infinity, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
            ]
            for c in cuts { probes += [c, c.nextUp, c.nextDown, c * 2, c / 2] }
            for _ in 0..<1_000 {
                probes.append(
                    Double.random(in: -10...10, using: &rng) * pow(10, Double(Int.random(in: -6...6, using: &rng))))
            }
            for v in probes where !v.isNaN {
                let expected = cuts.reduce(0) { $0 + ($1 < v ? 1 : 0) }
                XCTAssertEqual(grid.rank(f, v), expected, "set \(f), v = \(v)")
            }
        }
    }

    func testClusteredCutsFallBackToBinarySearchAndAreStillExact() {
        // 64 cuts within a few ulps of 1 and one far away: no grid of ≤ maxCells cells puts
        // at most cellWidth cuts in every cell.
        let set = (0..<64).map { 1 + Double($0) * .ulpOfOne } + [1e300]
        let grid = ThresholdGrid(thresholds: [set])
        XCTAssertEqual(grid.features[0].cells, 0)
        let cuts = set.sorted()
        for c in cuts {
            for v in [c, c.nextUp, c.nextDown] {
                XCTAssertEqual(grid.rank(0, v), cuts.reduce(0) { $0 + ($1 < v ? 1 : 0) }, "v = \(v)")
            }
        }
    }
}
