import ArgumentParser
import CSupport
import HotPath

#if canImport(Glibc)
import Glibc
#endif

struct Listen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the signals an engine sends to udp://ADDR:PORT or over NATS.",
        discussion: """
            Each datagram is one signal's 64-byte record ([output] url in the engine's \
            configuration; the layout is the binary signal format). Prints CSV with a header \
            (the file sink's columns), or JSON lines with --json, until --count signals, \
            --idle-timeout or Ctrl-C; then, on stderr, how many came and the gaps in their \
            sequence numbers. A multicast ADDR is joined on --interface. With \
            nats://HOST:PORT/PREFIX, the signals of every shard (subjects \
            PREFIX.<shard>.<instrument>), gaps counted per shard. With \
            nats://HOST:PORT/PREFIX?jetstream=NAME, the durable log instead: every signal kept \
            in the streams NAME-<shard>, stream by stream, then the count of each run's \
            missing and repeated sequences (JSON lines also name the shard and the run).
            """
    )

    @Argument(help: "udp://ADDR:PORT or nats://HOST:PORT/PREFIX[?jetstream=NAME] to listen on.")
    var url: String

    @Option(help: "The address of the interface to join a multicast group on.")
    var interface: String?

    @Flag(help: "JSON lines instead of CSV.")
    var json = false

    @Flag(help: "CSV (the default).")
    var csv = false

    @Option(help: "Stop after this many signals.")
    var count: Int?

    @Option(help: "Stop when nothing has arrived for this many seconds.")
    var idleTimeout: Double?

    func run() throws {
        if url.hasPrefix("nats://") { return listenNATS() }
        guard url.hasPrefix("udp://") else { fail("\(url): expected udp://ADDR:PORT or nats://HOST:PORT/PREFIX") }
        let (fd, rx) = openUDPReceiver(url, interface: interface)
        defer { hp_udp_rx_destroy(rx); close(fd) }
        hp_install_stop_handlers()
        var out = BufferedWriter(fd: 1)
        if !json { out.line(Signal.csvHeader) }
        out.flush()
        var received = 0, gaps = 0, missing: UInt64 = 0, wrongSize = 0
        var last: UInt64 = 0
        var quietSince = Clock.monotonicNs()
        let datagram = UnsafeMutablePointer<hp_datagram>.allocate(capacity: 1)
        defer { datagram.deallocate() }
        while hp_stop_signal() == 0 && received < (count ?? Int.max) {
            let n = hp_udp_rx_poll(rx, datagram, 1)
            if n < 0 { fail("\(SystemError(url, call: "recvmsg", errno: -n))") }
            if n == 0 {
                out.flush()
                if let idleTimeout, Double(Clock.monotonicNs() - quietSince) / 1e9 >= idleTimeout { break }
                continue
            }
            quietSince = Clock.monotonicNs()
            guard datagram.pointee.length == 64 else { wrongSize += 1; continue }
            let s = UnsafeRawPointer(datagram.pointee.data).loadUnaligned(as: Signal.self)
            if last != 0 && s.sequence > last + 1 {
                gaps += 1
                missing += s.sequence - last - 1
            }
            last = max(last, s.sequence)
            received += 1
            out.line(json ? s.json : s.csv)
        }
        out.flush()
        var summary = "hotpath: \(url): \(received) signal(s), \(gaps) sequence gap(s), \(missing) missing"
        if wrongSize > 0 { summary += ", \(wrongSize) datagram(s) not 64 bytes skipped" }
        printError(summary)
    }

    /// The signals of every shard on a NATS server.
    func listenNATS() {
        let link: NATSLink
        do { link = try NATSLink(url: url) } catch { fail("\(error)") }
        if let name = link.address.jetstream { return readJetStream(link, name: name) }
        let prefix = link.address.prefix
        guard link.subscribe(prefix + ".>") else { fail("\(url): cannot subscribe to \(prefix).>") }
        hp_install_stop_handlers()
        var out = BufferedWriter(fd: 1)
        if !json { out.line(Signal.csvHeader) }
        out.flush()
        var received = 0, gaps = 0, missing: UInt64 = 0, other = 0
        var last: [String: UInt64] = [:]
        var quietSince = Clock.monotonicNs()
        while hp_stop_signal() == 0 && received < (count ?? Int.max) {
            guard let (subject, bytes, _) = link.next() else {
                out.flush()
                if let idleTimeout, Double(Clock.monotonicNs() - quietSince) / 1e9 >= idleTimeout { break }
                usleep(1_000)
                continue
            }
            quietSince = Clock.monotonicNs()
            let tokens = subject.dropFirst(prefix.count + 1).split(separator: ".")
            guard tokens.count == 2, tokens[0] != "health", bytes.count == 64 else {
                if tokens.first != "health" && subject != link.address.controlSubject { other += 1 }
                continue
            }
            let s = bytes.withUnsafeBytes { $0.loadUnaligned(as: Signal.self) }
            let shard = String(tokens[0])
            if let l = last[shard], s.sequence > l + 1 {
                gaps += 1
                missing += s.sequence - l - 1
            }
            last[shard] = max(last[shard] ?? 0, s.sequence)
            received += 1
            out.line(json ? s.json(adding: [("shard", JSONText.quote(shard))]) : s.csv)
        }
        out.flush()
        var summary =
            "hotpath: \(url): \(received) signal(s) from \(last.count) shard(s), \(gaps) sequence gap(s), \(missing) missing"
        if other > 0 { summary += ", \(other) message(s) that are not signals skipped" }
        if link.droppedMessages > 0 { summary += ", \(link.droppedMessages) dropped by a full queue" }
        printError(summary)
    }

    /// The signals kept in JetStream, then per shard and run what is missing from 1 to the
    /// run's highest sequence, and what is there twice.
    func readJetStream(_ link: NATSLink, name: String) {
        var out = BufferedWriter(fd: 1)
        if !json { out.line(Signal.csvHeader) }
        var received = 0
        var runs: [String: [UInt64]] = [:]  // "shard run" → sequences
        let streams: Int
        do {
            streams = try link.forEachStoredSignal(name: name) { shard, run, s in
                runs[shard + " " + run, default: []].append(s.sequence)
                received += 1
                out.line(
                    json ? s.json(adding: [("shard", JSONText.quote(shard)), ("run", JSONText.quote(run))]) : s.csv)
                return received < (count ?? Int.max)
            }
        } catch { fail("\(url): \(error)") }
        out.flush()
        var missing: UInt64 = 0, repeated = 0
        for sequences in runs.values {
            let distinct = Set(sequences).count
            repeated += sequences.count - distinct
            missing += (sequences.max() ?? 0) - UInt64(distinct)
        }
        printError(
            "hotpath: \(url): \(received) signal(s) in \(streams) stream(s), \(runs.count) run(s), "
                + "\(missing) missing, \(repeated) repeated")
    }
}

/// A blocking receiver (100 ms per poll) bound to `url` (udp://ADDR:PORT), or exit 1 naming
/// why. For the CLI's own listeners.
func openUDPReceiver(_ url: String, interface: String? = nil) -> (Int32, OpaquePointer) {
    let address = udpAddress(url)
    var failed: UnsafePointer<CChar>? = nil
    let fd = hp_udp_open_rx(address.host, address.port, interface, 4 << 20, &failed)
    guard fd >= 0 else { fail("\(SystemError(url, call: failed.map { String(cString: $0) } ?? "socket", errno: -fd))") }
    var uringError: Int32 = 0
    guard let rx = hp_udp_rx_create(fd, Int32(HP_RX_RECVFROM), 1, 2048, &uringError) else { fail("\(url): no memory") }
    return (fd, rx)
}

/// udp://ADDR:PORT's address, or exit 1 naming why.
func udpAddress(_ url: String) -> HostPort {
    guard url.hasPrefix("udp://") else { fail("\(url): expected udp://ADDR:PORT") }
    do { return try HostPort(String(url.dropFirst(6)), what: "address", url: url) } catch { fail("\(error)") }
}
