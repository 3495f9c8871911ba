import CSupport
import MallocCounter
import XCTest

@testable import HotPath

/// scikit-learn models through skl2onnx, LightGBM and XGBoost through onnxmltools, and
/// CatBoost's own ONNX export (ONNX-ML operators), against ONNX Runtime's own outputs
/// (tools/models/make_sklearn_onnx.py).
final class OperatorChainTests: XCTestCase {
    static let kinds = [
        "skl-rf-binary", "skl-rf-3class", "skl-rf-reg", "skl-et-reg", "skl-gb-binary", "skl-gb-3class", "skl-gb-reg",
        "skl-scaler-lr", "skl-scaler-lr3", "oml-lgb-binary", "oml-lgb-reg", "oml-xgb-3class", "cat-binary",
    ]

    func chain(_ kind: String) throws -> OperatorChain {
        guard case let .chain(c) = try ModelFile.load(path: TestPaths.fixtures + "/models/\(kind)/model.onnx") else {
            throw ModelError(file: kind, place: "", reason: "not an operator chain")
        }
        return c
    }

    func testScikitLearnModelsMatchONNXRuntime() throws {
        for kind in Self.kinds {
            let dir = TestPaths.fixtures + "/models/\(kind)/"
            let c = try chain(kind)
            let x = readBytes(dir + "X.f64")!.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
            let ref = readBytes(dir + "ref.f64")!.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
            let rows = x.count / c.features
            XCTAssertEqual(rows, 500, kind)
            XCTAssertEqual(ref.count, rows * c.outputs, kind)
            var out = [Double](repeating: 0, count: c.outputs)
            var worst = 0.0
            for r in 0..<rows {
                x.withUnsafeBufferPointer { c.predict($0.baseAddress! + r * c.features, into: &out) }
                for k in 0..<c.outputs { worst = max(worst, abs(out[k] - ref[r * c.outputs + k])) }
            }
            XCTAssertLessThanOrEqual(worst, 1e-5, kind)
        }
        XCTAssertEqual(try chain("skl-scaler-lr3").description, "Scaler → LinearClassifier → Normalizer")
        XCTAssertEqual(try chain("skl-rf-binary").description, "TreeEnsembleClassifier")
    }

    func testAChainAllocatesNothingPerRow() throws {
        try requireOptimizedBuild()
        let chains = try Self.kinds.map(chain)
        let x = [Double](repeating: 0.25, count: 8)
        var out = [Double](repeating: 0, count: 3)
        func run(_ rows: Int) -> UInt64 {
            x.withUnsafeBufferPointer { xb in
                out.withUnsafeMutableBufferPointer { ob in
                    let before = hp_thread_malloc_count()
                    for _ in 0..<rows { for c in chains { c.predict(xb.baseAddress!, into: ob.baseAddress!) } }
                    return hp_thread_malloc_count() - before
                }
            }
        }
        XCTAssertEqual(run(100), run(10_000))
    }

    /// Hand-made graphs for what skl2onnx does not write: the plain ops with broadcasting,
    /// ArgMax, and the refusals.
    func testPlainOpsAndRefusals() throws {
        // (x − [1, 2]) · 2 / 4 + 0.5, then ArgMax.
        let graph = ONNXGraph(inputs: 2)
            .node("Sub", inputs: ["x", "c1"], output: "a", constant: ("c1", [1, 2]))
            .node("Mul", inputs: ["c2", "a"], output: "b", constant: ("c2", [2]))
            .node("Div", inputs: ["b", "c3"], output: "c", constant: ("c3", [4]))
            .node("Add", inputs: ["c", "c4"], output: "d", constant: ("c4", [0.5]))
        let path = temporaryFile(graph.bytes(output: "d"), suffix: ".onnx")
        let model = try ModelFile.load(path: path)
        var out = [Double](repeating: 0, count: 2)
        model.predict([3, 1], into: &out, scratch: .allocate(capacity: 8))
        XCTAssertEqual(out, [1.5, 0])
        let argmax = temporaryFile(
            graph.node("ArgMax", inputs: ["d"], output: "e", ints: ["axis": 1]).bytes(output: "e"), suffix: ".onnx")
        try ModelFile.load(path: argmax).predict([3, 1], into: &out, scratch: .allocate(capacity: 8))
        XCTAssertEqual(out[0], 0)
        let pow = temporaryFile(
            ONNXGraph(inputs: 2).node("Pow", inputs: ["x", "c"], output: "y", constant: ("c", [2])).bytes(output: "y"),
            suffix: ".onnx")
        XCTAssertThrowsError(try ModelFile.load(path: pow)) {
            XCTAssertTrue("\($0)".contains("node \"n0\" (Pow): op Pow is not supported"), "\($0)")
        }
    }
}

/// A tiny ONNX writer for tests: one float input [1, N], nodes with a constant each.
struct ONNXGraph {
    var inputs: Int
    var nodes: [[UInt8]] = []
    var initializers: [[UInt8]] = []

    static func varint(_ v: UInt64) -> [UInt8] {
        var v = v, out: [UInt8] = []
        repeat {
            out.append(UInt8(v & 0x7F) | (v > 0x7F ? 0x80 : 0))
            v >>= 7
        } while v > 0
        return out
    }
    static func field(_ n: Int, _ bytes: [UInt8]) -> [UInt8] {
        varint(UInt64(n << 3 | 2)) + varint(UInt64(bytes.count)) + bytes
    }
    static func string(_ n: Int, _ s: String) -> [UInt8] { field(n, Array(s.utf8)) }

    func node(
        _ op: String, inputs: [String], output: String, constant: (String, [Float])? = nil, ints: [String: Int] = [:]
    ) -> ONNXGraph {
        var g = self
        var n = inputs.flatMap { Self.string(1, $0) } + Self.string(2, output) + Self.string(3, "n\(nodes.count)")
        n += Self.string(4, op)
        for (k, v) in ints { n += Self.field(5, Self.string(1, k) + Self.varint(3 << 3) + Self.varint(UInt64(v))) }
        g.nodes.append(n)
        if let (name, values) = constant {
            let raw = values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
            g.initializers.append(
                Self.varint(1 << 3) + Self.varint(UInt64(values.count)) + Self.varint(2 << 3) + Self.varint(1)
                    + Self.string(8, name) + Self.field(9, raw))
        }
        return g
    }

    func bytes(output: String) -> [UInt8] {
        let dim = { (v: Int) in Self.field(1, Self.varint(1 << 3) + Self.varint(UInt64(v))) }
        let shape = Self.field(2, dim(1) + dim(inputs))
        let type = Self.field(2, Self.field(1, Self.varint(1 << 3) + Self.varint(1) + shape))
        var graph = nodes.flatMap { Self.field(1, $0) } + initializers.flatMap { Self.field(5, $0) }
        graph += Self.field(11, Self.string(1, "x") + type) + Self.field(12, Self.string(1, output))
        return Self.field(7, graph)
    }
}
