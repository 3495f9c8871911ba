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
