import MallocCounter
import XCTest

@testable import HotPath

final class SPSCRingTests: XCTestCase {
    func testCapacityMustBeAPowerOfTwo() throws {
        let arena = try Arena(bytes: 1 << 16, lock: false)
        defer { withExtendedLifetime(arena) {} }  // what is carved from it holds raw pointers
        XCTAssertThrowsError(try SPSCRing<Int>(capacity: 100, policy: .drop, arena: arena)) { error in
            XCTAssertTrue("\(error)".contains("power of two"), "\(error)")
        }
    }

    func testSingleThreadFIFOAcrossWraps() throws {
        let arena = try Arena(bytes: 1 << 16, lock: false)
        defer { withExtendedLifetime(arena) {} }  // what is carved from it holds raw pointers
        let ring = try SPSCRing<Int>(capacity: 8, policy: .drop, arena: arena)
        var next = 0, expected = 0
        for _ in 0..<100 {
            for _ in 0..<5 { XCTAssertTrue(ring.producer.push(next)); next += 1 }
            for _ in 0..<5 { XCTAssertEqual(ring.consumer.pop(), expected); expected += 1 }
        }
        XCTAssertNil(ring.consumer.pop())
        XCTAssertEqual(ring.stats, .init(accepted: 500, popped: 500, dropped: 0))
    }

    func testDropPolicyCountsEveryRejectedItem() throws {
        let arena = try Arena(bytes: 1 << 16, lock: false)
        defer { withExtendedLifetime(arena) {} }  // what is carved from it holds raw pointers
        let ring = try SPSCRing<Int>(capacity: 4, policy: .drop, arena: arena)
        for i in 0..<10 { ring.producer.push(i) }
        XCTAssertEqual(ring.stats, .init(accepted: 4, popped: 0, dropped: 6))
        XCTAssertEqual((0..<4).map { _ in ring.consumer.pop() }, [0, 1, 2, 3])
        XCTAssertFalse(ring.producer.tryPush(contentsOf: UnsafeBufferPointer<Int>(start: nil, count: 0)) > 0)
    }

    func testBatchPushAndPopWrapAround() throws {
        let arena = try Arena(bytes: 1 << 16, lock: false)
        defer { withExtendedLifetime(arena) {} }  // what is carved from it holds raw pointers
        let ring = try SPSCRing<UInt32>(capacity: 16, policy: .drop, arena: arena)
        var out = [UInt32](repeating: 0, count: 16)
        var next: UInt32 = 0, expected: UInt32 = 0
        for round in 0..<50 {
            let batch = (0..<UInt32(11)).map { next + $0 }
            let pushed = batch.withUnsafeBufferPointer { ring.producer.push(contentsOf: $0) }
            XCTAssertEqual(pushed, 11, "round \(round)")
            next += 11
            let n = out.withUnsafeMutableBufferPointer { ring.consumer.pop(into: $0) }
            XCTAssertEqual(n, 11)
            for v in out.prefix(n) { XCTAssertEqual(v, expected); expected += 1 }
        }
        // A batch larger than the free space: the rest is dropped and counted.
        let big = [UInt32](repeating: 7, count: 20)
        XCTAssertEqual(big.withUnsafeBufferPointer { ring.producer.push(contentsOf: $0) }, 16)
        XCTAssertEqual(ring.stats.dropped, 4)
    }

    /// consume hands items over in place, in order, as one or two runs across the wrap, and
    /// frees exactly the slots it handed over.
    func testConsumeInPlaceAcrossWraps() throws {
        let arena = try Arena(bytes: 1 << 16, lock: false)
        defer { withExtendedLifetime(arena) {} }
        let ring = try SPSCRing<UInt32>(capacity: 16, policy: .drop, arena: arena)
        var next: UInt32 = 0, expected: UInt32 = 0, runs = 0
        for _ in 0..<40 {
            let batch = (0..<UInt32(11)).map { next + $0 }
            XCTAssertEqual(batch.withUnsafeBufferPointer { ring.producer.push(contentsOf: $0) }, 11)
            next += 11
            let first = ring.consumer.consume(limit: 7) { run in
                runs += 1
                for v in run { XCTAssertEqual(v, expected); expected += 1 }
            }
            XCTAssertEqual(first, 7)
            XCTAssertEqual(ring.consumer.count, 4)
            XCTAssertEqual(
                ring.consumer.consume(limit: 100) { run in for v in run { XCTAssertEqual(v, expected); expected += 1 }
                }, 4)
        }
        XCTAssertEqual(expected, next)
        XCTAssertGreaterThan(runs, 40, "some hand-overs straddled the wrap")
        XCTAssertEqual(ring.consumer.consume(limit: 8) { _ in XCTFail("empty ring") }, 0)
    }

