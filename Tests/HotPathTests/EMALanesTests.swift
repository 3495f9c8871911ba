import XCTest

@testable import HotPath

final class EMALanesTests: XCTestCase {
    func testEveryLaneEqualsTheScalarIndicatorExactly() {
        let instruments = 7
        var lanes = EMALanes(period: 12, instruments: instruments)
        var scalars = (0..<instruments).map { _ in EMA(period: 12) }
        var rng: UInt64 = 99
        var x = [Double](repeating: 0, count: instruments), out = x
        for _ in 0..<500 {
            for i in 0..<instruments {
                rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17
                x[i] = 100 + Double(rng % 1000) / 100
            }
            x.withUnsafeBufferPointer { xb in
                out.withUnsafeMutableBufferPointer { lanes.update(xb.baseAddress!, into: $0.baseAddress!) }
            }
            for i in 0..<instruments {
                let s = scalars[i].update(x[i])
                if s.isNaN { XCTAssertTrue(out[i].isNaN) } else { XCTAssertEqual(out[i], s) }
            }
        }
    }
}
