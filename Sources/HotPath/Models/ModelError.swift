/// A model file HotPath cannot load: the file, the place (line, tree, node or JSON path) and
/// the reason, on one line. Raised at load time, before anything runs.
public struct ModelError: Error, Equatable, CustomStringConvertible {
    public var file: String
    public var place: String
    public var reason: String

    public init(file: String, place: String, reason: String) {
        self.file = file
        self.place = place
        self.reason = reason
    }

    public var description: String { place.isEmpty ? "\(file): \(reason)" : "\(file):\(place): \(reason)" }
}
