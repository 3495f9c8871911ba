import XCTest

@testable import HotPath

final class FeatureSchemaTests: XCTestCase {
    func testNamedModelMustMatchTheSchemaInOrder() throws {
        // An XGBoost-style model recording its feature names.
        let dir = TestPaths.fixtures + "/models/"
        var trees = try LightGBMLoader.load(path: dir + "lgb-nano/model.txt")
        XCTAssertEqual(trees.featureNames?.first, "Column_0")
        let schema = FeatureSchema(names: (0..<32).map { "f\($0)" })
        XCTAssertNoThrow(
            try schema.check(.trees(trees), file: "model.txt"), "placeholder names are checked by count only")
        trees.featureNames = (0..<32).map { "f\($0)" }
        XCTAssertNoThrow(try schema.check(.trees(trees), file: "model.txt"))
        trees.featureNames![3] = "spread"
        XCTAssertThrowsError(try schema.check(.trees(trees), file: "model.txt")) { error in
            XCTAssertEqual(
                "\(error)", "model.txt:feature_names: feature 3 is \"spread\" in the model but \"f3\" in the schema")
        }
        let first32 = FeatureSchema(names: Array(FeatureSchema.microstructure.names.prefix(32)))
        XCTAssertThrowsError(try first32.check(.trees(trees), file: "model.txt")) { error in
            XCTAssertEqual(
                "\(error)", "model.txt:feature_names: feature 0 is \"f0\" in the model but \"mid\" in the schema")
        }
    }

    func testCountMismatchIsAnError() throws {
        let net = try ModelFile.load(path: TestPaths.fixtures + "/models/mlp-tanh-32/model.onnx")
        XCTAssertThrowsError(try FeatureSchema(names: ["a", "b"]).check(net, file: "m.onnx")) { error in
            XCTAssertEqual("\(error)", "m.onnx: the model takes 32 features but the schema has 2")
        }
    }

    func testNonFiniteBarsAreSkippedAndCounted() {
        var columns = TALibColumns()
        var row = [Double](repeating: 0, count: TALibColumns.names.count)
        row.withUnsafeMutableBufferPointer {
            columns.update(Bar(open: 1, high: .infinity, low: 1, close: 1, volume: 1), into: $0.baseAddress!)
        }
        XCTAssertEqual(columns.rejectedBars, 1)
        XCTAssertTrue(row.allSatisfy(\.isNaN))
    }
}

final class MicropriceTableTests: XCTestCase {
    func testTableAdjustsTheMidByImbalanceAndSpread() throws {
        let path = temporaryFile(Array("spread1,spread2\n-0.1,-0.2\n0.1,0.2\n".utf8), suffix: ".csv")
        let table = try MicropriceTable.load(path: path)
        XCTAssertEqual(table, [[-0.1, -0.2], [0.1, 0.2]])
        var config = MicrostructureFeatures.Config()
        config.micropriceTable = table
        config.tick = 0.25
        XCTAssertEqual(
            MicrostructureFeatures.microprice(config, mid: 100, imbalance: 0.8, spread: 0.25), 100.1, accuracy: 1e-12)
        XCTAssertEqual(
            MicrostructureFeatures.microprice(config, mid: 100, imbalance: 0.2, spread: 1.0), 99.8, accuracy: 1e-12)
    }

    func testRaggedTableIsAClearError() {
        let path = temporaryFile(Array("1,2\n3\n".utf8), suffix: ".csv")
        XCTAssertThrowsError(try MicropriceTable.load(path: path)) {
            XCTAssertEqual("\($0)", "\(path):2: 1 columns where the first row has 2")
        }
    }
}
