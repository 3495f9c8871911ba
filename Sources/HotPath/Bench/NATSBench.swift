import CSupport
import Foundation

/// Signals through NATS beside the UDP egress, over loopback in one run (`hotpath bench nats`):
/// - throughput: `messages` 64-byte signal records published as fast as the publisher can
///   (NATS: `hp_nats_publish_signal`, the output thread's call; UDP: one datagram each, the
///   egress's send), counted at a subscriber; the rate is the subscriber's, first to last;
/// - latency: `latencyMessages` records paced at `rate`, each carrying its send time
///   (CLOCK_MONOTONIC) in its ts_recv field; the subscriber takes the arrival time (NATS: in
///   libnats' delivery callback; UDP: when its poll returns the datagram) and keeps the
///   difference. Rounds alternate the transports' order;
/// - with `jetstream`, also `messages` records published into a JetStream stream as the output
///   thread does with `?jetstream=` (asynchronously, each with a message id, re-sent when
///   refused), the rate being the records acknowledged per second from the first publish to
///   the last acknowledgment. No latency: an acknowledgment's time is not kept per record.
public struct NATSBench {
    public var url: String
    public var messages = 200_000
    public var latencyMessages = 10_000
    public var rate = 5_000.0
    public var rounds = 3
    /// As the output thread publishes (true), or batched by libnats' flusher thread.
    public var sendAsap = true
    /// Also measure JetStream (the server must run with -js).
    public var jetstream = false

    public init(url: String) { self.url = url }

    public struct Result: Sendable {
        public var transport: String
        public var received = 0
        public var sent = 0
        public var perSecond = 0.0
        public var latency = HistogramSnapshot()
    }

    /// One result per transport, the rounds merged (throughput: the median round).
    public func run() throws -> [Result] {
        _ = hp_set_timer_slack_ns(1)
        var nats = Result(transport: "nats"), udp = Result(transport: "udp")
        var natsRates: [Double] = [], udpRates: [Double] = []
        var js = Result(transport: "jetstream")
        var jsRates: [Double] = []
        for round in 0..<rounds {
            if jetstream {
                let r = try measureJetStream(round: round)
                jsRates.append(r.perSecond)
                js.received += r.received
                js.sent += r.sent
            }
            for which in round % 2 == 0 ? ["nats", "udp"] : ["udp", "nats"] {
                if which == "nats" {
                    let r = try measureNATS()
                    natsRates.append(r.perSecond)
                    nats.received += r.received
                    nats.sent += r.sent
                    nats.latency.add(r.latency)
                } else {
                    let r = try measureUDP()
                    udpRates.append(r.perSecond)
                    udp.received += r.received
                    udp.sent += r.sent
                    udp.latency.add(r.latency)
                }
            }
        }
        nats.perSecond = natsRates.sorted()[natsRates.count / 2]
        udp.perSecond = udpRates.sorted()[udpRates.count / 2]
        guard jetstream else { return [nats, udp] }
        js.perSecond = jsRates.sorted()[jsRates.count / 2]
        return [nats, js, udp]
    }

    static func record(_ i: Int, sentNs: UInt64) -> Signal {
        var s = Signal()
        s.sequence = UInt64(i + 1)
        s.instrumentId = UInt32(i % 8)
        s.tsRecv = sentNs
        s.side = Event.Side.bid
        return s
    }

    /// Sends `count` records (paced when `rate` > 0) with `send`, collecting at `take`.
    func exchange(
        count: Int, rate: Double, send: (Signal) -> Void, take: () -> (Signal, UInt64)?, into result: inout Result
    ) {
        let start = Clock.monotonicNs()
        var firstAt: UInt64 = 0, lastAt: UInt64 = 0
        func collect() {
            while let (s, at) = take() {
                if result.received == 0 { firstAt = at }
                lastAt = at
                result.received += 1
                if rate > 0 && at > s.tsRecv { result.latency.record(at - s.tsRecv) }
            }
        }
        for i in 0..<count {
            if rate > 0 {
                // Sleep out the wait (a spinning sender would take the core the server, the
                // client's threads and the kernel share on a small host).
                let due = start + UInt64(Double(i) / rate * 1e9)
                while true {
                    collect()
                    let now = Clock.monotonicNs()
                    if now >= due { break }
                    if due - now > 30_000 { usleep(UInt32((due - now - 20_000) / 1_000)) }
                }
            }
            send(Self.record(i, sentNs: Clock.monotonicNs()))
            result.sent += 1
            if i % 64 == 0 { collect() }
        }
        let deadline = Clock.monotonicNs() + 2_000_000_000
        while result.received < count && Clock.monotonicNs() < deadline { collect() }
        if rate == 0 && lastAt > firstAt {
            result.perSecond = Double(result.received - 1) / (Double(lastAt - firstAt) / 1e9)
        }
    }

