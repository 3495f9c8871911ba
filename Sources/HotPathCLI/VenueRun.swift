import CSupport
import HotPath

/// `book` and `decode` over a venue's WebSocket feed: one loop (`VenueFeed.run(adapter:)`),
/// the command's sink for each event, then the counters on stderr and the exit status.
enum VenueRun {
    static func run(
        _ options: VenueOptions, idleTimeout: Double?, out: inout BufferedWriter, done: () -> Bool = { false },
        sink: (VenueEvent, inout BufferedWriter) -> Void
    ) {
        let feed = VenueFeed(options: options)
        feed.idleNs = idleTimeout.map { UInt64(max($0, 0) * 1e9) } ?? 0
        var adapter = VenueAdapter(options)
        hp_install_stop_handlers()
        let end = feed.run(adapter: &adapter, stop: { hp_stop_signal() != 0 || done() }) { sink($0, &out) }
        out.flush()
        let counters = feed.counts.named + feed.client.named.map { ("ws.\($0.0)", $0.1) } + adapter.counts
        let said = counters.filter { $0.1 != 0 }.map { "\($0.1) \($0.0)" }
        if !said.isEmpty {
            printError("hotpath: \(options.url): \(end == .idle ? "idle; " : "")" + said.joined(separator: ", "))
        }
        switch end {
        case .stopped, .idle: return
        case let .failed(error): fail("\(options.url): \(error)", code: error.isTransient ? 1 : 2)
        case .gaveUp: fail("\(options.url): \(end)")
        }
    }
}
