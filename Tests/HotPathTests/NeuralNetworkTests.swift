import CSupport
import MallocCounter
import XCTest

@testable import HotPath

/// scikit-learn MLPs exported with skl2onnx, against ONNX Runtime's outputs (fixtures from
/// tools/models/make_fixtures.sh).
final class NeuralNetworkTests: XCTestCase {
    func floats(_ path: String) -> [Float] {
        readBytes(path)!.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    func maxDifference(_ name: String, rows expectedRows: Int = 1000) throws -> Float {
        let dir = TestPaths.fixtures + "/models/" + name
        let net = try ONNXLoader.load(path: dir + "/model.onnx")
        let x = floats(dir + "/X.f32"), ref = floats(dir + "/ref.f32")
        let rows = x.count / net.features
        XCTAssertEqual(rows, expectedRows)
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

    /// The kernels a CPU may run agree: portable against the best one here, for the dense
    /// layout ([in][out]) and the narrow one ([out][in]), at widths that take every block
    /// size and tail, with ReLU fused or not. ReLU keeps NaN (ONNX Runtime's max(y, 0)); the
    /// portable kernel with ReLU is exactly the portable kernel without, then y < 0 ? 0 : y.
    func testDenseKernelsAgreeWithAndWithoutReLU() {
        var rng = SystemRandomNumberGenerator()
        let (portableSet, bestSet) = (hp_nn_kernels_select(1), hp_nn_kernels_select(0))
        let kernels = [("dense", portableSet.dense!, bestSet.dense!), ("narrow", portableSet.narrow!, bestSet.narrow!)]
        for (name, portable, best) in kernels {
            for (inputs, outputs) in [(32, 64), (64, 64), (64, 3), (7, 19), (16, 1), (33, 120)] {
                var x = (0..<inputs).map { _ in Float.random(in: -2...2, using: &rng) }
                x[0] = .nan  // row 0's outputs: NaN throughout
                let w = (0..<inputs * outputs).map { _ in Float.random(in: -1...1, using: &rng) }
                let b = (0..<outputs).map { _ in Float.random(in: -1...1, using: &rng) }
                func run(_ k: hp_dense_f32_fn, _ x: [Float], _ w: [Float], _ relu: Int32) -> [Float] {
                    var y = [Float](repeating: 7, count: outputs)
                    x.withUnsafeBufferPointer { xp in
                        w.withUnsafeBufferPointer { wp in
                            b.withUnsafeBufferPointer { bp in
                                y.withUnsafeMutableBufferPointer {
                                    k(
                                        xp.baseAddress!, wp.baseAddress!, bp.baseAddress!, $0.baseAddress!,
                                        Int32(inputs), Int32(outputs), relu)
                                }
                            }
                        }
                    }
                    return y
                }
                let label = "\(name) \(inputs)→\(outputs)"
                XCTAssert(run(portable, x, w, 1).allSatisfy(\.isNaN), label)
                XCTAssert(run(best, x, w, 1).allSatisfy(\.isNaN), label)
                x[0] = 0.5
                for relu: Int32 in [0, 1] {
                    let p = run(portable, x, w, relu), q = run(best, x, w, relu)
                    for j in 0..<outputs {
                        XCTAssertEqual(p[j], q[j], accuracy: 1e-5, "\(label) relu \(relu) output \(j)")
                    }
                    if relu == 1 {
                        let plain = run(portable, x, w, 0)
                        XCTAssertEqual(p.map(\.bitPattern), plain.map { ($0 < 0 ? 0 : $0).bitPattern }, label)
                    }
                }
            }
        }
    }

    /// The eight-wide tanh and sigmoid stay within 3e-7 of libm's over a dense sweep of
    /// [−100, 100], tiny and huge magnitudes and both zeros, map ±∞ to their limits, and
    /// keep NaN.
    func testVectorActivationsMatchLibm() {
        var values: [Float] = stride(from: -100, through: 100, by: 0.0137).map { Float($0) }
        values += [
            0, -0.0, 1e-30, -1e-30, 1e-7, -1e-7, 88.5, -88.5, 1e30, -1e30, .greatestFiniteMagnitude,
            -.greatestFiniteMagnitude,
        ]
        let specials: [Float] = [.infinity, -.infinity, .nan, 0.5, -0.5, .nan, 3, -3]  // one whole vector
        let (portableSet, bestSet) = (hp_nn_kernels_select(1), hp_nn_kernels_select(0))
        for (name, best, portable) in [
            ("tanh", bestSet.tanh!, portableSet.tanh!), ("sigmoid", bestSet.sigmoid!, portableSet.sigmoid!),
        ] {
            var a = values, b = values
            a.withUnsafeMutableBufferPointer { best($0.baseAddress!, Int32($0.count)) }
            b.withUnsafeMutableBufferPointer { portable($0.baseAddress!, Int32($0.count)) }
            var worst: Float = 0
            for i in values.indices { worst = max(worst, abs(a[i] - b[i])) }
            XCTAssertLessThanOrEqual(worst, 3e-7, name)
            var s = specials, t = specials
            s.withUnsafeMutableBufferPointer { best($0.baseAddress!, 8) }
            t.withUnsafeMutableBufferPointer { portable($0.baseAddress!, 8) }
            for i in specials.indices {
                if specials[i].isNaN { XCTAssert(s[i].isNaN, "\(name)(NaN) = \(s[i])"); continue }
                XCTAssertEqual(s[i], t[i], accuracy: 3e-7, "\(name)(\(specials[i]))")
            }
        }
    }

    /// HOTPATH_PORTABLE=1 (the kernels CPUs without AVX2+FMA run: plain loops, libm's
    /// activations) holds every network fixture to ONNX Runtime's outputs as well.
    func testPortableKernelsMatchONNXRuntime() throws {
        setenv("HOTPATH_PORTABLE", "1", 1)
        defer { unsetenv("HOTPATH_PORTABLE") }
        XCTAssertFalse(try ONNXLoader.load(path: TestPaths.fixtures + "/models/mlp-relu-64-64/model.onnx").usesAVX2)
        for name in ["mlp-relu-64-64", "mlp-tanh-32", "mlp-logistic-64-32-16"] {
            XCTAssertLessThanOrEqual(try maxDifference(name), 1e-5, name)
        }
        for name in ["rnn-lstm", "rnn-gru", "rnn-gru-lbr"] {
            XCTAssertLessThanOrEqual(try maxDifference(name, rows: 500), 1e-5, name)
        }
    }

    func testReluTwoHiddenLayersMatchesONNXRuntime() throws {
        XCTAssertLessThanOrEqual(try maxDifference("mlp-relu-64-64"), 1e-5)
    }
    func testTanhOneHiddenLayerMatchesONNXRuntime() throws {
        XCTAssertLessThanOrEqual(try maxDifference("mlp-tanh-32"), 1e-5)
    }
    func testLogisticThreeHiddenLayersMatchesONNXRuntime() throws {
        XCTAssertLessThanOrEqual(try maxDifference("mlp-logistic-64-32-16"), 1e-5)
    }

    // Recurrent classifiers (tools/models/make_rnn.py): 8 steps × 6 features, hidden 16.
    func testLSTMMatchesONNXRuntime() throws {
        XCTAssertLessThanOrEqual(try maxDifference("rnn-lstm", rows: 500), 1e-5)
    }
    func testGRUMatchesONNXRuntime() throws { XCTAssertLessThanOrEqual(try maxDifference("rnn-gru", rows: 500), 1e-5) }
    func testGRULinearBeforeResetMatchesONNXRuntime() throws {
        XCTAssertLessThanOrEqual(try maxDifference("rnn-gru-lbr", rows: 500), 1e-5)
    }

    /// Stacked recurrent layers, each on the whole sequence of the one before: two LSTMs (with
    /// zero initial states given, as PyTorch writes them) and three GRUs of falling widths.
    func testStackedRecurrentLayersMatchONNXRuntime() throws {
        XCTAssertLessThanOrEqual(try maxDifference("rnn-lstm2", rows: 500), 1e-5)
        XCTAssertLessThanOrEqual(try maxDifference("rnn-gru2", rows: 500), 1e-5)
        XCTAssertEqual(
            try ONNXLoader.load(path: TestPaths.fixtures + "/models/rnn-gru2/model.onnx").recurrent.map(\.hidden),
            [16, 12, 8])
    }

    /// The engine's windowed model: 60 steps of 16 features.
    func testALongWindowMatchesONNXRuntime() throws {
        XCTAssertLessThanOrEqual(try maxDifference("rnn-lstm-60x16", rows: 100), 1e-5)
    }
}

/// Model evaluation allocates nothing per row.
final class ModelMallocTests: XCTestCase {
    func testPredictDoesNotAllocate() throws {
        try requireOptimizedBuild()
        let dir = TestPaths.fixtures + "/models/"
        let trees = try LightGBMLoader.load(path: dir + "lgb-cat/model.txt")
        let xgb = try XGBoostLoader.load(path: dir + "xgb/model.json")
        let net = try ONNXLoader.load(path: dir + "mlp-relu-64-64/model.onnx")
        let x = [Double](repeating: 0.25, count: 32), xf = [Float](repeating: 0.25, count: 32)
        var out = [Double](repeating: 0, count: 3), outf = [Float](repeating: 0, count: 3)
        func run(_ rows: Int) -> UInt64 {
            x.withUnsafeBufferPointer { xb in
                xf.withUnsafeBufferPointer { xfb in
                    out.withUnsafeMutableBufferPointer { ob in
                        outf.withUnsafeMutableBufferPointer { ofb in
                            let before = hp_thread_malloc_count()
                            for _ in 0..<rows {
                                trees.predict(xb.baseAddress!, into: ob.baseAddress!)
                                xgb.predict(xb.baseAddress!, into: ob.baseAddress!)
                                net.predict(xfb.baseAddress!, into: ofb.baseAddress!)
                            }
                            return hp_thread_malloc_count() - before
                        }
                    }
                }
            }
        }
        XCTAssertEqual(run(1_000), run(100_000))
    }
}
