/// A MoldUDP64 client session (spec 1.00): downstream packets in, messages out in sequence
/// order, gaps filled by re-requests. No sockets here: the feed hands packets in and sends the
/// re-requests this asks for, so the logic is tested without a network.
///
/// - A data packet at the expected sequence is delivered at once; messages below it are
///   duplicates (counted, dropped).
/// - A packet ahead of it waits, copied, in a bounded reorder window. The hole before it is a
///   gap. After `waitNs` (a reordered packet usually arrives within microseconds) the session
///   asks for the hole: `min(hole, 0xFFFE)` messages from the first missing one. Replies are
///   ordinary packets; whatever they do not cover is asked for again at once. A request that
///   brings nothing is repeated after `timeoutNs`, doubled each time, `retries` times; then
///   the hole is given up and its messages count as lost.
/// - Heartbeats and end of session carry the next sequence number, so a loss at the tail is
///   seen too. A full window gives up the oldest hole.
/// - A new session name starts the sequence again (counted) once the current session has
///   ended or before it delivered anything; otherwise its packets are counted and skipped.
///
/// Storage is allocated at start-up; `receive` and `poll` allocate nothing.
public struct MoldSession {
    public struct Options: Equatable, Sendable {
        /// Packets held while a hole before them is open.
        public var window = 1024
        /// The largest packet the window holds.
        public var slotBytes = 2048
        /// How long a hole may stay open before it is asked for (reordering settles first).
        public var waitNs: UInt64 = 1_000_000
        /// A request's first time-out; each retry doubles it.
        public var timeoutNs: UInt64 = 250_000_000
        public var retries = 4
        /// The first sequence wanted (0: the first packet seen sets it).
        public var from: UInt64 = 0
        /// The session name to follow (up to 10 characters, space padded on the wire); other
        /// sessions' packets are counted and skipped. nil follows the first one seen.
        public var session: String?
        public init() {}
    }

    public struct Counts: Equatable, Sendable {
        public var packets = 0
        public var messages = 0
        public var gaps = 0
        public var rerequestsSent = 0
        public var messagesRecovered = 0
        public var messagesLost = 0
        public var duplicates = 0
        public var outOfOrder = 0
        public var heartbeats = 0
        public var endOfSession = 0
        public var sessionChanges = 0
        /// Packets whose counts or lengths run past their end, or that do not fit a slot.
        public var badPackets = 0
        /// Holes given up because the reorder window was full.
        public var windowOverflows = 0
        /// Packets of a session other than the one followed (named in the options, or a live
        /// one that has not ended).
        public var otherSession = 0

        /// Every counter with its report name, in report order (the one list of names).
        public var named: [(name: String, value: Int)] {
            [
                ("packets", packets), ("messages", messages), ("gaps", gaps), ("rerequests_sent", rerequestsSent),
                ("messages_recovered", messagesRecovered), ("messages_lost", messagesLost), ("duplicates", duplicates),
                ("out_of_order", outOfOrder), ("heartbeats", heartbeats), ("end_of_session", endOfSession),
                ("session_changes", sessionChanges), ("bad_packets", badPackets), ("window_overflows", windowOverflows),
                ("other_session", otherSession),
            ]
        }
    }

    public let options: Options
    public private(set) var counts = Counts()
    /// The next sequence to deliver (0: not known yet).
    public private(set) var expected: UInt64 = 0
    /// One past the highest sequence known to exist (data, heartbeats, end of session).
    public private(set) var knownEnd: UInt64 = 0
    /// Whether end of session has been seen.
    public private(set) var ended = false
    /// The session name's 10 bytes, once known.
    var session: (UInt64, UInt16) = (0, 0)
    var haveSession = false
    /// Messages delivered since the session name was taken.
    var deliveredInSession = 0
    let wantedSession: (UInt64, UInt16)?

    // The reorder window: `window` slots of `slotBytes`, with each held packet's first
    // sequence, message count and kernel receive time (count 0: free).
    let storage: UnsafeMutableRawPointer
    let slotFirst: UnsafeMutablePointer<UInt64>
    let slotCount: UnsafeMutablePointer<Int>
    let slotRx: UnsafeMutablePointer<UInt64>
    var held = 0

    // Re-request state for the hole at `expected`.
    var holeSinceNs: UInt64 = 0
    var requestedAtNs: UInt64 = 0
    var requestedFrom: UInt64 = 0
    var attempts = 0
    /// The 20-byte request `poll` built.
    public let request: UnsafeMutableRawPointer

