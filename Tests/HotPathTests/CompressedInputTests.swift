import CSupport
import XCTest

@testable import HotPath

/// Every family reads the same plain, zstd-compressed and gzip-compressed, told by magic
/// bytes; a truncated stream says so.
final class CompressedInputTests: XCTestCase {
    func gzip(_ bytes: [UInt8], suffix: String) -> String {
        let path = temporaryFile([], suffix: suffix)
        let f = gzopen(path, "wb")!
        _ = bytes.withUnsafeBytes { gzwrite(f, $0.baseAddress, UInt32($0.count)) }
        gzclose(f)
        return path
    }

    func zstd(_ bytes: [UInt8], suffix: String) -> String {
        var out = [UInt8](repeating: 0, count: ZSTD_compressBound(bytes.count))
        let n = bytes.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { ZSTD_compress($0.baseAddress, $0.count, src.baseAddress, src.count, 3) }
        }
        return temporaryFile(Array(out.prefix(n)), suffix: suffix)
    }

    func lines(_ path: String) throws -> [String] { try lines(InputFile(path: path)) }

    /// The three inputs every form is checked on: name, bytes, file suffix.
    func sources() throws -> [(String, [UInt8], String)] {
        let data = try TestPaths.requireSharedData()
        return [
            ("test_data.mbo.dbn", readBytes(data + "/dbn/test_data.mbo.dbn") ?? [], ".dbn"),
            ("OrderDeleteMessage.pcap", readBytes(data + "/itch/OrderDeleteMessage.pcap") ?? [], ".pcap"),
            ("gen itch", ITCHGenerator().generate(messages: 20_000), ".itch"),
        ]
    }

    func testPlainZstdAndGzipDecodeAlike() throws {
        for (name, bytes, suffix) in try sources() {
            XCTAssertFalse(bytes.isEmpty, name)
            let plain = temporaryFile(bytes, suffix: suffix)
            let gz = gzip(bytes, suffix: suffix + ".gz"), zst = zstd(bytes, suffix: suffix + ".zst")
            defer { for path: String in [plain, gz, zst] { unlink(path) } }
            let want = try lines(plain)
            XCTAssertFalse(want.isEmpty, name)
            XCTAssertEqual(try lines(gz), want, "\(name).gz")
            XCTAssertEqual(try lines(zst), want, "\(name).zst")
            XCTAssertEqual(try InputFile(path: gz).compression, .gzip)
            XCTAssertEqual(try InputFile(path: zst).compression, .zstd)
        }
    }

    func testConcatenatedGzipMembersReadAsOne() throws {
        let generated = ITCHGenerator().generate(messages: 2_000)
        let half = generated.count / 2
        let a = gzip(Array(generated[..<half]), suffix: ".gz"), b = gzip(Array(generated[half...]), suffix: ".gz")
        let both = temporaryFile((readBytes(a) ?? []) + (readBytes(b) ?? []), suffix: ".itch.gz")
        defer { for path: String in [a, b, both] { unlink(path) } }
        let input = try InputFile(path: both)
        XCTAssertEqual(Array(input.bytes), generated)
    }

    func testTruncatedStreamsSayTruncated() throws {
        let generated = ITCHGenerator().generate(messages: 20_000)
        let gz = gzip(generated, suffix: ".itch.gz"), zst = zstd(generated, suffix: ".itch.zst")
        defer { for path: String in [gz, zst] { unlink(path) } }
        for path in [gz, zst] {
            let bytes = readBytes(path) ?? []
            let cut = temporaryFile(
                Array(bytes.prefix(bytes.count / 2)), suffix: path.hasSuffix(".gz") ? ".gz" : ".zst")
            defer { unlink(cut) }
            XCTAssertThrowsError(try FeedFile.open(cut)) { error in
                XCTAssertTrue("\(error)".contains("truncated"), "\(error)")
                XCTAssertFalse("\(error)".contains("\n"))
            }
        }
    }

    /// `FeedFile.open` opens (and so decompresses) each input once, for either family.
    func testFeedFileOpensEachInputOnce() throws {
        let generated = ITCHGenerator().generate(messages: 2_000)
        let zst = zstd(generated, suffix: ".itch.zst")
        defer { unlink(zst) }
        var paths = [zst]
        if let data = try? TestPaths.requireSharedData() {
            paths.append(data + "/dbn/esh4-glbx-mdp3-20231224.mbo.dbn.zst")
        }
        for path in paths where FileManager.default.fileExists(atPath: path) {
            let before = InputFile.opened.load(ordering: .relaxed)
            let file = try FeedFile.open(path)
            XCTAssertEqual(InputFile.opened.load(ordering: .relaxed) - before, 1, path)
            XCTAssertGreaterThan(file.byteCount, 0)
        }
    }

    func lines(_ input: InputFile) throws -> [String] {
        var out: [String] = []
        switch try FeedFile.open(input: input) {
        case let .dbn(dbn): try dbn.jsonLines { out.append($0) }
        case let .itch(itch): try itch.jsonLines { out.append($0) }
        }
        return out
    }

    /// A streamed input decodes exactly as the whole one, whatever the window: frames split
    /// at every window edge are carried over, and offsets stay those of the whole input.
    func testStreamedWindowsDecodeAlike() throws {
        for (name, bytes, suffix) in try sources() {
            let gz = gzip(bytes, suffix: suffix + ".gz"), zst = zstd(bytes, suffix: suffix + ".zst")
            defer { for path: String in [gz, zst] { unlink(path) } }
            let want = try lines(InputFile(path: gz))
            XCTAssertFalse(want.isEmpty, name)
            for path in [gz, zst] {
                for window in [1_500, 4_099, 65_536] {
                    let input = try InputFile(path: path, streamed: true, window: window)
                    XCTAssertTrue(input.isStreamed)
                    XCTAssertEqual(try lines(input), want, "\(name), \(path.suffix(3)), window \(window)")
                }
            }
        }
    }

    /// Books rebuilt from a streamed input equal those from the whole input.
    func testStreamedBooksMatchWholeBooks() throws {
        let generated = ITCHGenerator().generate(messages: 20_000)
        let gz = gzip(generated, suffix: ".itch.gz")
        defer { unlink(gz) }
        func views(_ input: InputFile) throws -> [String] {
            guard case let .itch(itch) = try FeedFile.open(input: input) else { return [] }
            var out: [String] = []
            _ = try BookReplay.run(itch) { out.append($0.json) }
            return out
        }
        let want = try views(InputFile(path: gz))
        XCTAssertFalse(want.isEmpty)
        XCTAssertEqual(try views(InputFile(path: gz, streamed: true, window: 2_048)), want)
    }

    func testTruncatedStreamedInputsSayTruncated() throws {
        let generated = ITCHGenerator().generate(messages: 20_000)
        let gz = gzip(generated, suffix: ".itch.gz"), zst = zstd(generated, suffix: ".itch.zst")
        defer { for path: String in [gz, zst] { unlink(path) } }
        for path in [gz, zst] {
            let bytes = readBytes(path) ?? []
            let cut = temporaryFile(
                Array(bytes.prefix(bytes.count / 2)), suffix: path.hasSuffix(".gz") ? ".gz" : ".zst")
            defer { unlink(cut) }
            XCTAssertThrowsError(try lines(InputFile(path: cut, streamed: true, window: 8_192))) { error in
                XCTAssertTrue("\(error)".contains("truncated"), "\(error)")
                XCTAssertFalse("\(error)".contains("\n"))
            }
        }
    }
}
