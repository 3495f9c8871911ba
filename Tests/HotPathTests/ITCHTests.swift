import XCTest

@testable import HotPath

/// ITCH 5.0 against the specification's layouts, decoded independently by
/// tools/itch/make_fixtures.py.
final class ITCHTests: XCTestCase {
    func lines(_ path: String) throws -> (String, ITCHFile.Summary) {
        var text = ""
        let summary = try ITCHFile(path: path).jsonLines { text += $0 + "\n" }
        return (text, summary)
    }

    func testRealPcapsDecodeToTheSpecificationsValues() throws {
        let data = try TestPaths.requireSharedData()
        let names = [
            "AddOrderNoMpidAttributionMessage", "MarketParticipantPositionMessage", "Multiple.Packets",
            "NetOrderImbalanceIndicatorMessage", "OrderDeleteMessage", "OrderExecutedMessage",
            "OrderReplaceMessage", "StockTradingActionMessage",
        ]
        for name in names {
            let (text, summary) = try lines(data + "/itch/\(name).pcap")
            XCTAssertEqual(text, readText(TestPaths.fixtures + "/itch/\(name).pcap.jsonl"), name)
            XCTAssertEqual(summary.reader.nonUDPFrames, 0)
        }
    }

    func testTheAddOrderPcapCarriesTheExpectedFields() throws {
        let data = try TestPaths.requireSharedData()
        let (text, _) = try lines(data + "/itch/AddOrderNoMpidAttributionMessage.pcap")
        XCTAssertEqual(
            text,
            "{\"message_type\":\"A\",\"stock_locate\":5528,\"tracking_number\":0,\"timestamp\":34199999894278,"
                + "\"order_reference_number\":23508286,\"buy_sell_indicator\":\"B\",\"shares\":1600,\"stock\":\"IVOO\",\"price\":\"87.3900\",\"sequence\":14757721}\n"
        )
    }

    func testNasdaqBinaryFileDecodes() throws {
        let (text, _) = try lines(TestPaths.fixtures + "/itch/synthetic.itch")
        XCTAssertEqual(text, readText(TestPaths.fixtures + "/itch/synthetic.itch.jsonl"))
    }

    func testMoldStreamTracksHeartbeatsDuplicatesGapsAndEndOfSession() throws {
        let (text, summary) = try lines(TestPaths.fixtures + "/itch/synthetic.mold")
        XCTAssertEqual(text, readText(TestPaths.fixtures + "/itch/synthetic.mold.jsonl"))
        let c = summary.reader
        XCTAssertEqual(c.packets, 6)
        XCTAssertEqual(c.heartbeats, 1)
        XCTAssertEqual(c.duplicates, 5)
        XCTAssertEqual(c.gaps, 1)
        XCTAssertEqual(c.missingMessages, 3)
        XCTAssertEqual(c.endOfSession, 1)
    }

    func testEventsAndBookFollowTheMessages() throws {
        var views: [String] = []
        let (result, _) = try BookReplay.run(ITCHFile(path: TestPaths.fixtures + "/itch/synthetic.itch")) {
            views.append($0.json)
        }
        XCTAssertEqual(
            views.last, "{\"ts_recv\":0,\"instrument_id\":7,\"bids\":[],\"asks\":[[\"100.020000000\",400,1]]}")
        XCTAssertEqual(views.count, 7, "one publish per add/execute/cancel/replace/delete message")
        XCTAssertNil(result.problems)
    }

    func testReplaceBecomesTwoEventsOnTheOriginalSide() throws {
        var bytes: [UInt8] = [UInt8(ascii: "U"), 0, 7, 0, 0, 0, 0, 0, 0, 0, 1]
        bytes += [0, 0, 0, 0, 0, 0, 0, 2] + [0, 0, 0, 0, 0, 0, 0, 3] + [0, 0, 1, 144] + [0, 15, 66, 64]
        var decoder = ITCHDecoder()
        let out = UnsafeMutablePointer<Event>.allocate(capacity: 2)
        defer { out.deallocate() }
        let n = bytes.withUnsafeBytes {
            decoder.decode(.init(pointer: $0.baseAddress!, length: 35, sequence: 9, captureNs: 0, offset: 0), into: out)
        }
        XCTAssertEqual(n, 2)
        XCTAssertEqual(out[0].action, Event.Action.replace)
        XCTAssertEqual(out[0].orderId, 2)
        XCTAssertFalse(out[0].isLast)
        XCTAssertEqual(out[1].action, Event.Action.replaceAdd)
        XCTAssertEqual(out[1].orderId, 3)
        XCTAssertEqual(out[1].size, 400)
        XCTAssertEqual(out[1].price, 100_0000 * 100_000)
        XCTAssertTrue(out[1].isLast)
    }

