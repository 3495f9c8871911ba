import ArgumentParser
import Foundation
import HotPath

#if canImport(Glibc)
import Glibc
#endif

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The latency harness.",
        subcommands: [
            E2E.self, Core.self, Feed.self, Model.self, Features.self, Instructions.self, UDP.self, Databento.self,
            Adaptive.self,
            Venue.self, NATS.self,
        ]
    )

    struct Adaptive: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Nanoseconds per update of the adaptive layer: online learning, HMM, drift, GARCH.",
            discussion: """
                Each figure is the best of three timed loops of --updates updates over data \
                generated at start (tools/adaptive/bench_river.py prints them beside River's, \
                hmmlearn's and arch's per-update times measured in the same run).
                """
        )

        @Option(help: "Updates per timed loop.")
        var updates = 1_000_000

        @Flag(help: "Print one JSON object.")
        var json = false

        func run() throws {
            var bench = AdaptiveBench()
            bench.updates = max(1, updates)
            let result = bench.run()
            print(json ? result.json : result.text, terminator: json ? "\n" : "")
        }
    }

    struct Core: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure the core primitives: clock read, histogram record, SPSC ring.",
            discussion: """
                The ring runs between the first and last CPU this process may use, each thread \
                pinned. Clock cost is shown beside clock_gettime measured in the same run; \
                round trips are per-operation samples in HotPath's own histogram.
                """
        )

        @Option(help: "Items pushed through the ring per throughput run.")
        var items = 20_000_000

        @Option(help: "Batch size for the batched throughput run.")
        var batch = 64

        @Option(help: "Round trips sampled.")
        var roundTrips = 200_000

        @Flag(help: "Print one JSON object.")
        var json = false

        func validate() throws {
            guard items > 0, batch > 0, batch <= 4096, roundTrips > 0 else {
                throw ValidationError("--items, --round-trips must be positive and --batch within 1...4096")
            }
        }

        func run() throws {
            var bench = CoreBench()
            bench.items = items
            bench.batch = batch
            bench.roundTrips = roundTrips
            do {
                let result = try bench.run()
                print(json ? result.json : result.text, terminator: json ? "\n" : "")
            } catch {
                fail("bench core: \(error)")
            }
        }
    }

    struct Feed: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decode (and with --book, build books from) a DBN or ITCH file held in memory, looped.",
            discussion: """
                The file is read and decompressed once; the timed loop runs on one pinned thread. \
                Prints {"records","seconds","records_per_s","ns_per_record",…}.
                """
        )

        @Argument(
            help:
                "A DBN file (.dbn or .dbn.zst) or an ITCH 5.0 input (pcap, .mold, binary; `hotpath gen itch` makes one)."
        )
        var file: String

        @Flag(help: "Also apply every event to the L3/L2 book and publish the top 10 after each F_LAST record.")
        var book = false

        @Option(help: "Times to replay the file.")
        var loops = 20

        @Option(
            help: "Capacity of the live-order table (a power of two; size it to the session's peak live orders × 2).")
        var maxOrders = 1 << 16

        @Flag(help: "Print one JSON object.")
        var json = false

        func validate() throws {
            guard loops > 0 else { throw ValidationError("--loops must be positive") }
        }

        func run() throws {
            do {
                var bench = FeedBench(file: try FeedFile.open(file))
                bench.book = book
                bench.loops = loops
                bench.config.maxOrders = maxOrders
                let r = try bench.run()
                if json {
                    print(r.json)
                } else {
                    print(
                        "\(file): \(r.records) records in \(r.seconds) s: \(Int(r.recordsPerSecond / 1e6)) M records/s, "
                            + "\((r.nsPerRecord * 100).rounded() / 100) ns/record (\(book ? "decode + book + top-10 publish" : "decode only"), cpu \(r.cpu))"
                    )
                }
            } catch {
                fail("bench feed: \(error)")
            }
        }
    }

    struct Model: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time one row per call of a model, pinned, with per-call percentiles.",
            discussion: """
                Every call is timed with ordered TSC reads (lfence; rdtsc: the end stamp waits \
                for the call's last instruction) into HotPath's histogram; the last of three \
                passes over the rows is reported. With --ref, the largest difference from the \
                reference outputs (e.g. the library's own predictions) is reported too. \
                Prints {"p50_ns","p99_ns","p999_ns","max_ns","mean_to_p99_ns","rows","calls",\
                "max_abs_diff","cpu","clock_overhead_ns","evaluator"} with --json; \
                clock_overhead_ns is the p50 of an empty timed region, included in every figure \
                (compare it with a harness's own overhead); mean_to_p99_ns is the mean of the \
                calls up to p99, finer than the TSC's steps; evaluator names the path that ran, \
                which depends on the model and on the CPU (the blocked tree walk and the \
                compare kernel need AVX-512).
                """
        )

        @Option(help: "The model file (LightGBM text, XGBoost JSON, ONNX).")
        var model: String

        @Option(help: "Rows: X.f64 or X.f32 (row-major) or CSV.")
        var input: String

        @Option(help: "Features per row.")
        var features: Int?

        @Option(name: .customLong("ref"), help: "Reference outputs (.f64/.f32, rows × outputs).")
        var reference: String?

        @Flag(help: "Print one JSON object.")
        var json = false

        func run() throws {
            do {
                let m = try ModelFile.load(path: model)
                let (rows, width) = try ModelInput.rows(path: input, features: features ?? m.features)
                guard width == m.features else {
                    fail("\(input): rows have \(width) features but \(model) expects \(m.features)", code: 2)
                }
                var bench = ModelBench(model: m, rows: rows)
                if let reference { bench.reference = try ModelInput.rows(path: reference, features: m.outputs).values }
                let r = try bench.run()
                if json {
                    print(r.json)
                } else {
                    print(
                        "\(model): p50 \(r.latency.p50) ns, p99 \(r.latency.p99) ns, p99.9 \(r.latency.p999) ns over \(r.rows) rows"
                            + (r.maxAbsDiff.map { ", max |diff| \($0)" } ?? "") + " (cpu \(r.cpu); \(r.evaluator))")
                }
            } catch {
                fail("bench model: \(error)", code: 2)
            }
        }
    }

    struct Features: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time the full feature vector per book event and trade of a feed file.",
            discussion:
                "The feed's events are decoded once. Each timed pass rebuilds the book from them on a pinned core, without the features (A) or with them (B), A and B in turn; the cost is the median over passes of B − A per feature update (a published book view or a trade), so the book's view is in cache as it is in the engine. With --config, passes A′ and C run the config's [features] vector's path without and with its features, in turn with A and B, and C − A′ is its cost. Prints {\"events\",\"features\",\"ns_per_event\",…} with --json."
        )

        @Argument(help: "A DBN MBO file or an ITCH input.")
        var file: String

        @Option(help: "Replays of the captured events.")
        var loops = 20

        @Option(
            help:
                "An engine config: also time its [features] vector (passes A′ and C, in turn with A and B), beside the fixed vector."
        )
        var config: String?

        @Flag(help: "Print one JSON object.")
        var json = false

        func run() throws {
            do {
                let configured = try config.map { try EngineConfig.load(path: $0) }
                let r = try FeatureBench.run(FeedFile.open(file), loops: loops, configured: configured)
                func ns(_ v: Double) -> Double { (v * 100).rounded() / 100 }
                var line = "\(file): \(r.events) events × \(r.features) features: \(ns(r.nsPerEvent)) ns per event"
                if r.configuredFeatures > 0 {
                    line +=
                        "; configured vector, \(r.configuredFeatures) features: \(ns(r.configuredNsPerEvent)) ns per event"
                }
                print(json ? r.json : line)
            } catch {
                fail("bench features: \(error)")
            }
        }
    }
}

