import XCTest

@testable import HotPath

/// Malformed or unsupported models: an error naming the file, the place and the reason,
/// before anything runs.
final class ModelErrorTests: XCTestCase {
    var nano: String { readText(TestPaths.fixtures + "/models/lgb-nano/model.txt")! }

    func lightGBMError(_ text: String) -> String {
        let path = temporaryFile(Array(text.utf8), suffix: ".txt")
        do { _ = try ModelFile.load(path: path); return "loaded" } catch {
            XCTAssertTrue("\(error)".hasPrefix(path), "\(error)")
            return String("\(error)".dropFirst(path.count))
        }
    }

    func testNotAModelAtAll() {
        XCTAssertEqual(
            lightGBMError("hello\n"),
            ": not a LightGBM text model (first line \"tree\"), an XGBoost JSON model nor an .onnx file")
    }

    func testWrongNumberOfThresholds() {
        let text = nano.replacingFirst("threshold=", with: "threshold=0.5 ")
        XCTAssertTrue(
            lightGBMError(text).contains("Tree=0 has 8 values in threshold for 7 expected"), lightGBMError(text))
    }

    func testChildOutOfRange() {
        let line = nano.split(separator: "\n").first { $0.hasPrefix("left_child=") }!
        let bad = "left_child=99" + line.dropFirst("left_child=".count).drop { $0 != " " }
        XCTAssertTrue(
            lightGBMError(nano.replacingFirst(String(line), with: bad)).contains("node 0 points at node 99 of 7"))
    }

    /// Found by scripts/fuzz.sh: a child that points back up the tree (here node 0 at itself)
    /// sent the evaluator's set-up round the cycle until the stack overflowed.
    func testATreeWithACycleIsRefused() {
        let line = nano.split(separator: "\n").first { $0.hasPrefix("left_child=") }!
        let bad = "left_child=0" + line.dropFirst("left_child=".count).drop { $0 != " " }
        XCTAssertTrue(
            lightGBMError(nano.replacingFirst(String(line), with: bad)).contains("node 0 is reached twice"),
            lightGBMError(nano.replacingFirst(String(line), with: bad)))
    }

    /// Found by scripts/fuzz.sh: a protobuf length or tensor dimension past Int.max trapped in
    /// the conversion; each is now an error naming the file.
    func testAnONNXLengthPastIntMaxIsAnError() {
        let huge: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]
        for bytes in [[0x0A] + huge, [0x3A, 0x0D, 0x2A, 0x0B, 0x08] + huge] {
            let path = temporaryFile(bytes, suffix: ".onnx")
            defer { unlink(path) }
            XCTAssertThrowsError(try ModelFile.load(path: path)) { XCTAssertTrue("\($0)".hasPrefix(path), "\($0)") }
        }
    }

    func testFeatureOutOfRange() {
        let line = nano.split(separator: "\n").first { $0.hasPrefix("split_feature=") }!
        let bad = "split_feature=40" + line.dropFirst("split_feature=".count).drop { $0 != " " }
        XCTAssertTrue(
            lightGBMError(nano.replacingFirst(String(line), with: bad)).contains("node 0 splits on feature 40 of 32"))
    }

    func testNonNumericLeafValue() {
        let line = nano.split(separator: "\n").first { $0.hasPrefix("leaf_value=") }!
        let bad = "leaf_value=abc" + line.dropFirst("leaf_value=".count).drop { $0 != " " }
        XCTAssertTrue(
            lightGBMError(nano.replacingFirst(String(line), with: bad)).contains(
                "leaf_value value \"abc\" is not a number"))
    }

    func testUnsupportedObjective() {
        XCTAssertTrue(
            lightGBMError(nano.replacingFirst("objective=binary sigmoid:1", with: "objective=my_loss")).contains(
                "objective \"my_loss\" is not supported"))
    }

    func testNoTrees() {
        let header = nano.components(separatedBy: "Tree=0")[0]
        XCTAssertEqual(lightGBMError(header), ": the model has no trees")
    }

    func testMissingNumLeaves() {
        XCTAssertTrue(
            lightGBMError(nano.replacingFirst("num_leaves=", with: "leaves=")).contains(
                "Tree=0 has no valid num_leaves"))
    }

    func testXGBoostErrorsNameTheJSONPath() {
        func xgbError(_ json: String) -> String {
            let path = temporaryFile(Array(json.utf8), suffix: ".json")
            do { _ = try ModelFile.load(path: path); return "loaded" } catch { return "\(error)" }
        }
        XCTAssertTrue(xgbError("{\"learner\": ").contains("not valid JSON"))
        XCTAssertTrue(xgbError("{\"learner\": {}}").contains("learner.learner_model_param: expected a JSON object"))
        let header =
            "{\"learner\":{\"learner_model_param\":{\"num_class\":\"0\",\"num_feature\":\"2\",\"base_score\":\"5E-1\"},\"objective\":{\"name\":\"binary:logistic\"},\"gradient_booster\":"
        XCTAssertTrue(
            xgbError(header + "{\"name\":\"gbforest\"}}}").contains(
                "learner.gradient_booster.name: booster \"gbforest\" is not supported"))
        XCTAssertTrue(
            xgbError(header + "{\"name\":\"gblinear\",\"model\":{\"weights\":[1,2]}}}}").contains(
                "learner.gradient_booster.model.weights: 2 weights for 2 features and 1 outputs (3 expected)"))
        let vectorLeaves = readText(TestPaths.fixtures + "/models/xgb/model.json")!.replacingFirst(
            "\"size_leaf_vector\":\"1\"", with: "\"size_leaf_vector\":\"2\"")
        XCTAssertTrue(
            xgbError(vectorLeaves).contains(
                "trees[0].tree_param.size_leaf_vector: vector-leaf trees (multi_strategy=\"multi_output_tree\") are not supported"
            ), xgbError(vectorLeaves))
        var broken = readText(TestPaths.fixtures + "/models/xgb/model.json")!
        broken = broken.replacingFirst("\"split_indices\":[", with: "\"split_indices\":[99999,")
        XCTAssertTrue(xgbError(broken).contains("trees[0]: node arrays differ in length"), xgbError(broken))
    }

    func testONNXWithoutAGraphIsAClearError() {
        let path = temporaryFile([0x08, 0x07], suffix: ".onnx")
        XCTAssertThrowsError(try ModelFile.load(path: path)) {
            XCTAssertEqual("\($0)", "\(path): no graph in the model (is this an ONNX file?)")
        }
    }

    func testTruncatedONNXIsAClearError() {
        let whole = readBytes(TestPaths.fixtures + "/models/mlp-tanh-32/model.onnx")!
        let path = temporaryFile(Array(whole.prefix(whole.count / 2)), suffix: ".onnx")
        XCTAssertThrowsError(try ModelFile.load(path: path)) {
            XCTAssertTrue("\($0)".contains("malformed protobuf"), "\($0)")
        }
    }
}

extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let r = range(of: target) else { return self }
        return replacingCharacters(in: r, with: replacement)
    }
}
