import ArgumentParser
import CSupport
import HotPath

#if canImport(Glibc)
import Glibc
#endif

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Publish a recorded feed as a live one.",
        subcommands: [MoldUDP64.self]
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
}
