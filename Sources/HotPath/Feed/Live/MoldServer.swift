import CSupport

#if canImport(Glibc)
import Glibc
#endif

/// Publishes an ITCH source as a MoldUDP64 session over UDP, for tests, demos and replays of
/// a capture onto a network (`hotpath serve moldudp64`).
///
/// - Messages keep their source sequence numbers (a capture's own, or 1, 2, … for a Nasdaq
///   binary file) and are packed up to `payload` bytes a packet; a jump in the source's
///   numbering ends a packet, and the missing numbers are a hole no re-request can fill.
/// - A heartbeat announces the first sequence before any data; heartbeats keep an idle
///   session alive; end of session (repeated) closes it, and re-requests are answered until
///   none has come for `lingerNs`.
/// - Loss, reordering (a packet held back and sent after the next) and duplicates are drawn
///   per data packet from `seed`, so a run can be repeated exactly. Heartbeats, end of session
///   and replies are never dropped.
/// - Re-requests arrive by unicast on `rerequestPort` and are answered from the whole source,
///   held in memory, up to `payload` bytes a reply.
public struct MoldServer: Sendable {
    public enum Pace: Equatable, Sendable {
        case max
        case rate(messagesPerSecond: Double)
        /// The source's own timing (capture time, else the ITCH timestamp), sped up by a factor.
        case recorded(speed: Double)
    }

    public struct Options: Sendable {
        public var to: HostPort
        public var interface: String?
        /// 0: no re-request server.
        public var rerequestPort: UInt16 = 0
        public var pace: Pace = .rate(messagesPerSecond: 100_000)
        public var drop = 0.0
        public var reorder = 0.0
        public var duplicate = 0.0
        public var seed: UInt64 = 1
        /// Times the source is played; later loops continue the numbering.
        public var loops = 1
        public var session: String?
        /// Requests after this many answered are ignored (a server that goes silent).
        public var rerequestStopsAfter: Int?
        public var payload = 1400
        public var heartbeatNs: UInt64 = 1_000_000_000
        public var lingerNs: UInt64 = 1_000_000_000

        public init(to: HostPort) { self.to = to }
    }

    public struct Report: Equatable, Sendable {
        public var packets = 0
        public var messages = 0
        public var droppedPackets = 0
        public var droppedMessages = 0
        public var reordered = 0
        public var duplicated = 0
        public var heartbeats = 0
        public var rerequests = 0
        public var rerequestsIgnored = 0
        public var rerequestsUnanswerable = 0
        public var messagesRetransmitted = 0
        public var sendErrors = 0

        public var named: [(name: String, value: Int)] {
            [
                ("packets", packets), ("messages", messages), ("dropped_packets", droppedPackets),
                ("dropped_messages", droppedMessages), ("reordered", reordered), ("duplicated", duplicated),
                ("heartbeats", heartbeats), ("rerequests", rerequests), ("rerequests_ignored", rerequestsIgnored),
                ("rerequests_unanswerable", rerequestsUnanswerable), ("messages_retransmitted", messagesRetransmitted),
                ("send_errors", sendErrors),
            ]
        }
    }

    public let options: Options
    let source: ITCHFile
    /// Every source message: sequence, offset in the input, length, and time (ns) for pacing.
    var sequences: [UInt64] = []
    var offsets: [Int] = []
    var lengths: [Int] = []
    var times: [UInt64] = []
    /// Index of each packet's first message, and one past the last.
    var packetStarts: [Int] = []
    let sessionName: (UInt64, UInt16)
    /// One loop's numbering span: later loops add a multiple of it to every sequence.
    let span: UInt64

