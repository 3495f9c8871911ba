import CSupport

#if canImport(Glibc)
import Glibc
#endif

/// A MoldUDP64 feed on a UDP socket: datagrams in through io_uring (multishot recvmsg into a
/// provided-buffer ring) or non-blocking `recvmmsg`, through a `MoldSession`, out as messages
/// in sequence order, each carrying the kernel's receive time.
///
/// Made on any thread; `start()` builds the receiver on the thread that will poll it (io_uring's
/// SINGLE_ISSUER and DEFER_TASKRUN tie the ring to that thread). `poll` busy-polls: it never
/// blocks and allocates nothing. While a hole is open it also reads the re-request socket
/// (replies come back there by unicast) and sends the requests the session asks for.
public final class MoldUDP64Feed: @unchecked Sendable {
    public let options: MoldUDP64Options
    public var session: MoldSession
    /// Datagrams longer than a receive slot (cut by the kernel; counted, not decoded).
    public private(set) var truncated = 0
    let dataFD: Int32
    let requestFD: Int32
    var rerequestAddress = sockaddr_in()
    var receiver: OpaquePointer?
    let batch = 32
    let datagrams: UnsafeMutablePointer<hp_datagram>
    let reply: UnsafeMutableRawPointer
    static let slotBytes = 2048
    /// What `start()` chose, in words, for the start-up line.
    public private(set) var receivePath = "not started"

    public init(options: MoldUDP64Options) throws(SystemError) {
        self.options = options
        var failed: UnsafePointer<CChar>? = nil
        let fd = hp_udp_open_rx(
            options.address.host, options.address.port, options.interface, Int32(options.receiveBuffer), &failed)
        guard fd >= 0 else {
            throw SystemError(options.url, call: failed.map { String(cString: $0) } ?? "socket", errno: -fd)
        }
        dataFD = fd
        if let server = options.rerequest {
            let tx = hp_udp_open_tx(nil, &failed)
            guard tx >= 0 else {
                close(fd)
                throw SystemError(options.url, call: failed.map { String(cString: $0) } ?? "socket", errno: -tx)
            }
            requestFD = tx
            _ = hp_udp_bind_any(tx, 0)
            _ = hp_ipv4(server.host, &rerequestAddress, server.port)
            let flags = fcntl(tx, F_GETFL)
            _ = fcntl(tx, F_SETFL, flags | O_NONBLOCK)
        } else {
            requestFD = -1
        }
        session = MoldSession(options: options.recovery)
        datagrams = .allocate(capacity: batch)
        reply = .allocate(byteCount: MoldUDP64Feed.slotBytes, alignment: 64)
    }

    deinit {
        if let receiver { hp_udp_rx_destroy(receiver) }
        close(dataFD)
        if requestFD >= 0 { close(requestFD) }
        session.deallocate()
        datagrams.deallocate()
        reply.deallocate()
    }

    /// The session's non-zero counters and any truncated datagrams, as "name value, …" for a
    /// one-line summary (cold path).
    public var summary: String {
        var parts = session.counts.named.filter { $0.value != 0 }.map { "\($0.name) \($0.value)" }
        if truncated > 0 { parts.append("truncated \(truncated)") }
        return parts.joined(separator: ", ")
    }

