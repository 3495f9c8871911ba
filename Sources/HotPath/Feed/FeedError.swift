/// Bad feed input: the file, the byte offset and the reason, on one line. Thrown at load
/// time; on the hot path the same conditions are counted skips where the stream can go on.
public struct FeedError: Error, Equatable, CustomStringConvertible {
    public var file: String
    public var offset: Int
    public var reason: String

    public init(file: String, offset: Int, reason: String) {
        self.file = file
        self.offset = offset
        self.reason = reason
    }

    public var description: String { "\(file): byte \(offset): \(reason)" }
}