extension Bench {
    struct Databento: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "databento",
            abstract: "Databento Live over loopback: records/s and receive-to-Event latency of HotPath's client.",
            discussion: """
                The gateway emulator (serve databento) sends FILE --loops times over in one \
                session from one pinned CPU; HotPath's client (the decode/book/run path) reads it \
                on another and decodes every record into an Event. Prints records/s and MB/s, \
                first record to last, and receive-to-Event percentiles (from the recv that \
                completed a record to its Event). tools/live/databento_rate.py runs this beside \
                Databento's official Python client reading the same stream.
                """
        )

        @Argument(help: "A DBN file (plain, zstd or gzip).")
        var file: String

        @Option(help: "Times the file's records are sent over.")
        var loops = 100

        @Option(help: "Bytes asked of each recv.")
        var readSize = 16 << 10

        @Flag(help: "Print one JSON object.")
        var json = false

        func run() throws {
            guard loops > 0, readSize >= 4096 else {
                throw ValidationError("--loops must be positive, --read-size ≥ 4096")
            }
            var bench = DatabentoBench()
            bench.loops = loops
            bench.readSize = readSize
            let cpus = PinnedThread.currentAffinity().cpus
            if cpus.count >= 2 { bench.serverCPU = cpus.first; bench.clientCPU = cpus.last }
            do {
                guard case let .dbn(dbn) = try FeedFile.open(file) else { fail("\(file): not a DBN file", code: 2) }
                let r = try bench.run(file: dbn)
                if json {
                    print(r.json)
                } else {
                    let l = r.receiveToEvent
                    print(
                        format(
                            "databento loopback: %d records, %.1f MB in %.3f s: %.0f records/s, %.0f MB/s; "
                                + "receive-to-Event p50 %llu ns, p99 %llu ns, max %llu ns",
                            r.records, Double(r.bytes) / 1e6, r.seconds, r.recordsPerSecond, r.megabytesPerSecond,
                            l.p50, l.p99, l.max))
                }
            } catch { fail("bench databento: \(error)") }
        }
    }

    struct Venue: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "venue",
            abstract: "A venue's WebSocket messages into Events: messages/s in memory, or receive-to-Event live.",
            discussion: """
                Given a session file (JSON lines, one venue message each, as \
                tools/live/make_VENUE_session.py writes), runs its messages --loops times through \
                the venue's adapter into VenueEvents and prints messages/s and a checksum over \
                the events; tools/bench/venue_simdjson.cpp does the same work with simdjson \
                On-Demand, and scripts/bench_venues.sh runs the two in alternation. Given a \
                wss:// URL instead (the test peer, tools/live/ws_peer.py), reads --messages \
                messages and prints the receive-to-Event percentiles: from the TLS read that \
                completed a message to the last of its events.
                """
        )

        @Argument(help: "A session file, or a wss:// URL (venue= and markets= as for book).")
        var source: String

        @Option(help: "With a session file: the venue (coinbase, kalshi, polygon).")
        var venue: String?

        @Option(help: "With a session file: the markets, comma-separated, in the adapter's order.")
        var markets: String?

        @Option(help: "With a session file: times its messages are run through.")
        var loops = 100

        @Option(help: "With a URL: messages to time.")
        var messages = 100_000

        @Flag(help: "Print one JSON object.")
        var json = false

        func run() throws {
            let r: VenueBench.Result
            do {
                if source.contains("://") {
                    guard case let .webSocket(options) = try SourceURL.parse(source) else {
                        throw ValidationError("\(source): not a wss:// URL")
                    }
                    r = try VenueBench.latency(options, messages: messages)
                } else {
                    guard let venue, let markets, loops > 0 else {
                        throw ValidationError("a session file needs --venue and --markets, and --loops > 0")
                    }
                    guard
                        case let .webSocket(options) = try SourceURL.parse(
                            "wss://bench.invalid/ws?venue=\(venue)&markets=\(markets)")
                    else { throw ValidationError("--venue \(venue): not a venue") }
                    let lines = try String(contentsOfFile: source, encoding: .utf8).split(separator: "\n").map(
                        String.init)
                    r = VenueBench.throughput(options, messages: lines, loops: loops)
                }
            } catch let error as ValidationError {
                throw error
            } catch { fail("bench venue: \(error)") }
            if json { return print(r.json) }
            var line =
                "\(r.venue): "
                + format(
                    "%d messages in %.3f s: %.0f messages/s (checksum %llu)", r.messages, r.seconds,
                    r.messagesPerSecond, r.checksum)
            if let l = r.receiveToEvent {
                line += "; \(r.tls ?? "plain") receive-to-Event "
                line += format("p50 %llu ns, p99 %llu ns, max %llu ns", l.p50, l.p99, l.max)
            }
            print(line)
        }
    }

    struct NATS: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "nats",
            abstract: "Signals through NATS beside the UDP egress, over loopback, in one run.",
            discussion: """
                Throughput: --messages 64-byte signal records published flat out, counted at a \
                subscriber (first to last arrival; the median of --rounds). Latency: \
                --latency-messages records paced at --rate, each stamped when sent, the \
                subscriber keeping arrival − send (NATS: in libnats' delivery callback; UDP: \
                when the poll returns). Rounds alternate the two transports. With --jetstream, \
                also --messages records published into a JetStream stream as the output thread \
                does with ?jetstream= (asynchronously, each with a message id), the rate counted \
                from the first publish to the last acknowledgment; the stream is deleted after. \
                Without --url a nats-server is started on a free loopback port for the run.
                """
        )

        @Option(help: "nats://HOST:PORT/PREFIX of a running server (default: start one).")
        var url: String?

        @Option(help: "Records for the throughput part.")
        var messages = 200_000

        @Option(help: "Records for the latency part.")
        var latencyMessages = 10_000

        @Option(help: "Records per second in the latency part.")
        var rate = 5_000.0

        @Option(help: "Rounds (each runs both transports).")
        var rounds = 3

        @Flag(help: "Let libnats' flusher thread batch publishes (the output thread writes each at once).")
        var batched = false

        @Flag(help: "Also the JetStream publish rate to acknowledgment (the server must run with -js).")
        var jetstream = false

        @Flag(help: "Print one JSON object.")
        var json = false

        func run() throws {
            var server: LocalNATSServer? = nil
            var target = url ?? ""
            if url == nil {
                do { server = try LocalNATSServer(jetstream: jetstream) } catch { fail("\(error) (or give --url)") }
                target = server!.url(prefix: "hpbench")
            }
            defer { withExtendedLifetime(server) {} }
            var bench = NATSBench(url: target)
            bench.messages = messages
            bench.latencyMessages = latencyMessages
            bench.rate = rate
            bench.rounds = max(1, rounds)
            bench.sendAsap = !batched
            bench.jetstream = jetstream
            let results: [NATSBench.Result]
            do { results = try bench.run() } catch { fail("\(error)") }
            func us(_ r: NATSBench.Result, _ p: Double) -> Double { Double(r.latency.value(atPercentile: p)) / 1e3 }
            if json {
                print(
                    "{"
                        + results.map { r in
                            "\"\(r.transport)\":{\"per_second\":\(r.perSecond),\"sent\":\(r.sent),\"received\":\(r.received)"
                                + (r.latency.totalCount == 0
                                    ? "}"
                                    : ",\"p50_us\":\(us(r, 50)),\"p99_us\":\(us(r, 99)),"
                                        + "\"max_us\":\(Double(r.latency.maxValue) / 1e3)}")
                        }.joined(separator: ",") + "}")
                return
            }
            for r in results {
                if r.transport == "jetstream" {
                    print(
                        "jetstream" + format("%7.0f signals/s acknowledged (%d of %d)", r.perSecond, r.received, r.sent)
                    )
                    continue
                }
                print(
                    r.transport.padding(toLength: 6, withPad: " ", startingAt: 0)
                        + format(
                            "%10.0f signals/s   latency p50 %7.1f us  p99 %7.1f us  max %8.1f us   (%d of %d received)",
                            r.perSecond,
                            us(r, 50), us(r, 99), Double(r.latency.maxValue) / 1e3, r.received, r.sent))
            }
        }
    }

    struct UDP: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "udp",
            abstract: "Receive throughput over loopback: io_uring, recvmmsg and blocking recvmsg in one run.",
            discussion: """
                A MoldUDP64 session (a `gen itch` session of --messages messages, no faults) is \
                offered at each --rates value in turn; at each rate the three receive paths run \
                one after another, each receiver busy-polling on its own pinned CPU and the \
                sender on another. A rate holds for a path when every message arrived (no gap \
                given up). Prints, per path and rate, the messages received, lost, and the \
                packets/s and messages/s received; then each path's highest rate that held.
                """
        )

        @Option(help: "Messages in the session.")
        var messages = 1_000_000

        @Option(help: "Offered rates, messages per second, comma separated.")
        var rates = "250000,500000,1000000,2000000,4000000"

        @Option(
            help: "Drain rounds: the session queued in a large socket buffer first, then received flat out (0: none).")
        var drainRounds = 5

        @Flag(help: "Print one JSON object.")
        var json = false

        func run() throws {
            let offered = rates.split(separator: ",").compactMap { Double($0) }
            guard !offered.isEmpty, offered.allSatisfy({ $0 > 0 }), messages > 0 else {
                throw ValidationError("--rates must be positive numbers and --messages positive")
            }
            var bench = UDPReceiveBench()
            bench.rates = offered
            bench.messages = messages
            let cpus = PinnedThread.currentAffinity().cpus
            if cpus.count >= 2 { bench.receiverCPU = cpus.last; bench.senderCPU = cpus.first }
            let path = "/tmp/hotpath-bench-udp-\(getpid()).itch"
            do { try ITCHGenerator().write(messages: messages, to: path) } catch { fail("\(error)") }
            defer { unlink(path) }
            let steps: [UDPReceiveBench.Step]
            do {
                steps = try bench.run(session: path) { s in
                    if !json {
                        let name = s.path.rawValue + String(repeating: " ", count: max(0, 17 - s.path.rawValue.count))
                        print(
                            name
                                + format(
                                    "offered %9.0f msg/s: received %8d, lost %7d, %9.0f pkt/s %10.0f msg/s",
                                    s.offeredPerSecond, s.messages, s.lost, s.packetsPerSecond, s.messagesPerSecond)
                                + (s.held ? "" : "  (loss)"))
                    }
                }
            } catch { fail("\(error)") }
            var drained: [UDPReceiveBench.Step] = []
            if drainRounds > 0 {
                bench.drainRounds = drainRounds
                do { drained = try bench.drain(session: path) } catch { fail("\(error)") }
            }
            let drainMedians = UDPReceiveBench.Path.allCases.map { p -> (UDPReceiveBench.Path, Double, Double, Int) in
                let rows = drained.filter { $0.path == p }
                let mps = rows.map(\.messagesPerSecond).sorted(), pps = rows.map(\.packetsPerSecond).sorted()
                return (
                    p, mps.isEmpty ? 0 : mps[mps.count / 2], pps.isEmpty ? 0 : pps[pps.count / 2],
                    rows.reduce(0) { $0 + $1.lost }
                )
            }
            let best = UDPReceiveBench.Path.allCases.map { p in
                (p, steps.filter { $0.path == p && $0.held }.max { $0.offeredPerSecond < $1.offeredPerSecond })
            }
            if json {
                let rows = steps.map {
                    "{\"path\":\"\($0.path.rawValue)\",\"offered_msgs_per_s\":\($0.offeredPerSecond),\"received\":\($0.messages),\"lost\":\($0.lost),\"packets_per_s\":\(Int($0.packetsPerSecond)),\"messages_per_s\":\(Int($0.messagesPerSecond))}"
                }
                let held = best.map {
                    "\"\($0.0.rawValue)\":\($0.1.map { String(Int($0.offeredPerSecond)) } ?? "null")"
                }
                let drains = drainMedians.map {
                    "\"\($0.0.rawValue)\":{\"messages_per_s\":\(Int($0.1)),\"packets_per_s\":\(Int($0.2)),\"lost\":\($0.3)}"
                }
                print(
                    "{\"steps\":[\(rows.joined(separator: ","))],\"highest_rate_without_loss\":{\(held.joined(separator: ","))},"
                        + "\"drain_median\":{\(drains.joined(separator: ","))},\"drain_rounds\":\(drainRounds)}")
            } else {
                for (p, s) in best {
                    print(
                        "\(p.rawValue): highest offered rate without loss "
                            + (s.map {
                                format("%.0f msg/s (%.0f pkt/s received)", $0.offeredPerSecond, $0.packetsPerSecond)
                            } ?? "none of those tried"))
                }
                if drainRounds > 0 {
                    print(
                        "drain (the session queued first, then received as fast as the path goes; median of \(drainRounds) rounds):"
                    )
                    for (p, mps, pps, lost) in drainMedians {
                        print(
                            "  \(p.rawValue): " + format("%.0f msg/s, %.0f pkt/s", mps, pps)
                                + (lost > 0 ? ", \(lost) lost (socket buffer too small)" : ""))
                    }
                }
            }
        }
    }
}
