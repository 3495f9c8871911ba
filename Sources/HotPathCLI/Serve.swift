import ArgumentParser
import CSupport
import HotPath

#if canImport(Glibc)
import Glibc
#endif

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Publish a recorded feed as a live one.",
        subcommands: [MoldUDP64.self, Databento.self]
    )

    struct MoldUDP64: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "moldudp64",
            abstract: "Publish an ITCH source as a MoldUDP64 session over UDP, with a re-request server.",
            discussion: """
                SOURCE is any ITCH input `decode` reads: a pcap of MoldUDP64, a .mold stream, a \
                Nasdaq binary file or `gen itch` output. Messages keep their sequence numbers \
                and are packed up to 1,400 bytes a packet. A heartbeat announces the first \
                sequence, heartbeats keep an idle session alive, and end of session closes it; \
                re-requests (20-byte MoldUDP64 requests on --rerequest-port) are answered \
                until none has come for a second after the end.

                --drop, --reorder and --duplicate inject faults per data packet from --seed, so \
                a run repeats exactly; the report on stderr says what was dropped. Start the \
                receiver first: it takes the first sequence from the opening heartbeat.

                Example: hotpath serve moldudp64 day.itch --to 127.0.0.1:31000 \
                --rerequest-port 31001 --drop 0.01
                """
        )

        @Argument(help: "The ITCH source file.")
        var source: String

        @Option(help: "Where to send: a multicast group or a unicast address, as A.B.C.D:PORT.")
        var to: String

        @Option(help: "The address of the interface multicast leaves by.")
        var interface: String?

        @Option(help: "The UDP port re-requests are answered on (0: none).")
        var rerequestPort: UInt16 = 0

        @Option(help: "Messages per second (open loop).")
        var rate: Double?

        @Option(help: "recorded (the source's own timing) or max (as fast as the socket takes them).")
        var pace: String?

        @Option(help: "Speed factor for --pace recorded.")
        var speed = 1.0

        @Option(help: "Probability that a data packet is dropped.")
        var drop = 0.0

        @Option(help: "Probability that a data packet is held back and sent after the next.")
        var reorder = 0.0

        @Option(help: "Probability that a data packet is sent twice.")
        var duplicate = 0.0

        @Option(help: "Seed of the fault draws.")
        var seed: UInt64 = 1

        @Option(help: "Times to play the source; later loops continue the numbering.")
        var loops = 1

        @Option(help: "The session name (up to 10 characters); default: the source's, else HOTPATH.")
        var session: String?

        @Option(help: "Ignore re-requests after answering this many (a server that goes silent).")
        var rerequestStopsAfter: Int?

        @Option(help: "Seconds to keep answering re-requests after the last one, once the session has ended.")
        var linger = 1.0

        @Flag(help: "Print the report as JSON on stdout.")
        var json = false

        func run() throws {
            let destination: HostPort
            do { destination = try HostPort(to, what: "--to", url: "serve") } catch { fail("\(error)") }
            var options = MoldServer.Options(to: destination)
            options.interface = interface
            options.rerequestPort = rerequestPort
            switch (rate, pace) {
            case (let r?, nil):
                guard r > 0 else { throw ValidationError("--rate must be positive") }
                options.pace = .rate(messagesPerSecond: r)
            case (nil, "max"?): options.pace = .max
            case (nil, "recorded"?): options.pace = .recorded(speed: speed)
            case (nil, nil): break
            default: throw ValidationError("give --rate N, or --pace recorded|max, not both")
            }
            for (name, p) in [("--drop", drop), ("--reorder", reorder), ("--duplicate", duplicate)]
            where !(0...1).contains(p) {
                throw ValidationError("\(name) must be a probability from 0 to 1")
            }
            guard loops >= 1 else { throw ValidationError("--loops must be at least 1") }
            if let session, !(1...10).contains(session.utf8.count) {
                throw ValidationError("--session must be 1 to 10 characters")
            }
            options.drop = drop
            options.reorder = reorder
            options.duplicate = duplicate
            options.seed = seed
            options.loops = loops
            options.session = session
            options.rerequestStopsAfter = rerequestStopsAfter
            options.lingerNs = UInt64(max(linger, 0) * 1e9)
            let server: MoldServer
            do {
                guard case let .itch(itch) = try FeedFile.open(source) else {
                    fail("\(source): a DBN file cannot be served as MoldUDP64 (ITCH sources only)")
                }
                server = try MoldServer(source: itch, options: options)
            } catch { fail("\(error)") }
            hp_install_stop_handlers()
            printError(
                "hotpath: serving \(source) (\(server.messageCount) messages, \(server.packetCount) packets) to \(destination)"
                    + (rerequestPort != 0 ? ", re-requests on port \(rerequestPort)" : ""))
            let report: MoldServer.Report
            do { report = try server.run(stop: { hp_stop_signal() != 0 }) } catch { fail("\(error)") }
            let fields = report.named
            if json {
                print("{" + fields.map { "\"\($0.name)\":\($0.value)" }.joined(separator: ",") + "}")
            } else {
                printError(
                    "hotpath: served "
                        + fields.filter { $0.value != 0 }.map { "\($0.name) \($0.value)" }.joined(separator: ", "))
            }
        }
    }

    struct Databento: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "databento",
            abstract: "Emulate Databento's Live gateway over TCP, serving DBN files.",
            discussion: """
                Speaks the Live protocol: a greeting and a challenge (CRAM), the client's \
                SHA-256 answer checked against --key, subscriptions by schema and symbols \
                (ALL_SYMBOLS, or raw symbols by the file's mappings), then the first FILE of \
                that schema: its metadata, its records, and heartbeats (SystemMsg) while idle. \
                Connections are served one at a time on 127.0.0.1. The key is never printed.

                Example: hotpath serve databento day.mbo.dbn.zst --port 13000 --key-file key.txt, \
                then hotpath decode 'databento://127.0.0.1:13000?dataset=GLBX.MDP3&schema=mbo&symbols=ALL_SYMBOLS'
                """
        )

        @Argument(help: "DBN files (plain, zstd or gzip).")
        var files: [String]

        @Option(help: "TCP port on 127.0.0.1 (0: any; the port is printed on stderr).")
        var port: UInt16 = 13_000

        @Option(help: "The API key clients must answer for (prefer --key-file: a command line is visible to others).")
        var key: String?

        @Option(help: "A file whose first line is the API key.")
        var keyFile: String?

        @Option(help: "The dataset clients must ask for (default: any).")
        var dataset: String?

        @Option(help: "Heartbeat interval in seconds (default: the client's heartbeat_interval_s).")
        var heartbeat: Double?

        @Option(help: "Close the first session after this many records (fault injection: the client reconnects).")
        var disconnectAfter: Int?

        @Option(
            help:
                "Break the first session where --disconnect-after would cut it (else at once): stall (half a record, then silence), garbage (no DBN record) or huge-length (metadata claiming 4 GiB)."
        )
        var fault: String?

        @Option(help: "Stop after this many sessions (0: serve until interrupted).")
        var sessions = 0

        @Option(help: "Send the records this many times over (benchmarks: a long stream from a short file).")
        var loops = 1

        @Option(help: "max (as fast as the socket takes them) or recorded (at the records' recorded pace).")
        var pace = "max"

        @Option(help: "Speed factor for --pace recorded.")
        var speed = 1.0

        func run() throws {
            var o = DatabentoServer.Options()
            o.port = port
            if let keyFile {
                guard let key = DatabentoOptions.readKey(file: keyFile) else {
                    fail("--key-file \(keyFile): cannot be read or holds no key", code: 2)
                }
                o.key = key
            } else if let key {
                o.key = key
            } else {
                fail("serve databento: give --key or --key-file", code: 2)
            }
            o.dataset = dataset
            o.heartbeatSeconds = heartbeat.map { max($0, 0.01) }
            o.disconnectAfter = disconnectAfter
            if let fault {
                guard let f = DatabentoServer.Fault(rawValue: fault) else {
                    fail("--fault \(fault): expected stall, garbage or huge-length", code: 2)
                }
                o.fault = f
            }
            o.sessions = max(sessions, 0)
            o.loops = max(loops, 1)
            switch pace {
            case "max": o.recordedSpeed = nil
            case "recorded":
                guard speed > 0 else { fail("--speed must be positive", code: 2) }
                o.recordedSpeed = speed
            default: fail("--pace \(pace): expected max or recorded", code: 2)
            }
            var dbn: [DBNFile] = []
            for path in files {
                do {
                    guard case let .dbn(file) = try FeedFile.open(path) else {
                        fail("\(path): not a DBN file", code: 2)
                    }
                    dbn.append(file)
                } catch { fail("\(error)", code: 2) }
            }
            let server: DatabentoServer
            do { server = try DatabentoServer(files: dbn, options: o) } catch { fail("\(error)", code: 2) }
            printError("hotpath: serve databento: listening on 127.0.0.1:\(server.port)")
            hp_install_stop_handlers()
            server.run(stop: { hp_stop_signal() != 0 })
            printError("hotpath: serve databento: \(server.served) sessions served, \(server.refused) refused")
        }
    }
}
