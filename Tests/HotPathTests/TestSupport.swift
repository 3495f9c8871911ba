import CSupport
import MallocCounter
import XCTest

@testable import HotPath

#if canImport(Glibc)
import Glibc
#endif

/// Paths and helpers shared by the suites.
enum TestPaths {
    /// The repository root (…/Tests/HotPathTests/TestSupport.swift → …).
    static let root: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/")
    }()

    static let fixtures = root + "/Tests/Fixtures"
    /// ../shared/data beside the checkout, or nil (tests needing it skip, saying so).
    static let sharedData: String? = {
        let p = root + "/../shared/data"
        return access(p, F_OK) == 0 ? p : nil
    }()

    static func requireSharedData(file: StaticString = #filePath, line: UInt = #line) throws -> String {
        guard let p = sharedData else {
            throw XCTSkip("../shared/data is absent beside the checkout: real-data test skipped")
        }
        return p
    }
}

/// Lowercase hex SHA-256 (OpenSSL).
func sha256Hex(_ bytes: [UInt8]) -> String {
    var md = [UInt8](repeating: 0, count: 32)
    bytes.withUnsafeBufferPointer { b in _ = SHA256(b.baseAddress, b.count, &md) }
    return md.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
}

/// Reads a small text file.
func readText(_ path: String) -> String? {
    readBytes(path).map { String(decoding: $0, as: UTF8.self) }
}

/// Reads a small file.
func readBytes(_ path: String) -> [UInt8]? {
    guard let f = fopen(path, "rb") else { return nil }
    defer { fclose(f) }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buf, 1, buf.count, f)
        if n <= 0 { break }
        out += buf[0..<n]
    }
    return out
}

/// Writes bytes to a fresh temporary file and returns its path.
func temporaryFile(_ bytes: [UInt8], suffix: String = ".dbn") -> String {
    var template = Array("/tmp/hotpath-test-XXXXXX\(suffix)".utf8CString)
    let fd = template.withUnsafeMutableBufferPointer { mkstemps($0.baseAddress!, Int32(suffix.utf8.count)) }
    precondition(fd >= 0)
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
    return template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
}

/// Allocation and retain counts are properties of the optimised build (a debug build
/// allocates where the optimiser would not): tests that count them skip in a debug build,
/// which runs to exercise the `assert`s.
func requireOptimizedBuild() throws {
    if !isOptimizedBuild { throw XCTSkip("debug build: allocation counts are measured in the release test run") }
}

#if DEBUG
let isOptimizedBuild = false
#else
let isOptimizedBuild = true
#endif

/// Steps `events` through `core`: the first `warmUp` of them to warm it (first-use costs), then
/// the rest, which must neither allocate nor retain on this thread (release builds count both).
func assertEngineAllocatesNothing(
    _ core: EngineCore, _ events: [Event], warmUp: Int, file: StaticString = #filePath, line: UInt = #line
) {
    events.withUnsafeBufferPointer { e in
        for i in 0..<min(warmUp, e.count) { core.process(e[i]) }
        let (mallocs, retains) = (hp_thread_malloc_count(), hp_thread_retain_count())
        for i in min(warmUp, e.count)..<e.count { core.process(e[i]) }
        XCTAssertEqual(hp_thread_malloc_count() - mallocs, 0, "mallocs after the warm-up", file: file, line: line)
        XCTAssertEqual(hp_thread_retain_count() - retains, 0, "retains after the warm-up", file: file, line: line)
    }
}
