import Foundation
import MallocCounter
import XCTest

@testable import HotPath

/// ADWIN and Page-Hinkley against River 0.26.1's detections on five streams with known
/// change points, two to three settings each (tools/adaptive/make_drift_fixtures.py).
final class DriftDetectorTests: XCTestCase {
    let dir = TestPaths.fixtures + "/adaptive/"

    func testDetectionsEqualRiversOnFiveStreams() throws {
        let data = try XCTUnwrap(readBytes(dir + "drift.json"))
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(data)) as? [String: Any])
        let settings = try XCTUnwrap(root["settings"] as? [String: [String: Any]])
        let expected = try XCTUnwrap(root["detections"] as? [String: [String: [Int]]])
        XCTAssertEqual(expected.count, 5)
        for (stream, bySetting) in expected {
            let values = try XCTUnwrap(readText(dir + "drift-\(stream).csv")).split(separator: "\n").map { Double($0)! }
            for (setting, hits) in bySetting {
                let p = settings[setting]!
                func number(_ key: String, _ fallback: Double) -> Double {
                    (p[key] as? NSNumber)?.doubleValue ?? fallback
                }
                var found: [Int] = []
                if setting.hasPrefix("adwin") {
                    var d = ADWIN(
                        delta: number("delta", 0.002), clock: Int(number("clock", 32)),
                        maxBuckets: Int(number("max_buckets", 5)), minWindowLength: Int(number("min_window_length", 5)),
                        gracePeriod: Int(number("grace_period", 10)))
                    for (i, v) in values.enumerated() where d.update(v) { found.append(i) }
                } else {
                    var d = PageHinkley()
                    d.minInstances = Int(number("min_instances", 30))
                    d.delta = number("delta", 0.005)
                    d.threshold = number("threshold", 50)
                    d.alpha = number("alpha", 1 - 0.0001)
                    d.mode = PageHinkley.Mode(rawValue: p["mode"] as? String ?? "both")!
                    for (i, v) in values.enumerated() where d.update(v) { found.append(i) }
                }
                XCTAssertEqual(found, hits, "\(stream) \(setting)")
            }
        }
    }

    func testUpdatesAllocateNothing() throws {
        try requireOptimizedBuild()
        var adwin = ADWIN()
        var ph = PageHinkley()
        func run(_ n: Int) -> UInt64 {
            let before = hp_thread_malloc_count()
            for i in 0..<n {
                let v = Double(i % 97) * (i > n / 2 ? 2 : 1)
                _ = adwin.update(v)
                _ = ph.update(v)
            }
            return hp_thread_malloc_count() - before
        }
        XCTAssertEqual(run(1_000), run(100_000))
    }
}
