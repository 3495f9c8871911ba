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
    func maxDifference(_ kind: String, load: (String) throws -> TreeEnsemble) throws -> (Double, Int) {
        let dir = TestPaths.fixtures + "/models/" + kind
        let model = try load(dir + (kind.hasPrefix("xgb") ? "/model.json" : "/model.txt"))
        let x = doubles(dir + "/X.f64"), ref = doubles(dir + "/ref.f64")
        let rows = x.count / model.features
        XCTAssertEqual(ref.count, rows * model.outputs, kind)
        var out = [Double](repeating: 0, count: model.outputs)
        var worst = 0.0
        x.withUnsafeBufferPointer { xb in
            out.withUnsafeMutableBufferPointer { ob in
                for r in 0..<rows {
                    model.predict(xb.baseAddress! + r * model.features, into: ob.baseAddress!)
                    for k in 0..<model.outputs { worst = max(worst, abs(ob[k] - ref[r * model.outputs + k])) }
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

    func testLightGBMBinaryMatchesTheLibrary() throws {
        XCTAssertLessThanOrEqual(try maxDifference("lgb-nano", load: LightGBMLoader.load).0, 1e-9)
    }

    func testLightGBMCategoricalWithMissingValuesMatchesTheLibrary() throws {
        XCTAssertLessThanOrEqual(try maxDifference("lgb-cat", load: LightGBMLoader.load).0, 1e-9)
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

    func testXGBoostLogisticWithACategoricalFeatureMatchesTheLibrary() throws {
        XCTAssertLessThanOrEqual(try maxDifference("xgb-cat", load: XGBoostLoader.load).0, 1e-9)
    }

    func testXGBoostSquaredErrorRegressionMatchesTheLibrary() throws {
        XCTAssertLessThanOrEqual(try maxDifference("xgb-reg", load: XGBoostLoader.load).0, 1e-9)
    }
}
