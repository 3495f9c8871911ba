/// Bad input, located, on one line: the file (or source), the place in it and the reason.
/// One type for the configuration, the feeds and the models, by three names that say which
/// input failed at each throw:
/// - `ConfigError(file:key:reason:)`: `demo.toml: risk.max_position: expected an integer, …`;
/// - `FeedError(file:offset:reason:)`: `day.dbn: byte 1234: record length 0`;
/// - `ModelError(file:place:reason:)`: `model.txt:12: …` (a line, a tree, a node or a JSON
///   path, joined as a compiler joins a line number).
///
/// Raised at load, before anything runs; on the hot path the same conditions are counted skips
/// where the stream can go on.
public struct InputError: Error, Equatable, Sendable, CustomStringConvertible {
    public var file: String
    /// Where in the file; "" for the whole.
    public var place: String
    public var reason: String
    /// "file:place:" (a model's place) rather than "file: place:".
    let attached: Bool

    /// A configuration problem at `key` ("" for the file's syntax or reading).
    public init(file: String, key: String, reason: String) {
        (self.file, place, self.reason, attached) = (file, key, reason, false)
    }

    /// A feed input that cannot be read past byte `offset`.
    public init(file: String, offset: Int, reason: String) {
        (self.file, place, self.reason, attached) = (file, "byte \(offset)", reason, false)
    }

    /// A model file problem at `place`.
    public init(file: String, place: String, reason: String) {
        (self.file, self.place, self.reason, attached) = (file, place, reason, true)
    }

    /// The configuration key (the place of a `ConfigError`).
    public var key: String { place }

    public var description: String {
        place.isEmpty ? "\(file): \(reason)" : attached ? "\(file):\(place): \(reason)" : "\(file): \(place): \(reason)"
    }
}

public typealias ConfigError = InputError
public typealias FeedError = InputError
public typealias ModelError = InputError
