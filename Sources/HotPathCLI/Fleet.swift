import ArgumentParser
import CSupport
import Foundation
import HotPath

struct Fleet: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "See and steer the HotPath processes that share a NATS server ([output] url = \"nats://…\").",
        discussion: """
            Each process publishes a heartbeat on PREFIX.health.<shard> every snapshot \
            interval and obeys PREFIX.control. URL: nats://HOST:PORT/PREFIX (PREFIX defaults to \
            hotpath).
            """,
        subcommands: [Status.self, Kill.self, Resume.self]
    )

    static func connect(_ url: String) -> NATSLink {
        do { return try NATSLink(url: url) } catch { fail("\(error)") }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Listen to the heartbeats for a while; print each shard's rate, tail and heartbeat age.")

        @Argument(help: "nats://HOST:PORT/PREFIX")
        var url: String

        @Option(help: "How long to listen, in seconds (heartbeats come every snapshot_ms, 1 s by default).")
        var seconds: Double = 2.5

        @Flag(help: "JSON instead of the table.")
        var json = false

        struct Beat {
            var at: UInt64
            var tNs: UInt64
            var events: UInt64
            var emitted: UInt64
            var p99: UInt64?
            var final: Bool
        }

        func run() throws {
            let link = Fleet.connect(url)
            let subject = link.address.prefix + ".health.*"
            guard link.subscribe(subject) else { fail("\(url): cannot subscribe to \(subject)") }
            var last: [String: Beat] = [:], first: [String: Beat] = [:]
            let end = Clock.monotonicNs() + UInt64(max(seconds, 0.1) * 1e9)
            while Clock.monotonicNs() < end {
                guard let (_, bytes, _) = link.next() else {
                    usleep(5_000)
                    continue
                }
                guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
                    let shard = object["shard"] as? String, let report = object["report"] as? [String: Any]
                else { continue }
                let counters = report["counters"] as? [String: Any] ?? [:]
                let tick = (report["stages"] as? [String: Any])?["tick_to_signal"] as? [String: Any]
                let beat = Beat(
                    at: Clock.monotonicNs(), tNs: (object["t_ns"] as? NSNumber)?.uint64Value ?? 0,
                    events: (counters["engine.events"] as? NSNumber)?.uint64Value ?? 0,
                    emitted: (counters["engine.emitted"] as? NSNumber)?.uint64Value ?? 0,
                    p99: (tick?["p99_ns"] as? NSNumber)?.uint64Value, final: object["final"] as? Bool ?? false)
                if first[shard] == nil { first[shard] = beat }
                last[shard] = beat
            }
            let now = Clock.monotonicNs()
            var rows: [(String, Double, UInt64, UInt64?, Double, Bool)] = []
            for shard in last.keys.sorted() {
                let (a, b) = (first[shard]!, last[shard]!)
                let dt = Double(b.tNs &- a.tNs) / 1e9
                let rate = dt > 0 ? Double(b.events &- a.events) / dt : 0
                rows.append((shard, rate, b.emitted, b.p99, Double(now - b.at) / 1e9, b.final))
            }
            if json {
                let items = rows.map { r in
                    "{\"shard\":\"\(r.0)\",\"events_per_s\":\(r.1),\"signals\":\(r.2),\"tick_to_signal_p99_ns\":"
                        + "\(r.3.map(String.init) ?? "null"),\"heartbeat_age_s\":\(r.4),\"ended\":\(r.5)}"
                }
                print("[" + items.joined(separator: ",") + "]")
                return
            }
            if rows.isEmpty { printError("hotpath: no heartbeat on \(subject) in \(seconds) s") }
            print("shard                events/s      signals   tick_to_signal p99   heartbeat age")
            for r in rows {
                let p99 = r.3.map { "\($0) ns" } ?? "-"
                print(
                    r.0.padding(toLength: 16, withPad: " ", startingAt: 0)
                        + String(
                            format: "%12.0f %12llu %20@ %12.1f s%@", r.1, r.2, p99 as NSString, r.4,
                            r.5 ? " (ended)" : ""))
            }
        }
    }

    /// Sends `word` on PREFIX.control and waits until the server has it.
    static func send(_ word: String, to url: String) {
        let link = connect(url)
        let subject = link.address.controlSubject
        guard link.publish(subject, Array(word.utf8)) == 0, link.flush() else { fail("\(url): could not send \(word)") }
        printError("hotpath: sent \(word) on \(subject)")
    }

    struct Kill: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Suppress signals on every shard (counted as engine.suppressed_kill_switch) until resume.")
        @Argument(help: "nats://HOST:PORT/PREFIX")
        var url: String
        func run() throws { Fleet.send("kill", to: url) }
    }

    struct Resume: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Lift a fleet kill (a kill-switch file on a host still holds its own).")
        @Argument(help: "nats://HOST:PORT/PREFIX")
        var url: String
        func run() throws { Fleet.send("resume", to: url) }
    }
}
