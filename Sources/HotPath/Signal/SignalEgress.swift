import CSupport

#if canImport(Glibc)
import Glibc
#endif

/// Sends every signal as one datagram (its 64-byte binary record) the moment the engine
/// thread makes it, through io_uring (send(2) where io_uring is refused): no output-thread
/// wake-up stands between a signal and the wire. `[output] url = "udp://ADDR:PORT"`, unicast
/// or multicast.
///
/// Measured on the engine thread: `egress`, from the signal's push to the ring to its send's
/// completion;
/// and, when every feed is live, `wire_to_signal`, from the kernel's receive stamp of the
/// packet that carried the triggering event to that completion (both CLOCK_REALTIME).
/// Counters `egress.sent` and `egress.failed`.
public final class SignalEgress: @unchecked Sendable {
    public let destination: HostPort
    /// Whether events carry kernel receive stamps (`wire_to_signal` is then measured).
    public let live: Bool
    public let usesURing: Bool
    let fd: Int32
    let tx: OpaquePointer
    let sent: Counter
    let failed: Counter
    let failures: UnsafeMutablePointer<Int32>

    /// `udp://A.B.C.D:PORT`; `interface` picks the interface multicast leaves by.
    public init(
        url: String, interface: String?, live: Bool, counters: CounterRegistry, configFile: String
    ) throws(EngineError) {
        guard url.hasPrefix("udp://") else {
            throw .config(ConfigError(file: configFile, key: "output.url", reason: "\(url): expected udp://ADDR:PORT"))
        }
        do { destination = try HostPort(String(url.dropFirst(6)), what: "address", url: url) } catch {
            throw .config(ConfigError(file: configFile, key: "output.url", reason: error.description))
        }
        self.live = live
        var failedCall: UnsafePointer<CChar>? = nil
        let fd = hp_udp_open_tx(interface, &failedCall)
        guard fd >= 0 else {
            throw .output(
                key: "output.url",
                SystemError(url, call: failedCall.map { String(cString: $0) } ?? "socket", errno: -fd))
        }
        var to = sockaddr_in()
        _ = hp_ipv4(destination.host, &to, destination.port)
        let rc = hp_udp_connect(fd, &to)
        guard rc == 0 else {
            close(fd); throw .output(key: "output.url", SystemError(url, call: "connect", errno: -rc))
        }
        var uringError: Int32 = 0
        guard let tx = hp_udp_tx_create(fd, 256, &uringError) else {
            close(fd)
            throw .output(key: "output.url", SystemError(url, call: "io_uring set-up", errno: ENOMEM))
        }
        self.fd = fd
        self.tx = tx
        usesURing = hp_udp_tx_uses_uring(tx) != 0
        let group = counters.makeGroup(thread: "egress", names: ["sent", "failed"])
        sent = group[0]
        failed = group[1]
        failures = .allocate(capacity: 1)
        failures.initialize(to: 0)
    }

    deinit {
        hp_udp_tx_destroy(tx)
        close(fd)
        failures.deallocate()
    }

    /// Sends `s`; `madeTicks` is when the engine pushed it to the signal ring.
    @inline(__always)
    func send(_ s: Signal, madeTicks: UInt64, clock: Clock, histograms: UnsafeMutablePointer<HistogramRecorder>) {
        let before = failures.pointee
        let n = withUnsafeBytes(of: s) { hp_udp_tx_send(tx, $0.baseAddress, 64, failures) }
        let done = clock.ticks()
        if failures.pointee != before || n < 0 { failed.increment(by: UInt64(max(failures.pointee - before, 1))) }
        guard n >= 0 else { return }
        sent.increment()
        histograms[Stage.egress.rawValue].record(clock.nanoseconds(ticks: done &- madeTicks))
        if live && s.tsRecv != 0 {
            let now = hp_realtime_ns()
            if now > s.tsRecv { histograms[Stage.wireToSignal.rawValue].record(now &- s.tsRecv) }
        }
    }
}
