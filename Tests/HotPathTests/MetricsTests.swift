import Foundation
import XCTest

@testable import HotPath

#if canImport(Glibc)
import Glibc
#endif

/// `[metrics] listen`: the Prometheus endpoint, scraped during a replay and after it.
final class MetricsTests: XCTestCase {
    /// One HTTP/1.1 request over loopback: the status line and the body, or nil.
    static func get(_ port: UInt16, _ request: String = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n") -> (String, String)?
    {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = port.bigEndian
        sa.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let connected = withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0, SystemFile.writeAll(fd, request) == request.utf8.count else { return nil }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        let text = String(decoding: bytes, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { return nil }
        let status = String(text[..<split.lowerBound]).components(separatedBy: "\r\n")[0]
        return (status, String(text[split.upperBound...]))
    }

    /// The counters of a scrape: report name → value.
    static func counters(_ body: String) -> [String: Double] {
        var out: [String: Double] = [:]
        let prefix = "hotpath_counter_total{name=\""
        for line in body.split(separator: "\n") where line.hasPrefix(prefix) {
            let rest = line.dropFirst(prefix.count)
            guard let close = rest.firstIndex(of: "\""), let v = Double(rest[rest.index(close, offsetBy: 3)...]) else {
                continue
            }
            out[String(rest[..<close])] = v
        }
        return out
    }

    func testTheTextNamesEveryCounterStageAndBudget() {
        var r = RunReport()
        var s = LatencySummary()
        s.count = 4
        s.p50 = 1_000
        s.p99 = 2_500
        s.max = 9_000
        s.mean = 1_500
        r.stages = [("tick_to_signal", s), ("host_hiccup.engine", s)]
        r.counters = [("engine.events", 12), ("moldudp64[1].gaps", 3)]
        r.budgets = [
            .init(budget: LatencyBudget(stage: .tickToSignal, percentile: .p99, limitNs: 2_000), valueNs: 2_500)
        ]
        r.models = [ModelIdentity(name: "lgb \"v2\"", path: "/m/model.txt", sha256: String(repeating: "ab", count: 32))]
        let text = PrometheusText.render(r)
        for line in [
            "# TYPE hotpath_stage_latency_seconds summary",
            "hotpath_stage_latency_seconds{stage=\"tick_to_signal\",quantile=\"0.5\"} 1e-06",
            "hotpath_stage_latency_seconds{stage=\"tick_to_signal\",quantile=\"0.99\"} 2.5e-06",
            "hotpath_stage_latency_seconds_sum{stage=\"tick_to_signal\"} 6e-06",
            "hotpath_stage_latency_seconds_count{stage=\"tick_to_signal\"} 4",
            "hotpath_stage_latency_max_seconds{stage=\"tick_to_signal\"} 9e-06",
            "hotpath_host_hiccup_seconds_count{thread=\"engine\"} 4",
            "# TYPE hotpath_counter_total counter", "hotpath_counter_total{name=\"engine.events\"} 12",
            "hotpath_counter_total{name=\"moldudp64[1].gaps\"} 3",
            "hotpath_model_info{name=\"lgb \\\"v2\\\"\",sha256=\"\(String(repeating: "ab", count: 32))\"} 1",
            "hotpath_budget_ok{stage=\"tick_to_signal\",percentile=\"99\"} 0",
        ] {
            XCTAssertTrue(text.contains(line + "\n"), "missing \(line) in\n\(text)")
        }
    }

    /// Scrapes while a replay runs, then once after: every scrape answers, the counters grow,
    /// and the last scrape's counters are the report's. Python's `prometheus_client` parses a
    /// scrape from during the run and the last one (where the test venv has it).
    func testScrapesDuringAReplayAndTheLastEqualsTheReport() throws {
        var c = try EngineConfig.load(path: TestPaths.root + "/demo/config.toml")
        c.metricsListen = "127.0.0.1:0"
        c.snapshotNs = 50_000_000
        c.signalsPath = nil
        c.progress = false
        c.pace = .rate(eventsPerSecond: 400_000)
        let cpus = PinnedThread.currentAffinity().cpus
        (c.feedCore, c.engineCore) = (cpus.first, cpus.last)
        var g = ITCHGenerator.demoSession
        g.seed = 7
        let path = temporaryFile(g.generate(messages: 300_000), suffix: ".itch")
        defer { unlink(path) }
        let file = try FeedFile.open(path)
        let engine = try Engine(config: c)
        let port = try XCTUnwrap(engine.metrics?.port)
        XCTAssertEqual(Self.get(port)?.0, "HTTP/1.1 200 OK", "answers before the first snapshot")
        XCTAssertEqual(Self.get(port, "GET /other HTTP/1.1\r\n\r\n")?.0, "HTTP/1.1 404 Not Found")
        XCTAssertEqual(Self.get(port, "POST /metrics HTTP/1.1\r\n\r\n")?.0, "HTTP/1.1 405 Method Not Allowed")
        let done = Locked(false)
        let bodies = Locked<[String]>([])
        let scraper = Thread {
            while !done.with({ $0 }) {
                if let (status, body) = Self.get(port), status.hasSuffix("200 OK") { bodies.with { $0.append(body) } }
                usleep(20_000)
            }
        }
        scraper.start()
        var replay = FileReplay(file: file, clock: engine.clock)
        replay.pace = c.pace
        let (report, _) = try engine.run(feeds: [replay], sink: nil)
        done.with { $0 = true }
        while !scraper.isFinished { usleep(1_000) }
        let during = bodies.with { $0 }.filter { !$0.isEmpty }
        guard during.count > 5 else { return XCTFail("\(during.count) scrapes during the run") }
        let events = during.map { Self.counters($0)["engine.events"] ?? 0 }
        XCTAssertEqual(events, events.sorted(), "counters only grow")
        XCTAssertLessThan(events.first ?? 0, events.last ?? 0)
        let last = try XCTUnwrap(Self.get(port)?.1)
        let scraped = Self.counters(last)
        XCTAssertEqual(scraped.count, report.counters.count)
        for (name, value) in report.counters { XCTAssertEqual(scraped[name], Double(value), name) }
        XCTAssertTrue(
            last.contains(
                "hotpath_stage_latency_seconds_count{stage=\"tick_to_signal\"} \(report.stage(.tickToSignal)!.count)\n")
        )
        XCTAssertEqual(report.models.map(\.name), ["model-lgb.txt", "model-mlp.onnx"])
        for m in report.models {
            XCTAssertEqual(m.sha256, sha256Hex(try XCTUnwrap(readBytes(m.path))))
            XCTAssertTrue(last.contains("hotpath_model_info{name=\"\(m.name)\",sha256=\"\(m.sha256)\"} 1\n"))
        }
        try parseInPython([during[during.count / 2], last], report: report)
    }

    /// `prometheus_client.parser.text_string_to_metric_families` over each text; the last
    /// one's counters must be the report's.
    private func parseInPython(_ texts: [String], report: RunReport) throws {
        let python = try WebSocketTests.python()
        let check = Process()
        check.executableURL = URL(fileURLWithPath: python)
        check.arguments = ["-c", "import prometheus_client"]
        try check.run()
        check.waitUntilExit()
        guard check.terminationStatus == 0 else {
            throw XCTSkip("no prometheus_client in \(python) (scripts/test.sh installs it)")
        }
        var files: [String] = []
        for t in texts { files.append(temporaryFile(Array(t.utf8), suffix: ".prom")) }
        defer { files.forEach { unlink($0) } }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments =
            [
                "-c",
                """
                import json, sys
                from prometheus_client.parser import text_string_to_metric_families
                out = []
                for path in sys.argv[1:]:
                    counters = {}
                    for family in text_string_to_metric_families(open(path).read()):
                        if family.type == "unknown":
                            sys.exit(f"{path}: {family.name} has no TYPE the parser matched")
                        for sample in family.samples:
                            if family.name == "hotpath_counter" and sample.name == "hotpath_counter_total":
                                counters[sample.labels["name"]] = sample.value
                    out.append(counters)
                print(json.dumps(out))
                """,
            ] + files
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "prometheus_client could not parse a scrape")
        let parsed = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [[String: Double]])
        XCTAssertEqual(parsed.count, texts.count)
        XCTAssertGreaterThan(parsed.first?.count ?? 0, 0)
        let want = Dictionary(uniqueKeysWithValues: report.counters.map { ($0.0, Double($0.1)) })
        XCTAssertEqual(parsed.last, want, "the last scrape's counters, as prometheus_client reads them")
    }
}

/// A value shared between a test and a thread it starts.
final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    init(_ value: Value) { self.value = value }
    func with<R>(_ body: (inout Value) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}