    // MARK: bad input

    func testMoldCountBeyondItsPacketIsAnErrorWithItsOffset() throws {
        var packet = Array("SESSION001".utf8) + [0, 0, 0, 0, 0, 0, 0, 1] + [0, 3]
        packet += [0, 12] + Array(repeating: UInt8(ascii: "S"), count: 12)  // one message, count says three
        let path = temporaryFile(packet, suffix: ".mold")
        XCTAssertThrowsError(try ITCHFile(path: path).jsonLines { _ in }) { error in
            XCTAssertEqual(
                "\(error)", "\(path): byte 0: MoldUDP64 packet's message count or lengths run past the end of the data")
        }
    }

    func testPcapWithANonUDPFrameSkipsAndCountsIt() throws {
        let data = try TestPaths.requireSharedData()
        var bytes = readBytes(data + "/itch/OrderDeleteMessage.pcap")!
        // Append a copy of the record whose IP protocol byte says TCP.
        var record = Array(bytes[24...])
        record[16 + 18 + 9] = 6
        bytes += record
        let (text, summary) = try lines(temporaryFile(bytes, suffix: ".pcap"))
        XCTAssertEqual(text.split(separator: "\n").count, 1)
        XCTAssertEqual(summary.reader.nonUDPFrames, 1)
        XCTAssertEqual(summary.notes, "1 non-UDP frame(s) skipped")
    }

    func testPcapWithAMoldCountBeyondItsPacketSkipsAndCountsIt() throws {
        let data = try TestPaths.requireSharedData()
        var bytes = readBytes(data + "/itch/OrderDeleteMessage.pcap")!
        var record = Array(bytes[24...])
        let mold = 16 + 18 + 20 + 8
        record[mold + 19] = 9  // message count 9 in a one-message packet
        bytes += record
        let (_, summary) = try lines(temporaryFile(bytes, suffix: ".pcap"))
        XCTAssertEqual(summary.reader.badPackets, 1)
    }

    func testTruncatedPcapRecordIsAnError() throws {
        let data = try TestPaths.requireSharedData()
        let bytes = readBytes(data + "/itch/OrderDeleteMessage.pcap")!
        let path = temporaryFile(Array(bytes.dropLast(5)), suffix: ".pcap")
        XCTAssertThrowsError(try ITCHFile(path: path).jsonLines { _ in }) { error in
            XCTAssertTrue(
                "\(error)".hasPrefix("\(path): byte 24: pcap record of 87 bytes runs past the end"), "\(error)")
        }
    }

    func testBinaryMessageLengthPastTheEndIsAnError() {
        let path = temporaryFile([0, 40, UInt8(ascii: "S"), 0, 0], suffix: ".itch")
        XCTAssertThrowsError(try ITCHFile(path: path).jsonLines { _ in }) { error in
            XCTAssertEqual(
                "\(error)", "\(path): byte 0: message length 40 runs past the end of the file (3 bytes left)")
        }
    }

    func testUnknownMessageTypeIsSkippedAndCounted() throws {
        let path = temporaryFile(
            [0, 3, UInt8(ascii: "z"), 1, 2] + [0, 12, UInt8(ascii: "S")] + Array(repeating: 0, count: 11),
            suffix: ".itch")
        var n = 0
        let summary = try ITCHFile(path: path).jsonLines { _ in n += 1 }
        XCTAssertEqual(n, 1)
        XCTAssertEqual(summary.unknownOrShort, 1)
    }
}
