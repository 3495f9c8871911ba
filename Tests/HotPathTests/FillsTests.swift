import CSupport
import Foundation
import XCTest

@testable import HotPath

#if canImport(Glibc)
import Glibc
#endif

/// Positions from fills (`[fills]`, `FillsInput`, `hotpath fills-sim`): the position gate
/// suppresses only when the filled position reaches the limit.
final class FillsTests: XCTestCase {
    /// The demo configuration evaluated on every book event, with only the position gate on
    /// (limit 3, one lot), `[fills]` on loopback port `fills` and signals sent to `egress`.
    func config(fills: UInt16?, egress: UInt16? = nil) throws -> EngineConfig {
        var text = try String(contentsOfFile: TestPaths.root + "/demo/config.toml", encoding: .utf8)
        text = text.replacingOccurrences(of: "path = \"model-", with: "path = \"\(TestPaths.root)/demo/model-")
        text = text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            if line.hasPrefix("max_position") { return "max_position = 3" }
            if line.hasPrefix("conflate") { return "conflate = false" }
            if line.hasPrefix("signals = \"\""), let egress {
                return "signals = \"\"\nurl = \"udp://127.0.0.1:\(egress)\""
            }
            let off = ["max_age_ms", "max_signals_per_s", "kill_switch", "max_notional"]
            return off.contains { line.hasPrefix($0) } ? "" : String(line)
        }.joined(separator: "\n")
        if let fills { text += "\n[fills]\nurl = \"udp://127.0.0.1:\(fills)\"\n" }
        let path = temporaryFile(Array(text.utf8), suffix: ".toml")
        defer { unlink(path) }
        return try EngineConfig.load(path: path)
    }

    func testTheFillRecordLayout() {
        XCTAssertEqual(MemoryLayout<Fill>.size, 32)
        XCTAssertEqual(MemoryLayout<Fill>.offset(of: \Fill.instrumentId), 8)
        XCTAssertEqual(MemoryLayout<Fill>.offset(of: \Fill.side), 12)
        XCTAssertEqual(MemoryLayout<Fill>.offset(of: \Fill.quantity), 16)
        XCTAssertEqual(MemoryLayout<Fill>.offset(of: \Fill.price), 24)
    }

    func testTheRatioFillsItsShareEvenly() {
        var half = FillRatio(0.5)
        XCTAssertEqual((0..<8).map { _ in half.next() }, [false, true, false, true, false, true, false, true])
        for ratio in [0.0, 0.3, 0.5, 1.0] {
            var r = FillRatio(ratio)
            XCTAssertEqual((0..<1000).count { _ in r.next() }, Int(1000 * ratio), "\(ratio)")
        }
    }

    /// Through the engine's own path, event by event: half the emitted signals fill (as
    /// `fills-sim --ratio 0.5` would), the fills reach the engine through its ring and apply
    /// at the batch boundary. Each position-limit suppression happens exactly when that
    /// instrument's filled position is at the limit; the engine's positions are the fills'.
    /// Without fills every emitted signal counts as filled, and fewer signals pass.
    func testThePositionGateSuppressesOnlyWhenTheFilledPositionReachesTheLimit() throws {
        var g = ITCHGenerator.demoSession
        g.seed = 0xD3E1
        let file = temporaryFile(g.generate(messages: 200_000), suffix: ".itch")
        defer { unlink(file) }
        var events: [Event] = []
        try FeedFile.open(file).forEachEvent { events.append($0) }
        let positionLimit = EngineCore.Count.suppressed(.positionLimit)

        let engine = try Engine(config: try config(fills: UDPReceiveBench.freePort()))
        let core = engine.core, fills = try XCTUnwrap(engine.fillsRing).producer
        XCTAssertTrue(core.gates.limits.positionsFromFills)
        var filled: [UInt32: Int64] = [:]
        var ratio = FillRatio(0.5)
        var suppressions = 0, worst: Int64 = 0
        for e in events {
            let before = core.counts[positionLimit].value
            core.process(e)
            if core.counts[positionLimit].value > before {
                suppressions += 1
                XCTAssertEqual(abs(filled[e.instrumentId, default: 0]), 3, "suppressed below the limit")
            }
            while let s = engine.signals.consumer.pop() {
                guard let f = ratio.fill(for: s, lots: 1) else { continue }
                XCTAssertTrue(fills.push(f))
                filled[s.instrumentId, default: 0] += f.signedQuantity
                worst = max(worst, abs(filled[s.instrumentId]!))
            }
            core.applyFills()
        }
        XCTAssertGreaterThan(suppressions, 10)
        XCTAssertLessThanOrEqual(worst, 3)
        for (instrument, position) in filled {
            XCTAssertEqual(core.gates.position(book: core.book.instruments.lookup(instrument)!), position)
        }
        let emitted = core.counts[EngineCore.Count.emitted.rawValue].value
        XCTAssertEqual(core.counts[EngineCore.Count.fillsApplied.rawValue].value, emitted / 2)

        // Every signal assumed filled: the limit is reached twice as fast.
        let assumed = try Engine(config: try config(fills: nil))
        for e in events {
            assumed.core.process(e)
            while assumed.signals.consumer.pop() != nil {}
        }
        XCTAssertLessThan(assumed.core.counts[EngineCore.Count.emitted.rawValue].value, emitted)
        XCTAssertGreaterThan(assumed.core.counts[positionLimit].value, 0)
    }

    /// End to end over loopback: the engine sends its signals to `hotpath fills-sim`, which
    /// fills half of them back to the engine's `[fills]` socket.
    func testFillsSimOverLoopbackMovesTheEnginesPositions() throws {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path + "/hotpath"
        guard access(binary, X_OK) == 0 else { throw XCTSkip("\(binary) is not built: the test needs the CLI") }
        let (signalsPort, fillsPort) = (UDPReceiveBench.freePort(), UDPReceiveBench.freePort())
        let engine = try Engine(config: try config(fills: fillsPort, egress: signalsPort))
        let sim = Process()
        sim.executableURL = URL(fileURLWithPath: binary)
        sim.arguments = [
            "fills-sim", "udp://127.0.0.1:\(signalsPort)", "--to", "udp://127.0.0.1:\(fillsPort)", "--ratio", "0.5",
            "--idle-timeout", "2",
        ]
        let said = Pipe()
        sim.standardError = said
        try sim.run()
        usleep(300_000)  // bound before the first signal
        var g = ITCHGenerator.demoSession
        g.seed = 0xD3E1
        let file = temporaryFile(g.generate(messages: 200_000), suffix: ".itch")
        defer { unlink(file) }
        var replay = FileReplay(file: try FeedFile.open(file), clock: engine.clock)
        replay.pace = .rate(eventsPerSecond: 200_000)
        let (report, _) = try engine.run(feeds: [replay], sink: nil)
        sim.waitUntilExit()
        let line = String(decoding: said.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let numbers = line.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        // "hotpath: fills-sim: N signal(s) from udp://127.0.0.1:P, M fill(s) sent to udp://…"
        XCTAssertGreaterThanOrEqual(numbers.count, 8, line)
        let (signals, sent) = (numbers[0], numbers[6])
        let emitted = Int(report.counter("engine.emitted") ?? 0)
        XCTAssertGreaterThan(emitted, 20)
        XCTAssertEqual(signals, emitted, line)
        XCTAssertEqual(sent, emitted / 2, line)
        let received = Int(report.counter("fills.received") ?? 0)
        // The last fills may arrive after the feed has ended and the engine stopped.
        XCTAssertLessThanOrEqual(received, sent)
        XCTAssertGreaterThanOrEqual(received, sent * 9 / 10, line)
        XCTAssertEqual(report.counter("fills.malformed"), 0)
        XCTAssertEqual(
            Int(report.counter("engine.fills_applied") ?? 0)
                + Int(report.counter("engine.fills_unknown_instrument") ?? 0),
            received)
        // Positions move by the fills alone (one lot each). Fills arrive a round trip after
        // their signals, and signals made meanwhile see the older position: this replay runs
        // far faster than a market, and the positions pass the limit (README, "Positions").
        let positions = (0..<engine.config.book.maxInstruments).map { engine.core.gates.position(book: $0) }
        XCTAssertGreaterThan(positions.reduce(0) { $0 + abs($1) }, 0)
        XCTAssertLessThanOrEqual(positions.reduce(0) { $0 + abs($1) }, Int64(received))
    }
}
