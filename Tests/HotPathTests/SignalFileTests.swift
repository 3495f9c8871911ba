import Foundation
import XCTest

@testable import HotPath

#if canImport(Glibc)
import Glibc
#endif

/// Signals files that survive a kill: whole records, a torn tail found, appends that continue
/// the sequence, and never a silent overwrite.
final class SignalFileTests: XCTestCase {
    private func signal(_ sequence: UInt64) -> Signal {
        var s = Signal()
        s.sequence = sequence
        s.instrumentId = 7
        s.side = sequence % 2 == 0 ? Event.Side.bid : Event.Side.ask
        s.edge = 0.25
        s.confidence = 0.625
        return s
    }

    /// Writes signals `sequences` through a sink and returns the file's bytes.
    private func written(
        _ sequences: ClosedRange<UInt64>, format: EngineConfig.SignalFormat, members: Int = 0,
        path: String = temporaryFile([], suffix: ".sig")
    ) throws -> (String, [UInt8]) {
        let sink = try SignalSink(path: path, format: format, members: members, existing: .overwrite)
        for q in sequences {
            var m = MemberRecord()
            m.sequence = q
            m.members = UInt32(members)
            sink.write(signal(q), wide: members > 0 ? m : nil)
        }
        sink.close()
        return (path, readBytes(path)!)
    }

    func testEveryFormatReadsBackWholeAndFindsATornTail() throws {
        for (format, members) in [
            (EngineConfig.SignalFormat.csv, 0), (.csv, 2), (.jsonl, 0), (.jsonl, 2), (.binary, 0), (.binary, 2),
        ] {
            let (path, bytes) = try written(1...50, format: format, members: members)
            defer { unlink(path) }
            let whole = SignalFileCheck(bytes: bytes, format: format, wide: members > 0)
            let label = "\(format) members \(members)"
            XCTAssertTrue(whole.isWhole, "\(label): \(whole.summary)")
            XCTAssertEqual(
                [whole.records, Int(whole.firstSequence), Int(whole.lastSequence), whole.gaps], [50, 1, 50, 0], label)
            XCTAssertEqual(whole.wide, members > 0, label)
            XCTAssertEqual(SignalFileCheck.guessFormat(bytes), format, label)
            // Every cut inside the last record is a torn tail at the same place.
            let lastStart =
                format == .binary
                ? bytes.count - (members > 0 ? 64 + MemberRecord.size : 64) : bytes.count - Self.lastLineLength(bytes)
            for cut in stride(from: lastStart + 1, to: bytes.count, by: 3) {
                let torn = SignalFileCheck(bytes: Array(bytes[..<cut]), format: format, wide: members > 0)
                XCTAssertNil(torn.damage, "\(label) cut at \(cut)")
                XCTAssertEqual(torn.records, 49, "\(label) cut at \(cut)")
                XCTAssertEqual(torn.wholeBytes, lastStart, "\(label) cut at \(cut)")
                XCTAssertEqual(torn.tornBytes, cut - lastStart, "\(label) cut at \(cut)")
            }
        }
    }

    func testDamageBeforeTheEndAndFallingSequencesAreNotTears() {
        let header = Signal.csvHeader + "\n"
        let row = { (q: Int) in "\(q),1,2,7,BUY,WEAK,PASSIVE,HIGH,0.1,0.6,1.0,0.01\n" }
        let bad = SignalFileCheck(bytes: Array((header + row(1) + "garbage\n" + row(3)).utf8), format: .csv)
        XCTAssertEqual(bad.damage, "line 3: not a whole CSV signal")
        let back = SignalFileCheck(bytes: Array((header + row(5) + row(4)).utf8), format: .csv)
        XCTAssertEqual(back.damage, "line 3: sequence 4 after 5")
        let gap = SignalFileCheck(bytes: Array((header + row(1) + row(2) + row(9)).utf8), format: .csv)
        XCTAssertTrue(gap.isWhole)
        XCTAssertEqual(gap.gaps, 1)
        var record = signal(1)
        record.strength = .strong
        var bytes = withUnsafeBytes(of: record) { Array($0) }
        bytes[60] = 0x5A  // no side the engine writes
        XCTAssertEqual(SignalFileCheck(bytes: bytes, format: .binary).damage?.hasPrefix("byte 0:"), true)
        XCTAssertEqual(
            SignalFileCheck(bytes: Array("sequence,x\n".utf8), format: .csv).damage, "line 1: not the signals header")
    }

