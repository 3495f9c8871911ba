import CSupport
import XCTest

@testable import HotPath

/// `hotpath decode` against Databento's official Transcoder (fixtures from
/// tools/dbn/make_fixtures.py).
final class DBNDecodeTests: XCTestCase {
    func jsonOutput(_ path: String, raw: Bool) throws -> (text: [UInt8], lines: Int) {
        var bytes: [UInt8] = []
        var lines = 0
        try DBNFile(path: path).jsonLines(raw: raw) { line in
            bytes += line.utf8
            bytes.append(0x0A)
            lines += 1
        }
        return (bytes, lines)
    }

    func testEveryRealDBNFileDecodesToTheOfficialJSON() throws {
        let data = try TestPaths.requireSharedData()
        let table = readText(TestPaths.fixtures + "/dbn/reference.tsv")!
        var checked = 0
        for row in table.split(separator: "\n").dropFirst() {
            let cols = row.split(separator: "\t").map(String.init)
            let (file, mode, lines, sha) = (cols[0], cols[1], Int(cols[2])!, cols[3])
            let out = try jsonOutput(data + "/dbn/" + file, raw: mode == "raw")
            XCTAssertEqual(out.lines, lines, "\(file) \(mode)")
            XCTAssertEqual(sha256Hex(out.text), sha, "\(file) \(mode): output differs from the official Transcoder's")
            checked += 1
        }
        XCTAssertEqual(checked, 34, "17 files × 2 modes")
    }

    /// Record types and versions the real data lacks: statistics v1/v2/v3, error and system
    /// v1 (upgraded, with the code derived from the text), symbol mapping, status,
    /// imbalance, OHLCV, and ts_out.
    func testSyntheticFilesDecodeToTheOfficialJSON() throws {
        for name in ["stat-error-system.v1", "stat-error-system.v2", "misc.v3", "mbo-ts-out.v3"] {
            let base = TestPaths.fixtures + "/dbn/synthetic/" + name
            for raw in [false, true] {
                let expected = readText(base + (raw ? ".raw.json" : ".json"))!
                let out = try jsonOutput(base + ".dbn", raw: raw)
                XCTAssertEqual(String(decoding: out.text, as: UTF8.self), expected, "\(name) raw=\(raw)")
            }
        }
    }

    func testPricesAndTimestampsFormatLikeTheTranscoder() {
        XCTAssertEqual(DBNJSONWriter.decimal(4_799_000_000_000), "4799.000000000")
        XCTAssertEqual(DBNJSONWriter.decimal(-2_500_000_000), "-2.500000000")
        XCTAssertEqual(DBNJSONWriter.decimal(-5), "-0.000000005")
        XCTAssertEqual(CivilTime(nanoseconds: 1_703_462_400_000_000_001).iso8601, "2023-12-25T00:00:00.000000001Z")
        XCTAssertEqual(CivilTime(nanoseconds: 951_782_400_000_000_000).yyyymmdd, 20000229)
    }

    func testMetadataOfEachVersionParses() throws {
        let data = try TestPaths.requireSharedData()
        let v1 = try DBNFile(path: data + "/dbn/test_data.mbo.v1.dbn.zst").metadata
        let v2 = try DBNFile(path: data + "/dbn/test_data.mbo.dbn").metadata
        let v3 = try DBNFile(path: data + "/dbn/test_data.mbo.v3.dbn").metadata
        XCTAssertEqual([v1.version, v2.version, v3.version], [1, 2, 3])
        XCTAssertEqual(v1.symbolLength, 22)
        XCTAssertEqual(v3.symbolLength, 71)
        XCTAssertEqual(v2.dataset, "GLBX.MDP3")
        XCTAssertEqual(v2.mappings.first?.rawSymbol, "ESH1")
    }
}

/// Bad input: a one-line error naming file and byte offset, or a counted skip.
final class DBNBadInputTests: XCTestCase {
    /// A v3 file holding `records` after a minimal metadata header.
    func file(records: [UInt8], version: UInt8 = 3) -> String {
        var md: [UInt8] = Array("DBN".utf8) + [version]
        var body = [UInt8](repeating: 0, count: 100)  // 8…108
        body[45] = 71  // symbol_cstr_len at 53
        body += [UInt8](repeating: 0, count: 4 * 5)  // schema def len, 3 lists, mappings
        md += withUnsafeBytes(of: UInt32(body.count).littleEndian, Array.init) + body
        return temporaryFile(md + records)
    }