    public init(options: Options = Options()) {
        self.options = options
        expected = options.from
        knownEnd = options.from
        wantedSession = options.session.map(MoldSession.wire)
        storage = .allocate(byteCount: options.window * options.slotBytes, alignment: 64)
        slotFirst = .allocate(capacity: options.window)
        slotCount = .allocate(capacity: options.window)
        slotCount.initialize(repeating: 0, count: options.window)
        slotRx = .allocate(capacity: options.window)
        request = .allocate(byteCount: 20, alignment: 8)
    }

    /// Frees the storage; the session must not be used afterwards.
    public func deallocate() {
        storage.deallocate()
        slotFirst.deallocate()
        slotCount.deallocate()
        slotRx.deallocate()
        request.deallocate()
    }

    /// Whether messages are missing before ones already known: books built from the session
    /// are stale until the hole closes.
    @inline(__always) public var hasHole: Bool { expected < knownEnd }

    /// End of session seen and nothing left missing.
    public var finished: Bool { ended && !hasHole }

    /// Takes one downstream packet. `retransmitted` says it came from the re-request server
    /// (its new messages count as recovered). `deliver` hears every new message in order,
    /// `captureNs` set to `rxNs`.
    @inline(__always)
    public mutating func receive(
        _ p: UnsafeRawPointer, length: Int, rxNs: UInt64, retransmitted: Bool = false,
        deliver: (ITCHReader.Message) -> Void
    ) {
        guard length >= 20 else { counts.badPackets &+= 1; return }
        let count = Int(p.be(18, as: UInt16.self))
        let seq = p.be(10, as: UInt64.self)
        guard count == 0 || count == 0xFFFF || fits(p, length: length, count: count) else {
            counts.badPackets &+= 1; return
        }
        let s0 = p.loadUnaligned(as: UInt64.self), s1 = p.loadUnaligned(fromByteOffset: 8, as: UInt16.self)
        if _slowPath(!haveSession || session != (s0, s1)) {
            // A new name takes over only from a session that ended or delivered nothing yet: a
            // stray packet of another session must not throw away the one being followed.
            if let named = wantedSession, named != (s0, s1) {
                counts.otherSession &+= 1
                return
            }
            if haveSession && !ended && deliveredInSession > 0 {
                counts.otherSession &+= 1
                return
            }
            if haveSession { startOver() }
            haveSession = true
            session = (s0, s1)
        }
        counts.packets &+= 1
        if count == 0 || count == 0xFFFF {
            if count == 0 { counts.heartbeats &+= 1 } else { counts.endOfSession &+= 1; ended = true }
            if expected == 0 { expected = seq; knownEnd = seq }
            see(end: seq)
            return
        }
        if expected == 0 { expected = seq; knownEnd = seq }
        let last = seq &+ UInt64(count)
        if !retransmitted && seq < knownEnd && last > expected { counts.outOfOrder &+= 1 }
        see(end: seq)
        if last <= expected {
            counts.duplicates &+= count
            return
        }
        knownEnd = max(knownEnd, last)
        if seq > expected && held == options.window {
            counts.windowOverflows &+= 1
            giveUp(deliver: deliver)
        }
        if seq > expected {
            hold(p, length: length, first: seq, count: count, rxNs: rxNs)
            return
        }
        deliverPacket(p, first: seq, count: count, rxNs: rxNs, recovered: retransmitted, deliver: deliver)
        if held > 0 { drain(deliver: deliver) }
    }

    /// Asks whether a re-request is due at `nowNs` (monotonic); if so, `request` holds its 20
    /// bytes and the caller sends them. Gives a hole up (and delivers what waited behind it)
    /// when its retries are spent.
    /// With no re-request server (`canRequest` false) a hole is given up once it has been open
    /// for `waitNs + timeoutNs`.
    public mutating func poll(nowNs: UInt64, canRequest: Bool = true, deliver: (ITCHReader.Message) -> Void) -> Bool {
        guard hasHole, haveSession else { holeSinceNs = 0; attempts = 0; return false }
        if holeSinceNs == 0 { holeSinceNs = nowNs }
        if !canRequest {
            if nowNs &- holeSinceNs >= options.waitNs &+ options.timeoutNs { giveUp(deliver: deliver) }
            return false
        }
        if attempts == 0 {
            guard nowNs &- holeSinceNs >= options.waitNs else { return false }
        } else if expected > requestedFrom {
            attempts = 0  // the last reply filled part of the hole: ask for the rest at once
        } else {
            let timeout = options.timeoutNs << UInt64(min(attempts - 1, 20))
            guard nowNs &- requestedAtNs >= timeout else { return false }
            if attempts > options.retries {
                giveUp(deliver: deliver)
                return false
            }
        }
        let want = min(holeEnd &- expected, 0xFFFE)
        request.storeBytes(of: session.0, as: UInt64.self)
        request.storeBytes(of: session.1, toByteOffset: 8, as: UInt16.self)
        request.storeBytes(of: expected.bigEndian, toByteOffset: 10, as: UInt64.self)
        request.storeBytes(of: UInt16(want).bigEndian, toByteOffset: 18, as: UInt16.self)
        attempts += 1
        requestedFrom = expected
        requestedAtNs = nowNs
        counts.rerequestsSent &+= 1
        return true
    }