    /// A file with records is refused by default, continued by `append` (its torn tail cut
    /// first), replaced by `overwrite`; a different width or a damaged file is refused.
    func testAnExistingFileIsRefusedAppendedOrOverwritten() throws {
        let (path, bytes) = try written(1...10, format: .csv)
        defer { unlink(path) }
        XCTAssertThrowsError(try SignalSink(path: path, format: .csv)) { error in
            XCTAssertEqual(
                "\(error)",
                "\(path): already holds 10 signals (csv), sequence 1…10, 0 gaps; whole; --append continues its sequence, --overwrite replaces it ([output] existing)"
            )
        }
        XCTAssertEqual(readBytes(path), bytes, "a refusal leaves the file as it was")
        XCTAssertThrowsError(try SignalSink(path: path, format: .csv, members: 2, existing: .append)) {
            XCTAssertTrue(
                "\($0)".contains("the file's records are narrow, the configuration's wide (2 members)"), "\($0)")
        }
        truncate(path, off_t(bytes.count - 5))
        let sink = try SignalSink(path: path, format: .csv, existing: .append)
        XCTAssertEqual(sink.resumesAfter, 9)
        XCTAssertEqual(
            sink.note,
            "\(path): cut a torn tail of \(Self.lastLineLength(bytes) - 5) bytes after 9 whole signals; appending after sequence 9"
        )
        sink.write(signal(10))
        sink.close()
        let again = SignalFileCheck(path: path, format: .csv)!
        XCTAssertTrue(again.isWhole, again.summary)
        XCTAssertEqual([again.records, Int(again.lastSequence), again.gaps], [10, 10, 0])
        _ = try written(1...3, format: .csv, path: path)
        XCTAssertEqual(SignalFileCheck(path: path, format: .csv)!.records, 3, "overwrite replaces")
        XCTAssertTrue(SystemFile.write(path, Signal.csvHeader + "\nnot a signal\n1,2\n"))
        XCTAssertThrowsError(try SignalSink(path: path, format: .csv, existing: .append)) {
            XCTAssertTrue("\($0)".contains("cannot append: line 2: not a whole CSV signal"), "\($0)")
        }
    }

    /// The last line's length with its newline.
    private static func lastLineLength(_ bytes: [UInt8]) -> Int {
        bytes.count - bytes.dropLast().lastIndex(of: 10)! - 1
    }

    /// `hotpath replay` killed with SIGKILL at 20 seeded random moments, then restarted with
    /// `--append` each time: after every kill the file holds only whole records (a torn tail
    /// is found and cut by the next start), and the sequence runs 1, 2, 3, … across all 21
    /// runs with no gap and no repeat.
    func testReplayKilledAtTwentyPointsKeepsWholeRecordsAndItsSequence() throws {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path + "/hotpath"
        guard access(binary, X_OK) == 0 else { throw XCTSkip("\(binary) is not built: the kill test needs the CLI") }
        let dir = NSTemporaryDirectory() + "hotpath-kill-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func hotpath(_ args: [String]) throws -> Process {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: binary)
            p.arguments = args
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            return p
        }
        let gen = try hotpath(["gen", "itch", "--demo", "--messages", "300000", "--out", dir + "/demo.itch"])
        gen.waitUntilExit()
        XCTAssertEqual(gen.terminationStatus, 0)
        // The demo configuration without the gates that read receive times a file lacks.
        var config = try String(contentsOfFile: TestPaths.root + "/demo/config.toml", encoding: .utf8)
        config = config.replacingOccurrences(of: "path = \"model-", with: "path = \"\(TestPaths.root)/demo/model-")
        config = config.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.hasPrefix("max_age_ms") || line.hasPrefix("max_signals_per_s") || line.hasPrefix("kill_switch")
                ? "" : String(line)
        }.joined(separator: "\n")
        try config.write(toFile: dir + "/config.toml", atomically: true, encoding: .utf8)
        let signals = dir + "/signals.csv"
        let args = ["replay", dir + "/demo.itch", "--config", dir + "/config.toml", "--signals", signals, "--append"]
        var random = SplitMix(seed: 21)
        var torn = 0
        var lastSequence: UInt64 = 0
        for kill in 0..<20 {
            let p = try hotpath(args + ["--loops", "40"])
            usleep(UInt32(20_000 + random.next() % 1_500_000))
            Glibc.kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            XCTAssertEqual(p.terminationReason, .uncaughtSignal, "kill \(kill): the replay ended before its kill")
            guard access(signals, F_OK) == 0 else { continue }  // killed before it opened the file
            let check = try XCTUnwrap(SignalFileCheck(path: signals, format: .csv))
            XCTAssertNil(check.damage, "kill \(kill): \(check.summary)")
            XCTAssertEqual(check.gaps, 0, "kill \(kill): \(check.summary)")
            XCTAssertGreaterThanOrEqual(check.lastSequence, lastSequence, "kill \(kill)")
            lastSequence = check.lastSequence
            if check.tornBytes > 0 { torn += 1 }
        }
        let last = try hotpath(args)
        last.waitUntilExit()
        // 1: the demo's absolute latency budgets, written for another host, may fail here.
        XCTAssertEqual(last.terminationReason, .exit)
        XCTAssertLessThanOrEqual(last.terminationStatus, 1)
        let check = try XCTUnwrap(SignalFileCheck(path: signals, format: .csv))
        XCTAssertTrue(check.isWhole, check.summary)
        XCTAssertEqual(check.gaps, 0, check.summary)
        XCTAssertEqual(check.firstSequence, 1)
        XCTAssertGreaterThan(check.lastSequence, lastSequence, "the last run continued the sequence")
        print("kill test: \(check.records) signals over 21 runs, \(torn) torn tails found and cut")
    }
}