    /// 10^7 sequence-numbered items between two pinned threads: each arrives once, in order.
    func testTenMillionItemsBetweenPinnedThreadsArriveOnceInOrder() throws {
        let count = 10_000_000
        let arena = try Arena(bytes: 1 << 20, lock: false)
        defer { withExtendedLifetime(arena) {} }  // what is carved from it holds raw pointers
        let ring = try SPSCRing<UInt64>(capacity: 4096, policy: .spin, arena: arena)
        let cpus = PinnedThread.currentAffinity().cpus
        let producerCPU = cpus.first!, consumerCPU = cpus.last!
        let result = UnsafeMutablePointer<UInt64>.allocate(capacity: 2)
        result.initialize(repeating: 0, count: 2)
        defer { result.deallocate() }
        let resultAddress = UInt(bitPattern: result)
        let consumer = try PinnedThread.start(name: "test-consumer", cpu: consumerCPU) {
            let c = ring.consumer
            var expected: UInt64 = 0, errors: UInt64 = 0
            var buffer = [UInt64](repeating: 0, count: 64)
            buffer.withUnsafeMutableBufferPointer { buf in
                while expected < UInt64(count) {
                    let n = c.pop(into: buf)
                    for i in 0..<n {
                        if buf[i] != expected { errors += 1 }
                        expected = buf[i] + 1
                    }
                }
            }
            let r = UnsafeMutablePointer<UInt64>(bitPattern: resultAddress)!
            r[0] = expected
            r[1] = errors
        }
        let producer = try PinnedThread.start(name: "test-producer", cpu: producerCPU) {
            let p = ring.producer
            for i in 0..<UInt64(count) { p.push(i) }
        }
        producer.join()
        consumer.join()
        XCTAssertEqual(result[0], UInt64(count))
        XCTAssertEqual(result[1], 0, "items out of order or repeated")
        XCTAssertEqual(ring.stats, .init(accepted: count, popped: count, dropped: 0))
    }

    /// With the drop policy and a consumer that stalls, every push attempt is either popped
    /// or counted as dropped: offered = popped + dropped, exactly.
    func testDropPolicyWithStalledConsumerAccountsForEveryItem() throws {
        let offered = 200_000
        let arena = try Arena(bytes: 1 << 20, lock: false)
        defer { withExtendedLifetime(arena) {} }  // what is carved from it holds raw pointers
        let ring = try SPSCRing<UInt64>(capacity: 1024, policy: .drop, arena: arena)
        let popped = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        popped.initialize(to: 0)
        defer { popped.deallocate() }
        let poppedAddress = UInt(bitPattern: popped)
        let producer = try PinnedThread.start(name: "test-producer", cpu: nil) {
            let p = ring.producer
            for i in 0..<UInt64(offered) { p.push(i) }
        }
        // The consumer starts only after the producer is done: a fully stalled consumer.
        producer.join()
        let consumer = try PinnedThread.start(name: "test-consumer", cpu: nil) {
            let c = ring.consumer
            var n = 0, last: UInt64? = nil, ordered = true
            while let v = c.pop() {
                if let l = last, v <= l { ordered = false }
                last = v
                n += 1
            }
            UnsafeMutablePointer<Int>(bitPattern: poppedAddress)!.pointee = ordered ? n : -1
        }
        consumer.join()
        let stats = ring.stats
        XCTAssertEqual(popped.pointee, 1024)
        XCTAssertEqual(offered, popped.pointee + stats.dropped)
        XCTAssertEqual(stats.offered, offered)
    }

    func testPushAndPopDoNotAllocate() throws {
        try requireOptimizedBuild()
        let arena = try Arena(bytes: 1 << 20, lock: false)
        defer { withExtendedLifetime(arena) {} }  // what is carved from it holds raw pointers
        let ring = try SPSCRing<UInt64>(capacity: 1024, policy: .drop, arena: arena)
        func run(_ n: Int) -> UInt64 {
            let before = hp_thread_malloc_count()
            let p = ring.producer, c = ring.consumer
            var sum: UInt64 = 0
            for i in 0..<UInt64(n) {
                p.push(i)
                sum &+= c.pop() ?? 0
            }
            XCTAssertGreaterThan(sum, 0)
            return hp_thread_malloc_count() - before
        }
        XCTAssertEqual(run(1_000), run(1_000_000))
    }
}
