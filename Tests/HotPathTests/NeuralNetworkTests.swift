import XCTest
@testable import HotPath

/// scikit-learn MLPs exported with skl2onnx, against ONNX Runtime's outputs (fixtures from
/// tools/models/make_fixtures.sh).
final class NeuralNetworkTests: XCTestCase {
    func floats(_ path: String) -> [Float] {
        readBytes(path)!.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    func maxDifference(_ name: String) throws -> Float {
        let dir = TestPaths.fixtures + "/models/" + name
        let net = try ONNXLoader.load(path: dir + "/model.onnx")
        let x = floats(dir + "/X.f32"), ref = floats(dir + "/ref.f32")
        let rows = x.count / net.features
        XCTAssertEqual(rows, 1000)
        XCTAssertEqual(net.outputs, 3)
        var out = [Float](repeating: 0, count: net.outputs)
        var worst: Float = 0
        x.withUnsafeBufferPointer { xb in
            out.withUnsafeMutableBufferPointer { ob in
                for r in 0..<rows {
                    net.predict(xb.baseAddress! + r * net.features, into: ob.baseAddress!)
                    for k in 0..<net.outputs { worst = max(worst, abs(ob[k] - ref[r * net.outputs + k])) }
                }
            }
        }
        return worst
    }

    func testReluTwoHiddenLayersMatchesONNXRuntime() throws { XCTAssertLessThanOrEqual(try maxDifference("mlp-relu-64-64"), 1e-5) }
    func testTanhOneHiddenLayerMatchesONNXRuntime() throws { XCTAssertLessThanOrEqual(try maxDifference("mlp-tanh-32"), 1e-5) }
    func testLogisticThreeHiddenLayersMatchesONNXRuntime() throws { XCTAssertLessThanOrEqual(try maxDifference("mlp-logistic-64-32-16"), 1e-5) }
}
