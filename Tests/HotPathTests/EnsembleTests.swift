import MallocCounter
import XCTest

@testable import HotPath

final class EnsembleTests: XCTestCase {
    func testWeightedCombinationOfClassProbabilities() throws {
        let dir = TestPaths.fixtures + "/models/"
        let lgb = try ModelFile.load(path: dir + "lgb-seed/model.txt")
        let xgb = try ModelFile.load(path: dir + "xgb/model.json")
        let ensemble = try Ensemble(models: [lgb, xgb], weights: [3, 1])
        let x = readBytes(dir + "lgb-seed/X.f64")!.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
        var a = [Double](repeating: 0, count: 3), b = a, e = a
        var scratch = [Float](repeating: 0, count: 64)
        x.withUnsafeBufferPointer { xb in
            scratch.withUnsafeMutableBufferPointer { s in
                lgb.predict(xb.baseAddress!, into: &a, scratch: s.baseAddress!)
                xgb.predict(xb.baseAddress!, into: &b, scratch: s.baseAddress!)
            }
            ensemble.predict(xb.baseAddress!, into: &e)
        }
        for k in 0..<3 { XCTAssertEqual(e[k], 0.75 * a[k] + 0.25 * b[k], accuracy: 1e-15) }
        XCTAssertEqual(e.reduce(0, +), 1, accuracy: 1e-6)
    }

    func testMismatchedModelsAreRejected() throws {
        let dir = TestPaths.fixtures + "/models/"
        let seed = try ModelFile.load(path: dir + "lgb-seed/model.txt")
        let nano = try ModelFile.load(path: dir + "lgb-nano/model.txt")
        XCTAssertThrowsError(try Ensemble(models: [seed, nano], weights: [1, 1])) { error in
            XCTAssertEqual("\(error)", "ensemble:model 1: 32 features → 1 outputs, but the ensemble takes 32 → 3")
        }
        XCTAssertThrowsError(try Ensemble(models: [seed], weights: [-1]))
    }

    func testCSVRowsWithHeaderAndMissingValues() throws {
        let path = temporaryFile(Array("a,b,c\n1,,3\nnan,2.5,-1\n".utf8), suffix: ".csv")
        let (values, width) = try ModelInput.rows(path: path, features: nil)
        XCTAssertEqual(width, 3)
        XCTAssertEqual(values.count, 6)
        XCTAssertTrue(values[1].isNaN && values[3].isNaN)
        XCTAssertEqual(values[4], 2.5)
        let bad = temporaryFile(Array("1,2\n3,x\n".utf8), suffix: ".csv")
        XCTAssertThrowsError(try ModelInput.rows(path: bad, features: nil)) { error in
            XCTAssertEqual("\(error)", "\(bad):2: column 2: \"x\" is not a number")
        }
    }

    /// Rule 1: the demo ensemble (LightGBM through QuickScorer + ONNX MLP) predicts with no
    /// reference counting at all. Calling the tree model through a pointer once copied it —
    /// a retain of its arrays per call — and the malloc counts could not see that.
    func testPredictMakesNoRetains() throws {
        try requireOptimizedBuild()
        let lgb = try ModelFile.load(path: TestPaths.root + "/demo/model-lgb.txt")
        let mlp = try ModelFile.load(path: TestPaths.root + "/demo/model-mlp.onnx")
        let deep = try ModelFile.load(path: TestPaths.fixtures + "/models/lgb-seed/model.txt")
        let x = [Double](repeating: 0.25, count: 48)  // the widest model's row (the RNNs': 8 steps × 6)
        var out = [Double](repeating: 0, count: 3)
        let lstm = try ModelFile.load(path: TestPaths.fixtures + "/models/rnn-lstm/model.onnx")
        let gru = try ModelFile.load(path: TestPaths.fixtures + "/models/rnn-gru/model.onnx")
        for (name, ensemble) in [
            ("demo", try Ensemble(models: [lgb, mlp], weights: [0.7, 0.3])),
            ("lgb-seed", try Ensemble(models: [deep], weights: [1])),
            ("lstm", try Ensemble(models: [lstm], weights: [1])), ("gru", try Ensemble(models: [gru], weights: [1])),
        ] {
            x.withUnsafeBufferPointer { xb in
                out.withUnsafeMutableBufferPointer { ob in
                    ensemble.predict(xb.baseAddress!, into: ob.baseAddress!)  // warm
                    let before = hp_thread_retain_count()
                    for _ in 0..<1_000 { ensemble.predict(xb.baseAddress!, into: ob.baseAddress!) }
                    XCTAssertEqual(hp_thread_retain_count() - before, 0, name)
                }
            }
        }
    }
}