    /// Builds the receiver on the calling thread. io_uring falls back to recvmmsg when the
    /// kernel (or a container's seccomp policy) refuses it; `receivePath` says which is in use.
    public func start(mode: Int32? = nil) throws(SystemError) {
        var uringError: Int32 = 0
        let wanted = mode ?? Int32(options.io == .uring ? HP_RX_URING : HP_RX_RECVMMSG)
        guard let rx = hp_udp_rx_create(dataFD, wanted, 256, Int32(MoldUDP64Feed.slotBytes), &uringError) else {
            throw SystemError(options.url, call: "receiver set-up", errno: ENOMEM)
        }
        receiver = rx
        switch hp_udp_rx_mode(rx) {
        case Int32(HP_RX_URING):
            let flags = UInt32(bitPattern: hp_udp_rx_uring_flags(rx))
            let named =
                flags & IORING_SETUP_DEFER_TASKRUN != 0
                ? "SINGLE_ISSUER|DEFER_TASKRUN"
                : flags & IORING_SETUP_COOP_TASKRUN != 0 ? "SINGLE_ISSUER|COOP_TASKRUN" : "default flags"
            receivePath = "io_uring multishot recvmsg, provided buffers, \(named)"
        case Int32(HP_RX_RECVFROM):
            receivePath = "blocking recvmsg (reference)"
        default:
            receivePath =
                uringError != 0
                ? "recvmmsg busy-poll (io_uring refused: \(SystemError.text(uringError)))" : "recvmmsg busy-poll"
        }
    }

    /// Takes whatever has arrived and delivers its new messages; sends a re-request when one
    /// is due. Returns the datagrams taken (0: nothing was waiting), or a negative errno.
    @inline(__always)
    public func poll(nowNs: UInt64, deliver: (ITCHReader.Message) -> Void) -> Int {
        let n = Int(hp_udp_rx_poll(receiver, datagrams, Int32(batch)))
        for i in 0..<max(n, 0) {
            let d = datagrams[i]
            if d.truncated != 0 { truncated &+= 1; continue }
            session.receive(d.data, length: Int(d.length), rxNs: d.rx_ns, deliver: deliver)
        }
        if n > 0 { hp_udp_rx_release(receiver) }
        if _slowPath(session.hasHole) { recover(nowNs: nowNs, deliver: deliver) }
        return n
    }

    func recover(nowNs: UInt64, deliver: (ITCHReader.Message) -> Void) {
        guard requestFD >= 0 else {
            _ = session.poll(nowNs: nowNs, canRequest: false, deliver: deliver)
            return
        }
        var from = sockaddr_in()
        for _ in 0..<batch {
            let got = hp_udp_recvfrom(requestFD, reply, MoldUDP64Feed.slotBytes, &from)
            if got <= 0 { break }
            session.receive(reply, length: got, rxNs: hp_realtime_ns(), retransmitted: true, deliver: deliver)
        }
        if session.poll(nowNs: nowNs, deliver: deliver) {
            _ = hp_udp_sendto(requestFD, session.request, 20, &rerequestAddress)
        }
    }
}

extension MoldUDP64Feed {
    /// Why `drain` returned.
    public enum End: Equatable, Sendable {
        /// End of session seen, nothing missing.
        case endOfSession
        /// Nothing arrived for the idle time.
        case idle
        case stopped
        case limit
        /// The receiver failed (errno).
        case failed(Int32)
    }

    /// Busy-polls on the calling thread (after `start()`) until end of session, `idleNs` with
    /// nothing received (0: no limit), `stop`, or `limit` messages. `idle` hears every empty
    /// poll (a flush point for a printer).
    public func drain(
        idleNs: UInt64 = 0, limit: Int? = nil, stop: () -> Bool = { false },
        idle: () -> Void = {}, deliver: (ITCHReader.Message) -> Void
    ) -> End {
        var lastNs = Clock.monotonicNs()
        var delivered = 0
        let cap = limit ?? Int.max
        var polls = 0
        while true {
            let now = Clock.monotonicNs()
            let n = poll(nowNs: now) { m in
                if delivered < cap { deliver(m) }
                delivered &+= 1
            }
            if n < 0 { return .failed(Int32(-n)) }
            if delivered >= cap { return .limit }
            if session.finished { return .endOfSession }
            if n > 0 {
                lastNs = now
            } else {
                idle()
                if idleNs > 0 && now &- lastNs >= idleNs { return .idle }
            }
            polls &+= 1
            if polls & 1023 == 0 && stop() { return .stopped }
        }
    }
}
