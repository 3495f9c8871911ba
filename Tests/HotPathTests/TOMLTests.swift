import MallocCounter
import XCTest

@testable import HotPath

/// HotPath's TOML parser against Python's tomllib: every document in
/// Tests/Fixtures/toml/cases.jsonl (`python3 scripts/toml_cases.py` made it) is read to the
/// same value, or refused where tomllib refuses. `HOTPATH_TOML_CASES=FILE` runs a larger set
/// made the same way (`python3 scripts/toml_cases.py DIR...`).
final class TOMLTests: XCTestCase {
    func testEveryDocumentReadsAsTomllibReadsIt() throws {
        let path = ProcessInfo.processInfo.environment["HOTPATH_TOML_CASES"] ?? TestPaths.fixtures + "/toml/cases.jsonl"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var (valid, refused, skipped, wrong) = (0, 0, 0, 0)
        for line in text.split(separator: "\n") {
            let c = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let bytes = [UInt8](try XCTUnwrap(Data(base64Encoded: c["b64"] as! String)))
            let expect = c["expect"]
            if expect as? String == "skip" {
                skipped += 1
                continue
            }
            let shown = String(decoding: bytes.prefix(120), as: UTF8.self).debugDescription
            let parsed: TOMLTable
            do {
                parsed = try TOMLParser.parse(bytes)
            } catch {
                if !(expect is NSNull) {
                    wrong += 1
                    if wrong <= 20 {
                        XCTFail("refused (line \(error.line): \(error.reason)), tomllib reads it: \(shown)")
                    }
                }
                refused += 1
                continue
            }
            if expect is NSNull {
                wrong += 1
                if wrong <= 20 { XCTFail("read, tomllib refuses it: \(shown)") }
                continue
            }
            if let difference = Self.difference(.table(parsed), expect!, at: "") {
                wrong += 1
                if wrong <= 20 { XCTFail("\(difference): \(shown)") }
            }
            valid += 1
        }
        XCTAssertEqual(wrong, 0)
        XCTAssertGreaterThan(valid, 50)
        XCTAssertGreaterThan(refused, 50)
        print("toml: \(valid) read alike, \(refused) refused alike, \(skipped) skipped, \(wrong) differ")
    }

    /// Where `value` differs from tomllib's tagged `expect`, or nil.
    static func difference(_ value: TOMLValue, _ expect: Any, at path: String) -> String? {
        switch value {
        case .table(let t):
            guard let e = expect as? [String: Any] else { return "\(path): a table where tomllib has \(expect)" }
            guard Set(t.keys) == Set(e.keys) else {
                return "\(path): keys \(t.keys.sorted()) against \(e.keys.sorted())"
            }
            for k in t.keys {
                if let d = difference(t[k]!, e[k]!, at: path + "." + k) { return d }
            }
            return nil
        case .array(let a):
            guard let e = expect as? [Any], e.count == a.items.count else {
                return "\(path): an array against \(expect)"
            }
            for (k, item) in a.items.enumerated() {
                if let d = difference(item, e[k], at: path + "[\(k)]") { return d }
            }
            return nil
        default: break
        }
        guard let e = expect as? [String: Any], let type = e["type"] as? String else {
            return "\(path): a scalar against \(expect)"
        }
        let v = e["value"] as? String
        switch value {
        case .string(let s) where type == "string" && s == v: return nil
        case .integer(let i) where type == "integer" && String(i) == v: return nil
        case .boolean(let b) where type == "bool" && String(b) == v: return nil
        case .dateTime where type == "datetime": return nil
        case .float(let x) where type == "float":
            let y = Double(v!) ?? .nan
            if x == y || (x.isNaN && y.isNaN) { return nil }
        default: break
        }
        return "\(path): \(value) against \(type) \(v ?? "")"
    }

    /// A parse, read or refused, gives its memory back (TOMLKit's did not: about 500 bytes a
    /// load, which ended the config fuzz target's runs out of memory).
    func testAParseGivesItsMemoryBack() throws {
        let demo = try XCTUnwrap(FileManager.default.contents(atPath: TestPaths.root + "/demo/config.toml"))
        let documents = [[UInt8](demo), Array("a = [1, }]\n".utf8), Array("[a]\nb = \"\\u00e9\"\n[a]\n".utf8)]
        func loadAll(_ times: Int) throws {
            for _ in 0..<times {
                for d in documents {
                    if var reader = try? TOMLReader.parse(file: "demo.toml", bytes: d) {
                        _ = try reader.table("engine")
                        _ = reader.keys
                    }
                }
            }
        }
        try loadAll(100)
        let before = hp_heap_in_use()
        try loadAll(2000)
        let grown = Int(hp_heap_in_use()) - Int(before)
        XCTAssertLessThan(grown, 64 << 10, "the heap grew \(grown) bytes over 6000 parses")
    }

    /// The configuration error names the line and column of a syntax error.
    func testASyntaxErrorNamesItsLineAndColumn() {
        XCTAssertThrowsError(try TOMLReader.parse(file: "f.toml", text: "[a]\nb = 1\nc = [1, }]\n")) { error in
            XCTAssertEqual("\(error)", "f.toml: line 3, column 9: expected a value")
        }
        XCTAssertThrowsError(try TOMLReader.parse(file: "f.toml", text: "[a]\nx = 1\n[a]\n")) { error in
            XCTAssertEqual("\(error)", "f.toml: line 3, column 1: [a] is declared twice")
        }
        XCTAssertThrowsError(try TOMLParser.parse([0x61, 0x20, 0x3D, 0x20, 0x22, 0xFF, 0x22])) { error in
            XCTAssertEqual((error as? TOMLSyntaxError)?.reason, "the file is not UTF-8")
        }
    }
}
