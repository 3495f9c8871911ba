import XCTest

@testable import HotPath

final class ArenaTests: XCTestCase {
    func testAllocationsAreAlignedZeroedAndBounded() throws {
        let arena = try Arena(bytes: 8192, cpu: 0, lock: true)
        let a = try arena.allocate(UInt8.self, count: 3)
        let b = try arena.allocate(UInt64.self, count: 10, alignment: 128)
        XCTAssertEqual(UInt(bitPattern: b) % 128, 0)
        XCTAssertGreaterThan(UInt(bitPattern: b), UInt(bitPattern: a))
        XCTAssertEqual((0..<10).map { b[$0] }, [UInt64](repeating: 0, count: 10))
        XCTAssertThrowsError(try arena.allocate(UInt8.self, count: 1 << 20)) { error in
            XCTAssertTrue("\(error)".hasPrefix("arena exhausted"), "\(error)")
        }
    }

    func testArenaReportsHowItsMemoryIsHeld() throws {
        let arena = try Arena(bytes: 1 << 16, cpu: 0, lock: true)
        XCTAssertTrue(arena.summary.contains("pre-faulted"), arena.summary)
        if !arena.locked { XCTAssertTrue(arena.notes.contains { $0.contains("mlock") }, "\(arena.notes)") }
    }

    func testHugePagesFallBackWithANote() throws {
        let arena = try Arena(bytes: 3 << 20, hugePages: true, lock: false)
        if arena.usesHugePages {
            XCTAssertEqual(arena.capacity % Arena.hugePageSize, 0)
        } else {
            XCTAssertTrue(arena.notes.contains { $0.contains("huge pages unavailable") }, "\(arena.notes)")
        }
    }

    func testNonPositiveSizeIsAnError() {
        XCTAssertThrowsError(try Arena(bytes: 0))
    }
}