    /// A session name as its 10 bytes on the wire (space padded).
    public static func wire(_ name: String) -> (UInt64, UInt16) {
        var bytes = Array(name.utf8.prefix(10))
        while bytes.count < 10 { bytes.append(0x20) }
        return bytes.withUnsafeBytes {
            ($0.loadUnaligned(as: UInt64.self), $0.loadUnaligned(fromByteOffset: 8, as: UInt16.self))
        }
    }

    /// The end of the hole at `expected`: the first held packet, else the known end.
    var holeEnd: UInt64 {
        var end = knownEnd
        for i in 0..<options.window where slotCount[i] > 0 { end = min(end, slotFirst[i]) }
        return end
    }

    @inline(__always)
    mutating func see(end: UInt64) {
        if end > knownEnd {
            counts.gaps &+= 1
            knownEnd = end
        }
    }

    func fits(_ p: UnsafeRawPointer, length: Int, count: Int) -> Bool {
        var at = 20
        for _ in 0..<count {
            guard at + 2 <= length else { return false }
            at += 2 + Int(p.be(at, as: UInt16.self))
            guard at <= length else { return false }
        }
        return true
    }

    @inline(__always)
    mutating func deliverPacket(
        _ p: UnsafeRawPointer, first: UInt64, count: Int, rxNs: UInt64, recovered: Bool,
        deliver: (ITCHReader.Message) -> Void
    ) {
        var at = 20
        var seq = first
        for _ in 0..<count {
            let n = Int(p.be(at, as: UInt16.self))
            if seq >= expected {
                deliver(ITCHReader.Message(pointer: p + at + 2, length: n, sequence: seq, captureNs: rxNs, offset: 0))
                expected = seq &+ 1
                counts.messages &+= 1
                deliveredInSession &+= 1
                if recovered { counts.messagesRecovered &+= 1 }
            } else {
                counts.duplicates &+= 1
            }
            at += 2 + n
            seq &+= 1
        }
    }

    /// Copies a packet ahead of `expected` into a free slot of the window.
    mutating func hold(_ p: UnsafeRawPointer, length: Int, first: UInt64, count: Int, rxNs: UInt64) {
        guard length <= options.slotBytes else { counts.badPackets &+= 1; return }
        for i in 0..<options.window where slotCount[i] > 0 && slotFirst[i] == first {
            counts.duplicates &+= count
            return
        }
        for i in 0..<options.window where slotCount[i] == 0 {
            (storage + i * options.slotBytes).copyMemory(from: p, byteCount: length)
            slotFirst[i] = first
            slotCount[i] = count
            slotRx[i] = rxNs
            held += 1
            return
        }
    }

    /// Delivers held packets that now start at or before `expected`, oldest first.
    mutating func drain(deliver: (ITCHReader.Message) -> Void) {
        var progressed = true
        while progressed && held > 0 {
            progressed = false
            for i in 0..<options.window where slotCount[i] > 0 && slotFirst[i] <= expected {
                let p = UnsafeRawPointer(storage + i * options.slotBytes)
                deliverPacket(
                    p, first: slotFirst[i], count: slotCount[i], rxNs: slotRx[i], recovered: false, deliver: deliver)
                slotCount[i] = 0
                held -= 1
                progressed = true
            }
        }
    }

    /// Counts the hole at `expected` as lost and moves past it.
    mutating func giveUp(deliver: (ITCHReader.Message) -> Void) {
        let end = holeEnd
        counts.messagesLost &+= Int(clamping: end &- expected)
        expected = end
        attempts = 0
        holeSinceNs = 0
        drain(deliver: deliver)
    }

    mutating func startOver() {
        counts.sessionChanges &+= 1
        deliveredInSession = 0
        for i in 0..<options.window { slotCount[i] = 0 }
        held = 0
        expected = 0
        knownEnd = 0
        ended = false
        attempts = 0
        holeSinceNs = 0
    }
}
