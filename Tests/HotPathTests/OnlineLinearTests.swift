import Foundation
import MallocCounter
import XCTest

@testable import HotPath

/// Online logistic and softmax regression against River 0.26.1's progressive predictions
/// (predict, then learn) on three streams, one of them real (tools/adaptive/make_online_fixtures.py).
final class OnlineLinearTests: XCTestCase {
    let dir = TestPaths.fixtures + "/adaptive/"

    /// A CSV of numbers with a header: the named columns, and the rows.
    func table(_ path: String) throws -> (header: [String], rows: [[Double]]) {
        let text = try XCTUnwrap(readText(path), path)
        var lines = text.split(separator: "\n")
        let header = lines.removeFirst().split(separator: ",").map(String.init)
        return (header, lines.map { $0.split(separator: ",").map { Double($0)! } })
    }

    func testPredictionsMatchRiverOnThreeStreams() throws {
        var checked = 0
        for stream in ["synthetic-drift", "synthetic-mixed", "esh4"] {
            let (header, rows) = try table(dir + stream + ".csv")
            let features = header.count - 2  // then "up" and "class"
            for kind in [OnlineLinear.Kind.logistic, .softmax] {
                for scaled in [false, true] {
                    var config = OnlineLinear.Config()
                    config.kind = kind
                    config.features = features
                    config.classes = kind == .softmax ? 3 : 2
                    config.learningRate = 0.05
                    config.l2 = 0.001
                    config.scale = scaled
                    let learner = OnlineLinear(config)
                    let name = "\(stream)-\(kind.rawValue)\(scaled ? "-scaled" : "")"
                    let ref = try table(dir + name + ".ref.csv").rows
                    XCTAssertEqual(ref.count, rows.count, name)
                    var p = [Double](repeating: 0, count: learner.outputs)
                    var worst = 0.0
                    for (i, row) in rows.enumerated() {
                        learner.predict(row, into: &p)
                        for k in 0..<learner.outputs { worst = max(worst, abs(p[k] - ref[i][k])) }
                        learner.learn(row, label: Int(row[features + (kind == .softmax ? 1 : 0)]))
                    }
                    XCTAssertLessThanOrEqual(worst, 1e-9, name)
                    checked += 1
                }
            }
        }
        XCTAssertEqual(checked, 12)
    }

    func testLearningAllocatesNothing() throws {
        try requireOptimizedBuild()
        var config = OnlineLinear.Config()
        config.kind = .softmax
        config.features = 32
        config.classes = 3
        config.scale = true
        let learner = OnlineLinear(config)
        let x = (0..<32).map { Double($0) * 0.1 }
        var p = [Double](repeating: 0, count: 3)
        func run(_ n: Int) -> UInt64 {
            x.withUnsafeBufferPointer { xb in
                p.withUnsafeMutableBufferPointer { pb in
                    let before = hp_thread_malloc_count()
                    for i in 0..<n {
                        learner.predict(xb.baseAddress!, into: pb.baseAddress!)
                        learner.learn(xb.baseAddress!, label: i % 3)
                    }
                    return hp_thread_malloc_count() - before
                }
            }
        }
        XCTAssertEqual(run(100), run(10_000))
    }
}