    func measureNATS() throws -> Result {
        var throughput = Result(transport: "nats"), latency = Result(transport: "nats")
        for (count, rate) in [(messages, 0.0), (latencyMessages, self.rate)] {
            let publisher = try NATSLink(url: url, bufferBytes: 64 << 20, sendAsap: sendAsap)
            let subscriber = try NATSLink(url: url)
            let prefix = publisher.address.prefix + ".bench"
            guard subscriber.subscribe(prefix + ".*") else { throw SystemError(url, call: "subscribe", errno: EIO) }
            var result = Result(transport: "nats")
            exchange(
                count: count, rate: rate,
                send: { s in
                    _ = withUnsafeBytes(of: s) {
                        hp_nats_publish_signal(publisher.handle, prefix, s.instrumentId, $0.baseAddress, 64)
                    }
                },
                take: {
                    guard let (_, bytes, at) = subscriber.next(), bytes.count == 64 else { return nil }
                    return (bytes.withUnsafeBytes { $0.loadUnaligned(as: Signal.self) }, at)
                }, into: &result)
            if rate == 0 { throughput = result } else { latency = result }
        }
        throughput.latency = latency.latency
        return throughput
    }

    func measureJetStream(round: Int) throws -> Result {
        let link = try NATSLink(url: url, bufferBytes: 64 << 20, sendAsap: sendAsap)
        let stream = "HPBENCH-\(getpid())-\(round)"
        let prefix = link.address.prefix + ".jsbench\(getpid())r\(round)"
        var error = [CChar](repeating: 0, count: 256)
        guard hp_nats_js_enable(link.handle, stream, prefix + ".*", &error, 256) == 0 else {
            throw SystemError(url, call: "jetstream (" + NATSLink.text(error) + ")", errno: EIO)
        }
        defer { hp_nats_js_delete(link.handle, stream) }
        let start = Clock.monotonicNs()
        for i in 0..<messages {
            let s = Self.record(i, sentNs: 0)
            _ = withUnsafeBytes(of: s) {
                hp_nats_js_publish_signal(link.handle, prefix, s.instrumentId, $0.baseAddress, 64, 1, s.sequence)
            }
        }
        hp_nats_js_complete(link.handle, 60_000)
        let seconds = Double(Clock.monotonicNs() - start) / 1e9
        var result = Result(transport: "jetstream")
        result.sent = messages
        result.received = Int(hp_nats_js_count(link.handle, 0) + hp_nats_js_count(link.handle, 1))
        result.perSecond = Double(result.received) / seconds
        return result
    }

    func measureUDP() throws -> Result {
        var throughput = Result(transport: "udp"), latency = Result(transport: "udp")
        for (count, rate) in [(messages, 0.0), (latencyMessages, self.rate)] {
            let port = UDPReceiveBench.freePort()
            var failed: UnsafePointer<CChar>? = nil
            let rxFD = hp_udp_open_rx("127.0.0.1", port, nil, 64 << 20, &failed)
            guard rxFD >= 0 else { throw SystemError("udp", call: "socket", errno: -rxFD) }
            var uringError: Int32 = 0
            guard let rx = hp_udp_rx_create(rxFD, Int32(HP_RX_RECVMMSG), 64, 2048, &uringError) else {
                close(rxFD)
                throw SystemError("udp", call: "receive set-up", errno: ENOMEM)
            }
            let txFD = hp_udp_open_tx(nil, &failed)
            defer { hp_udp_rx_destroy(rx); close(rxFD); close(txFD) }
            var to = sockaddr_in()
            _ = hp_ipv4("127.0.0.1", &to, port)
            var datagrams = [hp_datagram](repeating: hp_datagram(), count: 64)
            var pending: [(Signal, UInt64)] = []
            var result = Result(transport: "udp")
            exchange(
                count: count, rate: rate,
                send: { s in _ = withUnsafeBytes(of: s) { hp_udp_sendto(txFD, $0.baseAddress, 64, &to) } },
                take: {
                    if pending.isEmpty {
                        let n = hp_udp_rx_poll(rx, &datagrams, 64)
                        let at = Clock.monotonicNs()
                        for d in datagrams.prefix(Int(max(n, 0))) where d.length == 64 {
                            pending.append((UnsafeRawPointer(d.data!).loadUnaligned(as: Signal.self), at))
                        }
                        hp_udp_rx_release(rx)
                        pending.reverse()
                    }
                    return pending.popLast()
                }, into: &result)
            if rate == 0 { throughput = result } else { latency = result }
        }
        throughput.latency = latency.latency
        return throughput
    }
}
