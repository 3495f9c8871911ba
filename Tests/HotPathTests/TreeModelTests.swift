import CSupport
import Foundation
import MallocCounter
import XCTest

@testable import HotPath

/// Tree ensembles against the libraries that trained them (fixtures from
/// tools/models/make_fixtures.sh: the models, 1,000 test rows and the libraries' predict()).
final class TreeModelTests: XCTestCase {
    func doubles(_ path: String) -> [Double] {
        let bytes = readBytes(path)!
        return bytes.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
    }

    /// The largest |ours − library| over every row and output.
    func maxDifference(
        _ kind: String, rows prefix: String = "", load: (String) throws -> TreeEnsemble
    ) throws -> (Double, Int) {
        let dir = TestPaths.fixtures + "/models/" + kind
        let model = try load(dir + (kind.hasPrefix("xgb") ? "/model.json" : "/model.txt"))
        let x = doubles(dir + "/\(prefix)X.f64"), ref = doubles(dir + "/\(prefix)ref.f64")
        let rows = x.count / model.features, width = model.predictionWidth()
        XCTAssertEqual(ref.count, rows * width, kind)
        var out = [Double](repeating: 0, count: model.outputs)
        var worst = 0.0
        x.withUnsafeBufferPointer { xb in
            out.withUnsafeMutableBufferPointer { ob in
                for r in 0..<rows {
                    model.predict(xb.baseAddress! + r * model.features, into: ob.baseAddress!)
                    for k in 0..<width { worst = max(worst, abs(ob[k] - ref[r * width + k])) }
                }
            }
        }
        return (worst, rows)
    }

    func testLightGBMMulticlassMatchesTheLibrary() throws {
        let (d, rows) = try maxDifference("lgb-seed", load: LightGBMLoader.load)
        XCTAssertEqual(rows, 1000)
        XCTAssertLessThanOrEqual(d, 1e-9)
    }

    /// Single-leaf trees (num_leaves=1) between deeper ones, in multiclass models over 48 and
    /// 100 features (tools/models/make_stump_model.py).
    func testLightGBMSingleLeafTreesMatchTheLibrary() throws {
        for kind in ["lgb-stump", "lgb-wide"] {
            let (d, rows) = try maxDifference(kind, load: LightGBMLoader.load)
            XCTAssertEqual(rows, 500, kind)
            XCTAssertLessThanOrEqual(d, 1e-9, kind)
        }
    }

    func testLightGBMBinaryMatchesTheLibrary() throws {
        XCTAssertLessThanOrEqual(try maxDifference("lgb-nano", load: LightGBMLoader.load).0, 1e-9)
    }

    func testLightGBMCategoricalWithMissingValuesMatchesTheLibrary() throws {
        XCTAssertLessThanOrEqual(try maxDifference("lgb-cat", load: LightGBMLoader.load).0, 1e-9)
    }

    /// Category values at every edge the rules have — huge, infinite, NaN, in (−1, 0), −1,
    /// fractional, past every bitset — against the libraries' own predictions
    /// (tools/models/make_category_edges.py). A huge value once trapped converting to Int.
    func testCategoricalEdgeValuesMatchTheLibraries() throws {
        let (lgb, lgbRows) = try maxDifference("lgb-cat", rows: "edge-", load: LightGBMLoader.load)
        XCTAssertEqual(lgbRows, 30)
        XCTAssertLessThanOrEqual(lgb, 1e-9)
        let (xgb, xgbRows) = try maxDifference("xgb-cat", rows: "edge-", load: XGBoostLoader.load)
        XCTAssertEqual(xgbRows, 13)
        XCTAssertLessThanOrEqual(xgb, 1e-9)
    }

    func testXGBoostSoftprobMatchesTheLibrary() throws {
        XCTAssertLessThanOrEqual(try maxDifference("xgb", load: XGBoostLoader.load).0, 1e-9)
    }

    // Loader features beyond make_tree_models.py (tools/models/make_extra_models.py).

    func testLightGBMLinearTreesMatchTheLibrary() throws {
        let (d, rows) = try maxDifference("lgb-linear", load: LightGBMLoader.load)
        XCTAssertEqual(rows, 500)
        XCTAssertLessThanOrEqual(d, 1e-9)
    }

    func testLightGBMMulticlassOVAMatchesTheLibrary() throws {
        XCTAssertLessThanOrEqual(try maxDifference("lgb-ova", load: LightGBMLoader.load).0, 1e-9)
    }

