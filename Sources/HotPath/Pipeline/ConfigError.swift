/// A configuration problem, named by its file and key: `demo.toml: risk.max_position: expected
/// an integer, found a string`. Raised at load, before any thread starts.
public struct ConfigError: Error, Equatable, CustomStringConvertible {
    public var file: String
    public var key: String
    public var reason: String

    public init(file: String, key: String, reason: String) {
        self.file = file
        self.key = key
        self.reason = reason
    }

    public var description: String { key.isEmpty ? "\(file): \(reason)" : "\(file): \(key): \(reason)" }
}
