import CSupport
import Foundation

/// Receive throughput over loopback, all three receive paths in one run, two ways:
/// - offered: a MoldUDP64 session (`MoldServer`, no faults) at rising message rates, each
///   path's receiver (`MoldUDP64Feed` with a counting consumer, on its own pinned thread)
///   counting what reached it; a rate holds when nothing was lost. On loopback the sender
///   pays for the kernel's whole delivery path, so the sender may bound this before any
///   receiver does.
/// - drain: the whole session is sent first into a socket buffer large enough to hold it
///   (SO_RCVBUFFORCE), then the receiver takes it as fast as its path allows: the receive
///   path's own capacity, first message to last. Rounds alternate the paths' order.
public struct UDPReceiveBench {
    public enum Path: String, CaseIterable, Sendable {
        case uring = "io_uring", recvmmsg, recvfrom = "blocking recvmsg"
        var mode: Int32 {
            switch self {
            case .uring: Int32(HP_RX_URING);
            case .recvmmsg: Int32(HP_RX_RECVMMSG);
            case .recvfrom: Int32(HP_RX_RECVFROM)
            }
        }
    }

    public struct Step: Sendable {
        public var path: Path
        public var offeredPerSecond: Double
        public var messages: Int
        public var lost: Int
        public var packetsPerSecond: Double
        public var messagesPerSecond: Double
        public var held: Bool { lost == 0 }
    }

    public var rates: [Double] = [250_000, 500_000, 1_000_000, 2_000_000, 4_000_000]
    /// Drain rounds (each runs every path once).
    public var drainRounds = 5
    public var messages = 1_000_000
    /// Where the receiver and the sender run (first and last CPU this process may use).
    public var receiverCPU: Int?
    public var senderCPU: Int?

    public init() {}

    /// Runs every path at every rate, taking the paths in turn within each rate so drift on the host
    /// touches them alike. `progress` hears each step.
    public func run(session path: String, progress: (Step) -> Void = { _ in }) throws -> [Step] {
        guard case let .itch(itch) = try FeedFile.open(path) else {
            throw FeedError(file: path, offset: 0, reason: "not ITCH")
        }
        var steps: [Step] = []
        for rate in rates {
            for p in Path.allCases {
                let step = try measure(itch, path: p, rate: rate)
                steps.append(step)
                progress(step)
            }
        }
        return steps
    }

    /// The drain rounds: per round, every path once, in an order that rotates each round.
    public func drain(session path: String, progress: (Step) -> Void = { _ in }) throws -> [Step] {
        guard case let .itch(itch) = try FeedFile.open(path) else {
            throw FeedError(file: path, offset: 0, reason: "not ITCH")
        }
        var steps: [Step] = []
        let paths = Path.allCases
        for round in 0..<drainRounds {
            for i in 0..<paths.count {
                let step = try measure(itch, path: paths[(i + round) % paths.count], rate: nil)
                steps.append(step)
                progress(step)
            }
        }
        return steps
    }

    final class Result: @unchecked Sendable {
        var messages = 0
        var packets = 0
        var firstNs: UInt64 = 0
        var lastNs: UInt64 = 0
        var lost = 0
        var error: Error?
    }

    /// One path at one offered rate, or (rate nil) draining a session sent ahead.
    func measure(_ itch: ITCHFile, path: Path, rate: Double?) throws -> Step {
        let port = UDPReceiveBench.freePort()
        let buffer = rate == nil ? "&rcvbuf=1073741824" : ""
        guard
            case let .moldUDP64(url) = try SourceURL.parse(
                "moldudp64://127.0.0.1:\(port)?wait_us=2000&timeout_ms=50&retries=0\(buffer)")
        else {
            throw SourceURLError(url: "moldudp64://127.0.0.1:\(port)", reason: "not a MoldUDP64 URL")
        }
        let feed = try MoldUDP64Feed(options: url)
        let result = Result()
        let ready = DispatchSemaphore(value: 0), go = DispatchSemaphore(value: 0)
        let receiver = try PinnedThread.start(name: "hp-bench-rx", cpu: receiverCPU) {
            do { try feed.start(mode: path.mode) } catch { result.error = error }
            ready.signal()
            guard result.error == nil else { return }
            if rate == nil { go.wait() }
            var count = 0
            var first: UInt64 = 0, last: UInt64 = 0
            _ = feed.drain(idleNs: 3_000_000_000) { _ in
                if first == 0 { first = Clock.monotonicNs() }
                count &+= 1
                if count & 63 == 0 { last = Clock.monotonicNs() }
            }
            result.lastNs = max(last, first)
            result.firstNs = first
            result.messages = count
            result.packets = feed.session.counts.packets
            result.lost = feed.session.counts.messagesLost
        }
        ready.wait()
        if let error = result.error { receiver.join(); throw error }
        var options = MoldServer.Options(to: HostPort(host: "127.0.0.1", port: port))
        options.pace = rate.map { .rate(messagesPerSecond: $0) } ?? .max
        options.lingerNs = 0
        let server = try MoldServer(source: itch, options: options)
        let sender = try PinnedThread.start(name: "hp-bench-tx", cpu: rate == nil ? receiverCPU : senderCPU) {
            _ = try? server.run()
        }
        sender.join()
        go.signal()
        receiver.join()
        let missing = server.messageCount - result.messages
        let seconds = max(Double(result.lastNs &- result.firstNs) / 1e9, 1e-9)
        return Step(
            path: path, offeredPerSecond: rate ?? 0, messages: result.messages, lost: max(missing, result.lost),
            packetsPerSecond: Double(result.packets) / seconds, messagesPerSecond: Double(result.messages) / seconds)
    }

    /// A free UDP port (bound to port 0, read, closed).
    public static func freePort() -> UInt16 {
        var failed: UnsafePointer<CChar>? = nil
        let fd = hp_udp_open_tx(nil, &failed)
        defer { close(fd) }
        _ = hp_udp_bind_any(fd, 0)
        return UInt16(hp_udp_local_port(fd))
    }
}
