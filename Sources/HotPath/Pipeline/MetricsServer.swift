import CSupport
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `[metrics] listen = "HOST:PORT"`: `GET /metrics` in the Prometheus text format (0.0.4),
/// served by a thread of its own (a cold path).
///
/// The output thread renders the text at each snapshot interval, from what it has already
/// gathered (the stages' cumulative histograms, the counters), and at the end from the run's
/// report, so the last scrape and the report agree by construction. `publish` swaps the text
/// in under a mutex between cold threads. A scrape copies the latest text and never reaches
/// the feed or engine threads. One connection at a time, each closed after its answer; a
/// client that sends nothing for a second is dropped.
public final class MetricsServer: @unchecked Sendable {
    public let address: String
    /// The port bound (the one asked for, or the kernel's choice for 0).
    public let port: UInt16
    let listener: Int32
    private let latest = Mutex<String>("")
    private let stopping = Atomic<Bool>(false)
    private let served = Atomic<Int>(0)
    private var thread: PinnedThread?

    /// Scrapes answered so far.
    public var scrapes: Int { served.load(ordering: .relaxed) }

    /// Binds `listen` ("IPv4:PORT") and starts serving on `cpu` (the output thread's, so a
    /// scrape never lands on the engine's CPU; nil: unpinned).
    public init(listen: String, cpu: Int? = nil) throws(SystemError) {
        guard let colon = listen.lastIndex(of: ":"), let p = UInt16(listen[listen.index(after: colon)...]) else {
            throw SystemError(listen, call: "metrics.listen (expected IPv4:PORT)", errno: EINVAL)
        }
        let host = String(listen[..<colon])
        var sa = sockaddr_in()
        guard hp_ipv4(host, &sa, p) == 0 else {
            throw SystemError(listen, call: "metrics.listen (expected IPv4:PORT)", errno: EINVAL)
        }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError(listen, call: "socket", errno: errno) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, Glibc.listen(fd, 16) == 0 else {
            let e = errno
            close(fd)
            throw SystemError(listen, call: "bind", errno: e)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        port = UInt16(bigEndian: sa.sin_port)
        address = "\(host):\(port)"
        do {
            thread = try PinnedThread.start(name: "hp-metrics", cpu: cpu) { [unowned self] in self.serve() }
        } catch {
            close(fd)
            throw SystemError(listen, call: "pthread_create", errno: EAGAIN)
        }
    }

    deinit { stop() }

    /// The text the next scrape gets.
    public func publish(_ text: String) { latest.withLock { $0 = text } }

    /// Stops serving and closes the socket (idempotent).
    public func stop() {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        thread?.join()
        close(listener)
    }

    private func serve() {
        while !stopping.load(ordering: .relaxed) {
            var p = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 100) > 0 else { continue }
            let client = accept(listener, nil, nil)
            if client < 0 { continue }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            answer(client)
            close(client)
        }
    }

    /// Reads the request head (up to 8 KiB, a second at most) and answers it.
    private func answer(_ fd: Int32) {
        var tv = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var head: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 2048)
        func ended() -> Bool {
            head.suffix(4).elementsEqual("\r\n\r\n".utf8) || head.suffix(2).elementsEqual("\n\n".utf8)
        }
        while head.count < 8192 && !ended() {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return }
            head += chunk[0..<n]
        }
        let line = head.prefix { $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\n") }.split(
            separator: UInt8(ascii: " "))
        let (status, body): (String, String)
        if line.count >= 2, line[0].elementsEqual("GET".utf8) {
            let path = line[1].prefix { $0 != UInt8(ascii: "?") }
            if path.elementsEqual("/metrics".utf8) {
                (status, body) = ("200 OK", latest.withLock { $0 })
                served.add(1, ordering: .relaxed)
            } else {
                (status, body) = ("404 Not Found", "only /metrics is served here\n")
            }
        } else {
            (status, body) = ("405 Method Not Allowed", "GET /metrics\n")
        }
        let response =
            "HTTP/1.1 \(status)\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
            + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + body
        SystemFile.writeAll(fd, response)
    }
}

/// The Prometheus text format of a run's report: every counter as a sample of
/// `hotpath_counter_total{name="<report name>"}` (the names are kept whole: sanitised into
/// metric names, `engine.book.events` and `engine.book_events` would collide), each stage's
/// latency as the summary `hotpath_stage_latency_seconds{stage=…}` and the host's hiccups as
/// `hotpath_host_hiccup_seconds{thread=…}` (quantiles 0.5 to 0.9999, `_sum`, `_count`, and a
/// `…_max_seconds` gauge beside each), each model as `hotpath_model_info{name,sha256} 1`, and
/// each budget's verdict as a gauge.
public enum PrometheusText {
    static let quantiles: [Percentile] = [.p50, .p90, .p99, .p999, .p9999]

    /// A label value as the text format escapes it: backslash, double quote, newline.
    static func label(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    public static func render(_ report: RunReport) -> String {
        var out = ""
        func seconds(_ ns: Double) -> String { format("%.9g", ns / 1e9) }
        func summary(_ family: String, _ label: String, _ help: String, _ rows: [(String, LatencySummary)]) {
            guard !rows.isEmpty else { return }
            out += "# HELP \(family) \(help)\n# TYPE \(family) summary\n"
            for (name, s) in rows {
                let l = "\(label)=\"\(name)\""
                for p in quantiles {
                    out += "\(family){\(l),quantile=\"\(format("%g", p.value / 100))\"} \(seconds(Double(s[p])))\n"
                }
                out += "\(family)_sum{\(l)} \(seconds(s.mean * Double(s.count)))\n"
                out += "\(family)_count{\(l)} \(s.count)\n"
            }
            out += "# HELP \(family.dropLast(8))_max_seconds The largest value recorded.\n"
            out += "# TYPE \(family.dropLast(8))_max_seconds gauge\n"
            for (name, s) in rows {
                out += "\(family.dropLast(8))_max_seconds{\(label)=\"\(name)\"} \(seconds(Double(s.max)))\n"
            }
        }
        let hiccup = "host_hiccup."
        summary(
            "hotpath_stage_latency_seconds", "stage", "Per-stage latency since the start.",
            report.stages.filter { !$0.0.hasPrefix(hiccup) && $0.1.count > 0 })
        summary(
            "hotpath_host_hiccup_seconds", "thread", "Time the host took from each thread while idle.",
            report.stages.filter { $0.0.hasPrefix(hiccup) }.map { (String($0.0.dropFirst(hiccup.count)), $0.1) })
        out += "# HELP hotpath_counter_total HotPath's named counters, as the run report names them.\n"
        out += "# TYPE hotpath_counter_total counter\n"
        for (name, value) in report.counters { out += "hotpath_counter_total{name=\"\(label(name))\"} \(value)\n" }
        if !report.models.isEmpty {
            out += "# HELP hotpath_model_info The models served: their names and the SHA-256 of their files.\n"
            out += "# TYPE hotpath_model_info gauge\n"
            for m in report.models { out += "hotpath_model_info{name=\"\(label(m.name))\",sha256=\"\(m.sha256)\"} 1\n" }
        }
        if !report.budgets.isEmpty {
            out += "# HELP hotpath_budget_ok 1 while the latency budget holds.\n# TYPE hotpath_budget_ok gauge\n"
            for v in report.budgets {
                out +=
                    "hotpath_budget_ok{stage=\"\(v.budget.stage.name)\",percentile=\"\(format("%g", v.budget.percentile.value))\"} "
                    + "\(v.ok ? 1 : 0)\n"
            }
        }
        return out
    }
}