    public init(source: ITCHFile, options: Options) throws(FeedError) {
        self.source = source
        self.options = options
        var reader = try source.reader()
        let base = source.input.bytes.baseAddress!
        var sequences: [UInt64] = [], offsets: [Int] = [], lengths: [Int] = [], times: [UInt64] = []
        try reader.walk { m in
            sequences.append(m.sequence)
            offsets.append(m.pointer - base)
            lengths.append(m.length)
            let itchTime =
                m.length >= 11
                ? (0..<6).reduce(UInt64(0)) { $0 << 8 | UInt64(m.pointer.load(fromByteOffset: 5 + $1, as: UInt8.self)) }
                : 0
            times.append(m.captureNs != 0 ? m.captureNs : itchTime)
            return true
        }.check(file: source.path)
        (self.sequences, self.offsets, self.lengths, self.times) = (sequences, offsets, lengths, times)
        guard !sequences.isEmpty else {
            throw FeedError(file: source.path, offset: 0, reason: "no ITCH messages to serve")
        }
        if let name = options.session {
            sessionName = MoldSession.wire(name)
        } else if reader.haveSession {
            sessionName = reader.session
        } else {
            sessionName = MoldSession.wire("HOTPATH")
        }
        span = sequences.last! - sequences.first! + 1
        var size = 20
        for i in sequences.indices {
            if i == 0 || sequences[i] != sequences[i - 1] + 1 || size + 2 + lengths[i] > options.payload {
                packetStarts.append(i)
                size = 20
            }
            size += 2 + lengths[i]
        }
        packetStarts.append(sequences.count)
    }

    /// Source messages, and the packets they make.
    public var messageCount: Int { sequences.count }
    public var packetCount: Int { packetStarts.count - 1 }

    /// Plays the session; `stop` is looked at between packets. Returns what was sent.
    public func run(stop: () -> Bool = { false }) throws(SystemError) -> Report {
        var failed: UnsafePointer<CChar>? = nil
        let fd = hp_udp_open_tx(options.interface, &failed)
        guard fd >= 0 else {
            throw SystemError(options.to.description, call: failed.map { String(cString: $0) } ?? "socket", errno: -fd)
        }
        defer { close(fd) }
        var to = sockaddr_in()
        guard hp_ipv4(options.to.host, &to, options.to.port) == 0 else {
            throw SystemError(options.to.description, call: "inet_pton", errno: EINVAL)
        }
        var requestFD: Int32 = -1
        if options.rerequestPort != 0 {
            requestFD = hp_udp_open_tx(nil, &failed)
            guard requestFD >= 0 else {
                throw SystemError("re-request port \(options.rerequestPort)", call: "socket", errno: -requestFD)
            }
            let rc = hp_udp_bind_any(requestFD, options.rerequestPort)
            guard rc == 0 else {
                close(requestFD);
                throw SystemError("re-request port \(options.rerequestPort)", call: "bind", errno: -rc)
            }
        }
        defer { if requestFD >= 0 { close(requestFD) } }

        var state = SendState(server: self, fd: fd, to: to, requestFD: requestFD)
        defer { state.deallocate() }
        let first = sequences[0]
        state.heartbeat(next: first)
        let startNs = Clock.monotonicNs()
        var sent = 0  // messages played, for the fixed rate
        outer: for loop in 0..<options.loops {
            let shift = UInt64(loop) &* span
            for p in 0..<packetCount {
                if stop() { break outer }
                let lo = packetStarts[p], hi = packetStarts[p + 1]
                state.waitUntil(
                    due(message: lo, loop: loop, played: sent, startNs: startNs), next: sequences[lo] &+ shift)
                state.build(lo, hi, shift: shift)
                state.sendData(messages: hi - lo)
                sent += hi - lo
                state.serveRequests()
            }
        }
        state.flushHeld()
        let next = sequences.last! + 1 + UInt64(options.loops - 1) &* span
        // End of session, repeated while re-requests still come.
        var lastEnd: UInt64 = 0
        while true {
            let now = Clock.monotonicNs()
            if now &- lastEnd >= 100_000_000 {
                state.endOfSession(next: next)
                lastEnd = now
            }
            if state.serveRequests() == 0 {
                if now &- state.lastRequestNs(orStart: startNs) >= options.lingerNs || stop() { break }
                var ts = timespec(tv_sec: 0, tv_nsec: 200_000)
                nanosleep(&ts, nil)
            }
        }
        return state.report
    }

