import ArgumentParser
import CSupport
import HotPath

#if canImport(Glibc)
import Glibc
#endif

struct FillsSim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fills-sim",
        abstract: "Turn an engine's signals into fills for its [fills] url: a stand-in broker for tests and demos.",
        discussion: """
            Receives the 64-byte signal datagrams on udp://ADDR:PORT (the engine's [output] \
            url), fills a share --ratio of them, spread evenly and the same on every run, and \
            sends each fill as a 32-byte record (the fill format in README) to --to (the \
            engine's [fills] url): --lots lots at the signal's mid, the signal's sequence as its \
            tag. Runs until --count signals, --idle-timeout or Ctrl-C; then prints, on stderr, \
            the signals seen and the fills sent.
            """
    )

    @Argument(help: "udp://ADDR:PORT to receive signals on.")
    var url: String

    @Option(help: "udp://ADDR:PORT to send fills to (the engine's [fills] url).")
    var to: String

    @Option(help: "The share of signals that fill, 0…1.")
    var ratio: Double = 0.5

    @Option(help: "Lots per fill (the engine's [risk] order_size).")
    var lots: Int = 1

    @Option(help: "Stop after this many signals.")
    var count: Int?

    @Option(help: "Stop when nothing has arrived for this many seconds.")
    var idleTimeout: Double?

    func run() throws {
        guard (0...1).contains(ratio) else { fail("--ratio \(ratio): a share between 0 and 1") }
        guard lots > 0 else { fail("--lots \(lots): at least 1") }
        let (fd, rx) = openUDPReceiver(url)
        let destination = udpAddress(to)
        var failed: UnsafePointer<CChar>? = nil
        let tx = hp_udp_open_tx(nil, &failed)
        guard tx >= 0 else { fail("\(SystemError(to, call: "socket", errno: -tx))") }
        defer { hp_udp_rx_destroy(rx); close(fd); close(tx) }
        var target = sockaddr_in()
        _ = hp_ipv4(destination.host, &target, destination.port)
        hp_install_stop_handlers()
        var fills = FillRatio(ratio)
        var signals = 0, sent = 0, sendFailures = 0
        var quietSince = Clock.monotonicNs()
        var datagram = hp_datagram()
        while hp_stop_signal() == 0 && signals < (count ?? Int.max) {
            let n = hp_udp_rx_poll(rx, &datagram, 1)
            if n < 0 { fail("\(SystemError(url, call: "recvmsg", errno: -n))") }
            if n == 0 {
                if let idleTimeout, Double(Clock.monotonicNs() - quietSince) / 1e9 >= idleTimeout { break }
                continue
            }
            quietSince = Clock.monotonicNs()
            guard datagram.length == 64, let data = datagram.data else { continue }
            let s = UnsafeRawPointer(data).loadUnaligned(as: Signal.self)
            signals += 1
            guard let f = fills.fill(for: s, lots: Int64(lots)) else { continue }
            let rc = withUnsafeBytes(of: f) { hp_udp_sendto(tx, $0.baseAddress, $0.count, &target) }
            if rc < 0 { sendFailures += 1 } else { sent += 1 }
        }
        printError(
            "hotpath: fills-sim: \(signals) signal(s) from \(url), \(sent) fill(s) sent to \(to)"
                + (sendFailures > 0 ? ", \(sendFailures) send(s) failed" : ""))
    }
}
