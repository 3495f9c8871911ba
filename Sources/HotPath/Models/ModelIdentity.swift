import CSupport

/// Which model a run served: its declared name (`[[models]] name`, else the file's name), its
/// path, and the SHA-256 of the file's bytes. Reports and the metrics endpoint list them, so
/// a signal can be traced to the exact files that made it. Computed once at start-up.
public struct ModelIdentity: Sendable, Equatable {
    public var name: String
    public var path: String
    /// The file's SHA-256, 32 bytes.
    public var digest: [UInt8]

    public init(name: String, path: String, digest: [UInt8]) {
        self.name = name
        self.path = path
        self.digest = digest
    }

    /// From a report's lowercase hex digest.
    public init(name: String, path: String, sha256 hex: String) {
        self.init(name: name, path: path, digest: Self.digest(hex: hex))
    }

    /// Lowercase hex, 64 characters.
    public var sha256: String { Self.hex(digest) }

    /// Lowercase hex SHA-256 (OpenSSL).
    public static func sha256(_ bytes: [UInt8]) -> String { hex(digest(bytes)) }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() }

    /// The first 12 hex digits: enough to tell two versions of a model apart in a table.
    public var short: String { String(sha256.prefix(12)) }

    /// The identity of the file at `path`; nil when it cannot be read.
    public init?(path: String, name: String?) {
        guard let bytes = SystemFile.readBytes(path, limit: Int.max) else { return nil }
        self.init(name: name ?? String(path.split(separator: "/").last ?? ""), path: path, digest: Self.digest(bytes))
    }

    /// The 32-byte SHA-256 of `bytes`.
    static func digest(_ bytes: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        bytes.withUnsafeBufferPointer { _ = SHA256($0.baseAddress, $0.count, &digest) }
        return digest
    }

    /// The bytes of a lowercase hex digest.
    static func digest(hex: String) -> [UInt8] {
        let digits = Array(hex.utf8)
        return stride(from: 0, to: digits.count - 1, by: 2).map {
            UInt8(String(decoding: digits[$0...$0 + 1], as: UTF8.self), radix: 16) ?? 0
        }
    }
}
