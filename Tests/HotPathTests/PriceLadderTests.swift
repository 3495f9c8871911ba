import XCTest

@testable import HotPath

/// The ladder against a plain dictionary model, through tick learning, tick refinement,
/// prices outside the window and levels emptying at the top, publishing after one or several
/// changes.
final class PriceLadderTests: XCTestCase {
    struct Model {
        var levels: [Int64: (size: UInt32, count: UInt32)] = [:]
        let isBid: Bool
        func top(_ n: Int) -> [PriceLadder.Level] {
            levels.keys.sorted(by: isBid ? (>) : (<)).prefix(n).map {
                .init(price: $0, size: levels[$0]!.size, count: levels[$0]!.count)
            }
        }
    }

    func runRandomSession(isBid: Bool, seed: UInt64) throws {
        let arena = try Arena(bytes: 8 << 20, lock: false)
        defer { withExtendedLifetime(arena) {} }
        let ladder = try PriceLadder(slots: 256, overflowLevels: 4096, learnAfter: 8, isBid: isBid, arena: arena)
        var model = Model(isBid: isBid)
        var rng = seed | 1
        func next(_ n: Int) -> Int { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return Int(rng % UInt64(n)) }
        let out = UnsafeMutablePointer<PriceLadder.Level>.allocate(capacity: 10)
        defer { out.deallocate() }
        var lastTop: [PriceLadder.Level] = []
        for step in 0..<20_000 {
            // Mostly a coarse grid near 1000; sometimes a finer tick, sometimes far away.
            var price = Int64(1000 + next(80) - 40) * 500
            if step > 2000 && next(50) == 0 { price += 250 }  // refines the tick
            if next(200) == 0 { price += Int64(next(2) == 0 ? 1 : -1) * 10_000_000 }  // outside the window
            if next(3) > 0 || model.levels.isEmpty {
                let size = UInt32(1 + next(9))
                XCTAssertTrue(ladder.add(price: price, size: size, orders: 1))
                model.levels[price, default: (0, 0)].size += size
                model.levels[price, default: (0, 0)].count += 1
            } else {
                let key = model.levels.keys.sorted()[next(model.levels.count)]
                let l = model.levels[key]!
                let orders: UInt32 = l.count == 1 || next(2) == 0 ? 1 : 0
                let size = orders == 1 && l.count == 1 ? l.size : min(l.size, 1)
                XCTAssertTrue(ladder.remove(price: key, size: size, orders: orders))
                model.levels[key] = (l.size - size, l.count - orders)
                if l.count - orders == 0 { model.levels[key] = nil }
            }
            // Publish after one, two or more changes, as a book does at the end of a batch.
            if next(3) == 0 { continue }
            let n = ladder.publish(into: out, depth: 10)
            let top = n == 0 ? [] : Array(UnsafeBufferPointer(start: out, count: n))
            // The ladder may skip the copy when nothing in the top changed: keep the last one.
            if !top.isEmpty || n == 0 { lastTop = top }
            XCTAssertEqual(lastTop, model.top(10), "step \(step)")
            XCTAssertEqual(ladder.count, model.levels.count, "step \(step)")
            XCTAssertEqual(ladder.best, model.top(1).first, "step \(step)")
            if lastTop != model.top(10) { return }
        }
    }

    func testBidsMatchTheModel() throws { try runRandomSession(isBid: true, seed: 7) }
    func testAsksMatchTheModel() throws { try runRandomSession(isBid: false, seed: 11) }
}