    // Regression tests for three outputs that were silently wrong
    // (tools/models/make_objective_fixes.py; each fails without its fix).

    /// LightGBM random forests average their trees (the sum was off by 0.45 in probability).
    func testLightGBMRandomForestAveragesItsTrees() throws {
        XCTAssertEqual(try maxDifference("lgb-rf-binary", load: LightGBMLoader.load).0, 0)
        XCTAssertEqual(try maxDifference("lgb-rf-reg", load: LightGBMLoader.load).0, 0)
    }

    /// binary:logitraw predicts the margin, base_score included as it stands.
    func testXGBoostLogitrawGivesTheLibrarysMargin() throws {
        XCTAssertEqual(try maxDifference("xgb-logitraw", load: XGBoostLoader.load).0, 0)
    }

    /// multi:softmax's predict() is one column, the class index.
    func testXGBoostSoftmaxPredictsTheClassIndex() throws {
        let model = try XGBoostLoader.load(path: TestPaths.fixtures + "/models/xgb-softmax/model.json")
        XCTAssertEqual(model.outputs, 3)
        XCTAssertEqual(model.predictionWidth(), 1)
        XCTAssertEqual(model.predictionWidth(raw: true), 3)
        XCTAssertEqual(try maxDifference("xgb-softmax", load: XGBoostLoader.load).0, 0)
        XCTAssertThrowsError(try Ensemble(models: [.trees(model)], weights: [1])) { error in
            XCTAssertTrue("\(error)".contains("multi:softprob"), "\(error)")
        }
    }

    /// The log-link, hinge and ranking objectives and the dart booster, each exactly the library's predict()
    /// (tools/models/make_objective_fixes.py).
    func testLogLinkHingeAndRankingObjectivesMatchTheLibraries() throws {
        for kind in [
            "xgb-gamma", "xgb-tweedie", "xgb-poisson", "xgb-cox", "xgb-aft", "xgb-hinge", "xgb-pairwise", "xgb-dart",
        ] {
            XCTAssertEqual(try maxDifference(kind, load: XGBoostLoader.load).0, 0, kind)
        }
        XCTAssertEqual(try maxDifference("lgb-lambdarank", load: LightGBMLoader.load).0, 0)
    }