    /// When the packet starting at message `i` is due (monotonic ns), or 0 for at once.
    func due(message i: Int, loop: Int, played: Int, startNs: UInt64) -> UInt64 {
        switch options.pace {
        case .max: return 0
        case let .rate(perSecond): return startNs &+ UInt64(Double(played) / perSecond * 1e9)
        case let .recorded(speed):
            let t = times[i] &- times[0]
            let loopSpan = times.last! &- times[0] &+ 1_000
            return startNs &+ UInt64(Double(t &+ UInt64(loop) &* loopSpan) / max(speed, 1e-9))
        }
    }

    /// Where the message with sequence `seq` (of any loop) is, if the source has it.
    func index(of seq: UInt64) -> (index: Int, shift: UInt64)? {
        guard seq >= sequences[0] else { return nil }
        let loop = (seq - sequences[0]) / span
        guard loop < UInt64(options.loops) else { return nil }
        let own = seq - loop * span
        var lo = 0, hi = sequences.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if sequences[mid] < own { lo = mid + 1 } else { hi = mid }
        }
        return lo < sequences.count && sequences[lo] == own ? (lo, loop * span) : nil
    }

    /// The sending side's buffers, random draws and counts.
    struct SendState {
        let server: MoldServer
        let fd: Int32
        let to: sockaddr_in
        let requestFD: Int32
        let packet: UnsafeMutableRawPointer
        let held: UnsafeMutableRawPointer
        var heldLength = 0
        var packetLength = 0
        let request: UnsafeMutableRawPointer
        let reply: UnsafeMutableRawPointer
        var random: SplitMix
        var report = Report()
        var lastSendNs: UInt64 = 0
        var lastRequest: UInt64 = 0

        init(server: MoldServer, fd: Int32, to: sockaddr_in, requestFD: Int32) {
            self.server = server
            self.fd = fd
            self.to = to
            self.requestFD = requestFD
            packet = .allocate(byteCount: 65_536, alignment: 64)
            held = .allocate(byteCount: 65_536, alignment: 64)
            request = .allocate(byteCount: 2048, alignment: 64)
            reply = .allocate(byteCount: 65_536, alignment: 64)
            random = SplitMix(seed: server.options.seed)
        }

        func deallocate() {
            packet.deallocate()
            held.deallocate()
            request.deallocate()
            reply.deallocate()
        }

        /// A uniform draw in [0, 1).
        mutating func draw() -> Double { random.uniform() }

        func header(_ p: UnsafeMutableRawPointer, seq: UInt64, count: UInt16) {
            p.storeBytes(of: server.sessionName.0, as: UInt64.self)
            p.storeBytes(of: server.sessionName.1, toByteOffset: 8, as: UInt16.self)
            p.storeBytes(of: seq.bigEndian, toByteOffset: 10, as: UInt64.self)
            p.storeBytes(of: count.bigEndian, toByteOffset: 18, as: UInt16.self)
        }

        /// Messages [lo, hi) into `packet`.
        mutating func build(_ lo: Int, _ hi: Int, shift: UInt64) {
            header(packet, seq: server.sequences[lo] &+ shift, count: UInt16(hi - lo))
            packetLength = 20 + append(into: packet + 20, lo, hi)
        }

        func append(into p: UnsafeMutableRawPointer, _ lo: Int, _ hi: Int) -> Int {
            let base = server.source.input.bytes.baseAddress!
            var at = 0
            for i in lo..<hi {
                let n = server.lengths[i]
                p.storeBytes(of: UInt16(n).bigEndian, toByteOffset: at, as: UInt16.self)
                (p + at + 2).copyMemory(from: base + server.offsets[i], byteCount: n)
                at += 2 + n
            }
            return at
        }

        mutating func send(_ p: UnsafeRawPointer, _ n: Int) {
            var address = to
            var tries = 0
            while hp_udp_sendto(fd, p, n, &address) < 0 {
                tries += 1
                if tries > 1000 { report.sendErrors += 1; return }
                hp_cpu_relax()
            }
            report.packets += 1
            lastSendNs = Clock.monotonicNs()
        }

        mutating func sendData(messages: Int) {
            let options = server.options
            if draw() < options.drop {
                report.droppedPackets += 1
                report.droppedMessages += messages
                return
            }
            let reorder = draw() < options.reorder
            let duplicate = draw() < options.duplicate
            if reorder && heldLength == 0 {
                held.copyMemory(from: packet, byteCount: packetLength)
                heldLength = packetLength
                report.reordered += 1
                report.messages += messages
                return
            }
            send(packet, packetLength)
            report.messages += messages
            if duplicate {
                send(packet, packetLength)
                report.duplicated += 1
            }
            flushHeld()
        }

        mutating func flushHeld() {
            guard heldLength > 0 else { return }
            send(held, heldLength)
            heldLength = 0
        }

        mutating func heartbeat(next: UInt64) {
            header(packet, seq: next, count: 0)
            send(packet, 20)
            report.heartbeats += 1
        }

        mutating func endOfSession(next: UInt64) {
            header(packet, seq: next, count: 0xFFFF)
            send(packet, 20)
        }

        func lastRequestNs(orStart start: UInt64) -> UInt64 { max(lastRequest, start) }

        /// Waits for `due`, answering re-requests and sending heartbeats meanwhile.
        mutating func waitUntil(_ due: UInt64, next: UInt64) {
            while true {
                let now = Clock.monotonicNs()
                if now >= due { return }
                serveRequests()
                if now &- lastSendNs >= server.options.heartbeatNs {
                    heartbeat(next: next)
                }
                if due - now > 300_000 {
                    var ts = timespec(tv_sec: 0, tv_nsec: Int(min(due - now - 200_000, 100_000_000)))
                    nanosleep(&ts, nil)
                } else {
                    hp_cpu_relax()
                }
            }
        }

        /// Answers the re-requests waiting on the request socket. Returns how many came.
        @discardableResult
        mutating func serveRequests() -> Int {
            guard requestFD >= 0 else { return 0 }
            var from = sockaddr_in()
            var served = 0
            while true {
                let n = hp_udp_recvfrom(requestFD, request, 2048, &from)
                if n < 0 { return served }
                served += 1
                lastRequest = Clock.monotonicNs()
                guard n == 20, request.loadUnaligned(as: UInt64.self) == server.sessionName.0,
                    request.loadUnaligned(fromByteOffset: 8, as: UInt16.self) == server.sessionName.1
                else {
                    report.rerequestsUnanswerable += 1
                    continue
                }
                if let limit = server.options.rerequestStopsAfter, report.rerequests >= limit {
                    report.rerequestsIgnored += 1
                    continue
                }
                report.rerequests += 1
                let first = UInt64(bigEndian: request.loadUnaligned(fromByteOffset: 10, as: UInt64.self))
                let count = Int(UInt16(bigEndian: request.loadUnaligned(fromByteOffset: 18, as: UInt16.self)))
                guard count > 0, let (start, _) = server.index(of: first) else {
                    report.rerequestsUnanswerable += 1
                    continue
                }
                var end = start + 1, size = 22 + server.lengths[start]
                while end < server.sequences.count, end - start < count,
                    server.sequences[end] == server.sequences[end - 1] + 1,
                    size + 2 + server.lengths[end] <= server.options.payload
                {
                    size += 2 + server.lengths[end]
                    end += 1
                }
                header(reply, seq: first, count: UInt16(end - start))
                let bytes = 20 + append(into: reply + 20, start, end)
                var tries = 0
                while hp_udp_sendto(requestFD, reply, bytes, &from) < 0 && tries < 1000 { tries += 1 }
                report.messagesRetransmitted += end - start
            }
        }
    }
}