    func mbo(flags: UInt8 = 0x80, action: Character = "A", length: UInt8 = 14) -> [UInt8] {
        var r = [UInt8](repeating: 0, count: Int(length) * 4)
        r[0] = length; r[1] = 0xA0
        r[36] = flags; r[38] = action.asciiValue!; r[39] = UInt8(ascii: "B")
        return r
    }

    func decodeError(_ path: String) -> String? {
        do { try DBNFile(path: path).jsonLines { _ in }; return nil } catch { return "\(error)" }
    }

    func testTruncatedRecordNamesFileAndOffset() {
        let path = file(records: mbo() + Array(mbo().prefix(20)))
        XCTAssertEqual(
            decodeError(path),
            "\(path): byte 184: truncated record: its length 56 runs past the end of the data (20 bytes left)")
    }

    func testZeroLengthByteStopsWithItsOffset() {
        var bad = mbo()
        bad[0] = 0
        let path = file(records: mbo() + bad)
        XCTAssertEqual(
            decodeError(path), "\(path): byte 184: record length byte is 0: the stream cannot be framed past here")
    }

    func testLengthPastTheEnd() {
        var bad = mbo()
        bad[0] = 200
        let path = file(records: bad)
        XCTAssertTrue(
            decodeError(path)!.hasSuffix(
                "byte 128: truncated record: its length 800 runs past the end of the data (56 bytes left)"),
            decodeError(path)!)
    }

    func testUnknownVersionIsRejected() {
        let path = file(records: mbo(), version: 9)
        XCTAssertEqual(decodeError(path), "\(path): byte 3: unsupported DBN version 9 (HotPath reads 1, 2 and 3)")
    }

    func testNotDBNAtAll() {
        let path = temporaryFile(Array("hello, world".utf8))
        XCTAssertTrue(decodeError(path)!.contains("byte 0: not a DBN file"), decodeError(path)!)
    }

    func testCorruptZstdIsAClearError() {
        let path = temporaryFile(
            [0x28, 0xB5, 0x2F, 0xFD, 0x00, 0x58, 0xFF, 0xFF, 0x01, 0x02, 0x03, 0x04], suffix: ".dbn.zst")
        let message = decodeError(path)!
        XCTAssertTrue(message.hasPrefix(path + ": byte "), message)
        XCTAssertTrue(message.contains("zstd"), message)
    }

    func testTruncatedZstdIsAClearError() throws {
        let data = try TestPaths.requireSharedData()
        let whole = readBytes(data + "/dbn/test_data.mbo.v1.dbn.zst")!
        let path = temporaryFile(Array(whole.prefix(whole.count - 10)), suffix: ".dbn.zst")
        XCTAssertTrue(decodeError(path)!.contains("zstd"), decodeError(path)!)
    }

    func testUnknownRecordTypeAndShortRecordsAreSkippedAndCounted() throws {
        var unknown = mbo()
        unknown[1] = 0x7E
        var short = [UInt8](repeating: 0, count: 24)  // an MBO header with no body
        short[0] = 6
        short[1] = 0xA0
        let path = file(records: mbo() + unknown + short + mbo())
        var lines = 0
        let skips = try DBNFile(path: path).jsonLines { _ in lines += 1 }
        XCTAssertEqual(lines, 2)
        XCTAssertEqual(skips, .init(unknownType: 1, short: 1))
        let dbn = try DBNFile(path: path)
        var decoder = DBNDecoder(metadata: dbn.metadata)
        var cursor = dbn.cursor()
        var e = Event()
        var events = 0
        while cursor.next() == .record {
            if decoder.decode(cursor.record, length: cursor.length, into: &e) { events += 1 }
        }
        XCTAssertEqual(events, 2)
        XCTAssertEqual(decoder.counts, .init(decoded: 2, other: 0, unknownType: 1, short: 1))
    }

