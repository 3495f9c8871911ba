/// The pipeline's timed stages, in report order. Each owns a latency histogram on the thread
/// that runs it: `decode` on the feed thread, the rest on the engine thread.
public enum Stage: Int, CaseIterable, Sendable {
    /// Live sources only: kernel receive stamp to decode start (feed thread).
    case wire
    case decode, ringWait, book, features, inference, signal, tickToSignal
    /// Network outputs only: the signal ring push to its send's completion (engine thread).
    case egress
    /// Live sources to a network output: kernel receive stamp to the send's completion.
    case wireToSignal

    public var name: String {
        switch self {
        case .wire: "wire"
        case .decode: "decode"
        case .ringWait: "ring_wait"
        case .book: "book"
        case .features: "features"
        case .inference: "inference"
        case .signal: "signal"
        case .tickToSignal: "tick_to_signal"
        case .egress: "egress"
        case .wireToSignal: "wire_to_signal"
        }
    }

    /// Measured only when a live source or a network output is in use (not in a file replay).
    public var isLiveOnly: Bool { self == .wire || self == .egress || self == .wireToSignal }

    /// The feed thread's stages (it owns their recorders); the engine thread owns the rest.
    public var isFeedThread: Bool { self == .wire || self == .decode }

    public init?(name: String) {
        guard let s = Stage.allCases.first(where: { $0.name == name }) else { return nil }
        self = s
    }
}
