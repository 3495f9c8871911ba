import Synchronization
import XCTest

@testable import HotPath

final class PinnedThreadTests: XCTestCase {
    func testThreadRunsPinnedToTheRequestedCPU() throws {
        let cpu = PinnedThread.currentAffinity().cpus.last!
        let thread = try PinnedThread.start(name: "pin-test", cpu: cpu) {
            Box.shared.cpus.store(PinnedThread.currentAffinity().cpus == [cpu] ? cpu : -2, ordering: .releasing)
        }
        thread.join()
        XCTAssertEqual(Box.shared.cpus.load(ordering: .acquiring), cpu)
    }

    func testOutOfRangeCPUIsAClearError() {
        XCTAssertThrowsError(try PinnedThread.start(name: "bad", cpu: 4095) {}) { error in
            XCTAssertEqual("\(error)".prefix(43), "cpu 4095 is offline or out of range: online")
        }
        XCTAssertThrowsError(try PinnedThread.validate(cpu: -1))
    }

    func testRefusedFifoPriorityIsANoteNotAFailure() throws {
        // As root SCHED_FIFO may be granted; either way the thread must start.
        let thread = try PinnedThread.start(name: "fifo-test", cpu: nil, fifoPriority: 10) {}
        thread.join()
        for note in thread.notes { XCTAssertTrue(note.contains("SCHED_FIFO"), note) }
    }

    func testCPUListParsesKernelSyntax() {
        XCTAssertEqual(CPUList(parsing: "0-3,8,10-11")?.cpus, [0, 1, 2, 3, 8, 10, 11])
        XCTAssertEqual(CPUList(parsing: "domain,managed_irq,2-3")?.cpus, [2, 3])
        XCTAssertNil(CPUList(parsing: "3-1"))
        XCTAssertEqual(CPUList(mask: "00000000,0000000f")?.cpus, [0, 1, 2, 3])
        XCTAssertEqual(CPUList([5, 0, 1, 2]).description, "0-2,5")
    }
}

final class Box: Sendable {
    static let shared = Box()
    let cpus = Atomic<Int>(-1)
}