    /// Status records (rtype 0x12) halt and resume: `is_trading` N / Y, or where it is `~`,
    /// the action (8 Halt, 9 Pause, 10 Suspend, 15 NotAvailableForTrading; 7 Trading); other
    /// statuses change nothing and are counted as `other`.
    func testStatusRecordsHaltAndResume() throws {
        func status(action: UInt16, trading: Character) -> [UInt8] {
            var r = [UInt8](repeating: 0, count: 40)
            r[0] = 10
            r[1] = 0x12
            r[4] = 9  // instrument 9
            r[8] = 1  // ts_event 1
            r[16] = 2  // ts_recv 2
            r[24] = UInt8(action)
            r[30] = trading.asciiValue!
            return r
        }
        let records = [
            status(action: 8, trading: "~"), status(action: 7, trading: "~"), status(action: 0, trading: "N"),
            status(action: 0, trading: "Y"), status(action: 9, trading: "~"), status(action: 1, trading: "~"),
        ]
        let dbn = try DBNFile(path: file(records: records.flatMap { $0 }))
        var decoder = DBNDecoder(metadata: dbn.metadata)
        var cursor = dbn.cursor()
        var e = Event()
        var actions: [UInt8] = []
        while cursor.next() == .record {
            if decoder.decode(cursor.record, length: cursor.length, into: &e) {
                XCTAssertEqual(
                    [e.kind.rawValue, UInt8(e.instrumentId), UInt8(e.tsEvent), UInt8(e.tsRecv)], [6, 9, 1, 2])
                actions.append(e.action)
            }
        }
        let (h, t) = (Event.Status.halted, Event.Status.trading)
        XCTAssertEqual(actions, [h, t, h, t, h])
        XCTAssertEqual(decoder.counts.other, 1, "a pre-open with no trading state says nothing")
    }
}

/// zstd input with several frames, and the normalised event's size.
final class FeedInputTests: XCTestCase {
    func testMultiFrameZstdDecodesLikeThePlainFile() throws {
        let data = try TestPaths.requireSharedData()
        let plain = readBytes(data + "/dbn/test_data.mbo.dbn")!
        // Two independent frames, split mid-record: the decoder sees one stream.
        let cut = plain.count / 2 + 3
        var compressed: [UInt8] = []
        for part in [Array(plain[..<cut]), Array(plain[cut...])] {
            var frame = [UInt8](repeating: 0, count: ZSTD_compressBound(part.count))
            let n = part.withUnsafeBytes { src in
                frame.withUnsafeMutableBytes { ZSTD_compress($0.baseAddress, $0.count, src.baseAddress, src.count, 3) }
            }
            XCTAssertEqual(ZSTD_isError(n), 0)
            compressed += frame.prefix(n)
        }
        let path = temporaryFile(compressed, suffix: ".dbn.zst")
        var a = "", b = ""
        try DBNFile(path: path).jsonLines { a += $0 + "\n" }
        try DBNFile(path: data + "/dbn/test_data.mbo.dbn").jsonLines { b += $0 + "\n" }
        XCTAssertEqual(a, b)
        XCTAssertEqual(a.split(separator: "\n").count, 2)
    }

    func testMicrosecondPcapsAreRead() throws {
        let data = try TestPaths.requireSharedData()
        var bytes = readBytes(data + "/itch/OrderDeleteMessage.pcap")!
        bytes.replaceSubrange(0..<4, with: [0xD4, 0xC3, 0xB2, 0xA1])  // microsecond magic
        bytes.replaceSubrange(28..<32, with: [0x10, 0x27, 0x00, 0x00])  // 10,000 µs
        let file = try ITCHFile(path: temporaryFile(bytes, suffix: ".pcap"))
        var reader = try file.reader()
        var m = ITCHReader.Message(
            pointer: file.input.bytes.baseAddress!, length: 0, sequence: 0, captureNs: 0, offset: 0)
        XCTAssertEqual(reader.next(&m), .message)
        let seconds = UInt64(bytes[24]) | UInt64(bytes[25]) << 8 | UInt64(bytes[26]) << 16 | UInt64(bytes[27]) << 24
        XCTAssertEqual(m.captureNs, seconds * 1_000_000_000 + 10_000_000)
    }

    func testEventIsOneCacheLine() {
        XCTAssertEqual(MemoryLayout<Event>.size, 64)
        XCTAssertEqual(MemoryLayout<Event>.stride, 64)
    }
}
