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

/// What ended a feed early: an input that cannot be framed, a failed socket call, or
/// messages lost past recovery with `feed.on_loss = "stop"`.
public enum FeedFailure: Error, Equatable, Sendable, CustomStringConvertible {
    case input(FeedError)
    case system(SystemError)
    case loss(source: String, messages: Int)
    /// A live gateway refused the session, broke the protocol, or could not be reached again.
    case gateway(source: String, DatabentoFeed.End)

    public var description: String {
        switch self {
        case let .input(error): "\(error)"
        case let .system(error): "\(error)"
        case let .loss(source, messages):
            "\(source): \(messages) message(s) lost past recovery; stopping (feed.on_loss = \"stop\")"
        case let .gateway(source, end): "\(source): \(end)"
        }
    }
}
