import MallocCounter
import XCTest

@testable import HotPath

/// Calibration against scikit-learn's CalibratedClassifierCV.predict_proba on the same
/// probabilities (tools/models/export_calibration.py).
final class CalibrationTests: XCTestCase {
    let dir = TestPaths.fixtures + "/models/calibration/"

    func doubles(_ path: String) -> [Double] {
        readBytes(path)!.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
    }

    func testIsotonicAndSigmoidMatchScikitLearn() throws {
        for name in ["isotonic-2", "sigmoid-2", "isotonic-3", "sigmoid-3"] {
            let c = try Calibration.load(path: dir + name + ".json")
            var p = doubles(dir + "P-\(name).f64")
            let ref = doubles(dir + "ref-\(name).f64")
            XCTAssertEqual(p.count, ref.count)
            for r in stride(from: 0, to: p.count, by: c.classes) {
                p.withUnsafeMutableBufferPointer { c.apply($0.baseAddress! + r) }
            }
            let worst = zip(p, ref).map { abs($0 - $1) }.max()!
            XCTAssertLessThanOrEqual(worst, 1e-12, name)
        }
    }

    /// As the ensemble's last stage: a one-model ensemble of a constant-probability model,
    /// calibrated, gives the calibrator's value; a mismatch of classes is refused; no malloc.
    func testTheEnsembleCalibratesItsOutputWithoutAllocating() throws {
        try requireOptimizedBuild()
        let model = try ModelFile.load(path: TestPaths.fixtures + "/models/xgb/model.json")
        let calibration = try Calibration.load(path: dir + "isotonic-3.json")
        let plain = try Ensemble(models: [model], weights: [1])
        let calibrated = try Ensemble(models: [model], weights: [1], calibration: calibration)
        let x = [Double](repeating: 0.1, count: model.features)
        var a = [Double](repeating: 0, count: 3), b = a
        plain.predict(x, into: &a)
        calibrated.predict(x, into: &b)
        calibration.apply(&a)
        XCTAssertEqual(a, b)
        XCTAssertThrowsError(
            try Ensemble(models: [model], weights: [1], calibration: Calibration.load(path: dir + "sigmoid-2.json"))
        ) { XCTAssertTrue("\($0)".contains("calibrates 2 classes, but the models give 3 outputs"), "\($0)") }
        func run(_ n: Int) -> UInt64 {
            x.withUnsafeBufferPointer { xb in
                b.withUnsafeMutableBufferPointer { ob in
                    let before = hp_thread_malloc_count()
                    for _ in 0..<n { calibrated.predict(xb.baseAddress!, into: ob.baseAddress!) }
                    return hp_thread_malloc_count() - before
                }
            }
        }
        XCTAssertEqual(run(100), run(10_000))
    }

    func testBadCalibrationFilesAreOneLineErrors() {
        func error(_ json: String) -> String {
            do {
                _ = try Calibration.load(path: temporaryFile(Array(json.utf8), suffix: ".json")); return "loaded"
            } catch {
                return error.place + ": " + error.reason
            }
        }
        XCTAssertEqual(
            error("{\"method\":\"temperature\",\"classes\":2}"),
            "method: \"temperature\" is not supported (isotonic, sigmoid)")
        XCTAssertEqual(
            error("{\"method\":\"sigmoid\",\"classes\":3,\"calibrators\":[{\"a\":1,\"b\":0}]}"),
            "calibrators: expected 3 calibrators for 3 classes")
        XCTAssertEqual(
            error("{\"method\":\"isotonic\",\"classes\":2,\"calibrators\":[{\"x\":[1,0],\"y\":[0,1]}]}"),
            "calibrators[0].x: not increasing")
    }
}