    /// The matrix (tools/models/make_matrix.py): every LightGBM objective and boosting type and
    /// every XGBoost objective and booster, 3 seeds each, NaNs in every feature and a categorical
    /// feature wherever the library takes one, against the library's own `Booster.predict()`.
    /// Trees match exactly; gblinear within 1e-12.
    func testEveryObjectiveAndBoosterOnThreeSeedsMatchesTheLibrary() throws {
        let dir = TestPaths.fixtures + "/models/matrix/"
        let manifest = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(XCTUnwrap(readBytes(dir + "manifest.json"))))
                as? [String: Any])
        let entries = try XCTUnwrap(manifest["models"] as? [[String: Any]])
        var rows = Set<String>()
        for entry in entries {
            let file = entry["model"] as! String, width = entry["width"] as! Int
            let linear = entry["linear"] as! Bool
            guard case let .trees(model) = try ModelFile.load(path: dir + file) else {
                return XCTFail("\(file): not a tree or linear model")
            }
            let x = doubles(dir + (entry["x"] as! String)), ref = doubles(dir + (entry["ref"] as! String))
            XCTAssertEqual(model.predictionWidth(), width, file)
            let count = x.count / model.features
            XCTAssertEqual(ref.count, count * width, file)
            var out = [Double](repeating: 0, count: model.outputs)
            var worst = 0.0
            for r in 0..<count {
                x.withUnsafeBufferPointer { model.predict($0.baseAddress! + r * model.features, into: &out) }
                for k in 0..<width { worst = max(worst, abs(out[k] - ref[r * width + k])) }
            }
            XCTAssertLessThanOrEqual(worst, linear ? 1e-12 : 0, file)
            rows.insert(entry["row"] as! String)
        }
        XCTAssertEqual(entries.count, rows.count * 3)
        XCTAssertGreaterThanOrEqual(rows.count, 47)
    }

    func testXGBoostLogisticWithACategoricalFeatureMatchesTheLibrary() throws {
        XCTAssertLessThanOrEqual(try maxDifference("xgb-cat", load: XGBoostLoader.load).0, 1e-9)
    }

    /// 63-leaf trees (tools/models/make_wide_model.py): QuickScorer's 8-byte words.
    func testLightGBMWithSixtyThreeLeafTreesMatchesTheLibrary() throws {
        let (d, rows) = try maxDifference("lgb-63", load: LightGBMLoader.load)
        XCTAssertEqual(rows, 500)
        XCTAssertLessThanOrEqual(d, 1e-9)
    }

    /// A tree model's holder can give its memory back: loading and freeing the 63-leaf forest
    /// 100 times leaves the heap where it was (each load alone holds more than the bound).
    func testDeallocateReturnsATreeModelsMemory() throws {
        let path = TestPaths.fixtures + "/models/lgb-63/model.txt"
        func inUse() -> Int { Int(hp_heap_in_use()) }
        try LightGBMLoader.load(path: path).deallocate()  // the loader's own first-use costs
        let before = inUse()
        let held = try LightGBMLoader.load(path: path)
        let one = inUse() - before
        held.deallocate()
        for _ in 0..<100 { try LightGBMLoader.load(path: path).deallocate() }
        XCTAssertGreaterThan(one, 64 << 10, "a load holds its tables")
        XCTAssertLessThan(inUse() - before, one / 4, "100 loads and frees give their memory back")
    }

    func testXGBoostSquaredErrorRegressionMatchesTheLibrary() throws {
        XCTAssertLessThanOrEqual(try maxDifference("xgb-reg", load: XGBoostLoader.load).0, 1e-9)
    }

    /// A row that probes a model's splits: some values missing, a quarter exactly on one of the
    /// feature's thresholds (where <= and < part), some signed zeros and infinities, the rest
    /// spread over several magnitudes.
    func probe(_ x: inout [Double], _ grid: ThresholdGrid, _ rng: inout SystemRandomNumberGenerator) {
        for f in x.indices {
            let cuts = grid.cutCount(f)
            switch Int.random(in: 0..<20, using: &rng) {
            case 0: x[f] = .nan
            case 1...5 where cuts > 0: x[f] = grid.cut(f, Int.random(in: 0..<cuts, using: &rng))
            case 6: x[f] = [0.0, -0.0, .infinity, -.infinity][Int.random(in: 0..<4, using: &rng)]
            default:
                x[f] = Double.random(in: -3...3, using: &rng) * pow(10, Double(Int.random(in: -2...3, using: &rng)))
            }
        }
    }

    /// QuickScorer's prefix tables and its scan pick the same leaves and sum them in the same
    /// order, for each word width: the demo model's 102 trees of 31 leaves (4-byte words),
    /// lgb-ova's 15-leaf trees (2 bytes), lgb-nano's 8-leaf trees (1 byte), lgb-63's 63-leaf
    /// trees (8 bytes), missing values included. So does the compare kernel, where the CPU runs
    /// it and the rows fit it (lgb-nano's 32-byte rows, lgb-ova's 128-byte ones, forced past
    /// its threshold limit).
    func testQuickScorerPrefixTablesEqualTheScan() throws {
        let models = [
            (TestPaths.root + "/demo/model-lgb.txt", 4, false),
            (TestPaths.fixtures + "/models/lgb-ova/model.txt", 2, true),
            (TestPaths.fixtures + "/models/lgb-nano/model.txt", 1, true),
            (TestPaths.fixtures + "/models/lgb-63/model.txt", 8, false),
        ]
        let kernelRuns = hp_qs_scores_best(32) != nil
        if !kernelRuns {
            print(
                "testQuickScorerPrefixTablesEqualTheScan: no AVX-512 BW/VL/DQ here; the compare kernel is not exercised"
            )
        }
        for (path, wordBytes, fits) in models {
            let trees = try LightGBMLoader.load(path: path)
            let tables = try XCTUnwrap(QuickScorer(trees, prefixTables: true, compareBlocks: 0))
            let compare = try XCTUnwrap(QuickScorer(trees, prefixTables: true, compareBlocks: .max))
            let scan = try XCTUnwrap(QuickScorer(trees, prefixTables: false))
            XCTAssertNotNil(tables.prefix, "\(path): the tables fit")
            XCTAssertNil(tables.compare)
            XCTAssertEqual(compare.compare != nil, kernelRuns && fits, path)
            XCTAssertEqual(tables.wordBytes, wordBytes, path)
            XCTAssertNil(scan.prefix)
            var rng = SystemRandomNumberGenerator()
            var x = [Double](repeating: 0, count: trees.features)
            var a = [Double](repeating: 0, count: trees.outputs), b = a, c = a
            for row in 0..<5_000 {
                probe(&x, tables.grid, &rng)
                for k in a.indices { a[k] = 0; b[k] = 0; c[k] = 0 }
                x.withUnsafeBufferPointer { xp in
                    a.withUnsafeMutableBufferPointer { tables.scores(xp.baseAddress!, $0.baseAddress!) }
                    b.withUnsafeMutableBufferPointer { scan.scores(xp.baseAddress!, $0.baseAddress!) }
                    c.withUnsafeMutableBufferPointer { compare.scores(xp.baseAddress!, $0.baseAddress!) }
                }
                XCTAssertEqual(a.map(\.bitPattern), b.map(\.bitPattern), "\(path) row \(row): \(x)")
                XCTAssertEqual(c.map(\.bitPattern), b.map(\.bitPattern), "\(path) row \(row), compare kernel: \(x)")
                if a != b || c != b { break }
            }
        }
    }

    /// The ranked walk and the double walk (LockstepForest) reach the same leaves and sum them
    /// in the same order, bit for bit: deep multiclass trees with NaN-type missing values
    /// (lgb-seed), None-type ones (the demo model), one-class and 15-leaf models, and
    /// XGBoost's float comparisons and float sums (softprob, squared error), single-leaf
    /// trees between deep ones over 48 and 100 features (lgb-stump and lgb-wide: the blocked
    /// walk's 128- and 256-slot forms). Both ranked walks: the blocked one (on every model,
    /// where this CPU runs it) and the scalar one.
    func testBinnedForestEqualsTheDoubleWalk() throws {
        let models = TestPaths.fixtures + "/models/"
        let paths = [
            models + "lgb-seed/model.txt", TestPaths.root + "/demo/model-lgb.txt", models + "lgb-nano/model.txt",
            models + "lgb-ova/model.txt", models + "lgb-63/model.txt", models + "lgb-stump/model.txt",
            models + "lgb-wide/model.txt",
            models + "xgb/model.json", models + "xgb-reg/model.json",
        ]
        let blockedRuns = hp_forest_walk_blocks(64) != nil
        if !blockedRuns {
            print("testBinnedForestEqualsTheDoubleWalk: no AVX-512 BW/VL/DQ here; the blocked walk is not exercised")
        }
        for path in paths {
            let trees = try path.hasSuffix(".json") ? XGBoostLoader.load(path: path) : LightGBMLoader.load(path: path)
            for blocks in [BinnedForest.Blocks.always, .never, .whenLarge] {
                var forest = try XCTUnwrap(BinnedForest(trees, blocks: blocks), path)
                // By default forests of more than 16 KB of nodes take the blocked walk; smaller
                // ones are as fast scalar.
                let large = forest.nodeBytes > BlockedWalk.minimumNodeBytes
                XCTAssertEqual(
                    forest.blocked != nil, blockedRuns && (blocks == .always || blocks == .whenLarge && large), path)
                let walk = try XCTUnwrap(trees.lockstep, path)
                var rng = SystemRandomNumberGenerator()
                var x = [Double](repeating: 0, count: trees.features)
                var a = [Double](repeating: 0, count: trees.outputs), b = a
                for row in 0..<3_000 {
                    probe(&x, forest.grid, &rng)
                    for k in b.indices { b[k] = trees.arithmetic == .xgboost ? Double(Float(trees.baseMargin[k])) : 0 }
                    x.withUnsafeBufferPointer { xp in
                        a.withUnsafeMutableBufferPointer { out in
                            withUnsafePointer(to: &forest) {
                                BinnedForest.scores($0, xp.baseAddress!, out.baseAddress!)
                            }
                        }
                        b.withUnsafeMutableBufferPointer {
                            trees.lockstepScores(walk, xp.baseAddress!, $0.baseAddress!)
                        }
                    }
                    XCTAssertEqual(
                        a.map(\.bitPattern), b.map(\.bitPattern), "\(path) blocks \(blocks) row \(row): \(x)")
                    if a != b { break }
                }
            }
        }
    }

    /// lgb-seed's 127-leaf trees are too wide for QuickScorer: the ranked walk takes them, and
    /// XGBoost's numeric trees; LightGBM's categorical splits go to QuickScorer's tables,
    /// XGBoost's keep the double walk.
    func testEvaluatorChoice() throws {
        let models = TestPaths.fixtures + "/models/"
        let seed = try LightGBMLoader.load(path: models + "lgb-seed/model.txt")
        XCTAssertNil(seed.quick)
        XCTAssertNotNil(seed.binned)
        XCTAssertNotNil(try LightGBMLoader.load(path: models + "lgb-nano/model.txt").quick)
        XCTAssertNotNil(try LightGBMLoader.load(path: models + "lgb-63/model.txt").quick?.pointee.prefix)
        XCTAssertNotNil(try XGBoostLoader.load(path: models + "xgb/model.json").binned)
        XCTAssertNil(try XGBoostLoader.load(path: models + "xgb-cat/model.json").binned)
        XCTAssertNotNil(try LightGBMLoader.load(path: models + "lgb-cat/model.txt").quick?.pointee.prefix)
    }

    /// A model with a NaN or infinite threshold (hand-edited; LightGBM does not write them)
    /// still predicts what the double walk does: NaN keeps the model off the rank-based
    /// evaluators, infinities are ranked like any cut.
    func testNonFiniteThresholdsKeepTheDoubleWalksAnswers() throws {
        let text = try XCTUnwrap(readText(TestPaths.fixtures + "/models/lgb-nano/model.txt"))
        var rng = SystemRandomNumberGenerator()
        for replacement in ["nan", "inf", "-inf"] {
            // The first tree's first threshold.
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let at = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("threshold=") })
            var fields = lines[at].dropFirst("threshold=".count).split(separator: " ").map(String.init)
            fields[0] = replacement
            var edited = lines
            edited[at] = "threshold=" + fields.joined(separator: " ")
            let path = temporaryFile(Array(edited.joined(separator: "\n").utf8), suffix: ".txt")
            let trees = try LightGBMLoader.load(path: path)
            XCTAssertEqual(trees.quick == nil && trees.binned == nil, replacement == "nan", replacement)
            let walk = try XCTUnwrap(trees.lockstep)
            var x = [Double](repeating: 0, count: trees.features)
            var a = [0.0], b = [0.0]
            for _ in 0..<2_000 {
                for f in x.indices {
                    x[f] = Int.random(in: 0..<20, using: &rng) == 0 ? .nan : Double.random(in: -4...4, using: &rng)
                }
                b[0] = 0
                x.withUnsafeBufferPointer { xp in
                    trees.predict(xp.baseAddress!, into: &a, raw: true)
                    b.withUnsafeMutableBufferPointer { trees.lockstepScores(walk, xp.baseAddress!, $0.baseAddress!) }
                }
                XCTAssertEqual(a[0].bitPattern, b[0].bitPattern, "\(replacement): \(x)")
                if a != b { break }
            }
        }
    }

    /// Categorical splits in QuickScorer's prefix tables (a row per category) pick the leaves
    /// the double walk does, bit for bit, on category values at every edge: integers in and
    /// past the bitsets, fractions, (−1, 0), −1, NaN, huge and infinite values.
    func testQuickScorerCategoricalRowsEqualTheDoubleWalk() throws {
        let trees = try LightGBMLoader.load(path: TestPaths.fixtures + "/models/lgb-cat/model.txt")
        let q = try XCTUnwrap(trees.quick, "lgb-cat takes QuickScorer")
        XCTAssertNotNil(q.pointee.prefix)
        let walk = try XCTUnwrap(trees.lockstep)
        var rng = SystemRandomNumberGenerator()
        var x = [Double](repeating: 0, count: trees.features)
        var a = [0.0], b = [0.0]
        for row in 0..<5_000 {
            for f in x.indices {
                switch Int.random(in: 0..<10, using: &rng) {
                case 0:
                    x[f] =
                        [Double.nan, -0.5, -1, -1e-300, 1e20, .infinity, -.infinity, 2e9][
                            Int.random(in: 0..<8, using: &rng)]
                case 1...4: x[f] = Double(Int.random(in: 0..<80, using: &rng))
                case 5: x[f] = Double(Int.random(in: 0..<80, using: &rng)) + 0.5
                default: x[f] = Double.random(in: -3...3, using: &rng)
                }
            }
            b[0] = 0
            x.withUnsafeBufferPointer { xp in
                a.withUnsafeMutableBufferPointer { QuickScorer.scores(q, xp.baseAddress!, $0.baseAddress!) }
                b.withUnsafeMutableBufferPointer { trees.lockstepScores(walk, xp.baseAddress!, $0.baseAddress!) }
            }
            XCTAssertEqual(a[0].bitPattern, b[0].bitPattern, "row \(row): \(x)")
            if a != b { break }
        }
    }
}
