/// ITCH 5.0 messages out of an in-memory input, in any of the three framings Nasdaq data
/// comes in:
/// - `.pcap`: libpcap captures (micro- or nanosecond, either byte order) of Ethernet
///   (optionally 802.1Q-tagged) / IPv4 / UDP frames whose payloads are MoldUDP64 packets;
/// - `.mold`: MoldUDP64 packets back to back;
/// - `.binary`: Nasdaq's ITCH files, each message preceded by a big-endian u16 length.
///
/// MoldUDP64 packet: session char[10], sequence u64 (of its first message), count u16
/// (0 = heartbeat, 0xFFFF = end of session), then `count` messages each with a u16 length.
/// Sequence tracking: a packet past the expected sequence opens a gap (its missing messages
/// are counted), messages below it are duplicates (skipped and counted), heartbeats and end
/// of session are counted. Hot path: `next` walks the bytes in place, no allocation.
public struct ITCHReader {
    public enum Format: String, Sendable { case pcap, mold, binary }

    public struct Counts: Equatable, Sendable {
        public var packets = 0
        public var messages = 0
        public var heartbeats = 0
        public var endOfSession = 0
        /// Gaps opened, and the messages missing in them.
        public var gaps = 0
        public var missingMessages = 0
        public var duplicates = 0
        public var sessionChanges = 0
        /// pcap frames that are not IPv4/UDP (skipped).
        public var nonUDPFrames = 0
        /// Packets whose message count or lengths run past their end (rest of packet skipped).
        public var badPackets = 0
    }

    public struct Message {
        public var pointer: UnsafeRawPointer
        public var length: Int
        /// MoldUDP64 sequence number of the message (binary files: its 1-based index).
        public var sequence: UInt64
        /// Capture time in ns since the epoch (pcap), else 0.
        public var captureNs: UInt64
        /// Byte offset of the message in the input.
        public var offset: Int

        public init(pointer: UnsafeRawPointer, length: Int, sequence: UInt64, captureNs: UInt64, offset: Int) {
            self.pointer = pointer
            self.length = length
            self.sequence = sequence
            self.captureNs = captureNs
            self.offset = offset
        }
    }

    /// A plain enum (no payload) so the per-message return costs nothing; the details of an
    /// `.error` are in `failure`.
    public enum Step: Equatable {
        case message
        case end
        /// The input cannot be framed past `failure.offset`.
        case error
    }

    /// Where and why the input could not be framed, after `next` returned `.error`.
    public private(set) var failure: (offset: Int, reason: String) = (0, "")

    public let format: Format
    public private(set) var counts = Counts()
    public private(set) var ended = false
    var base: UnsafeRawPointer
    var end: Int
    var at = 0
    /// The input offset of `base[0]`: 0, or how far a streamed window has moved.
    var origin = 0
    // pcap
    var pcapNanos = true
    var pcapSwapped = false
    var captureNs: UInt64 = 0
    // current MoldUDP64 packet
    var packetAt = 0, packetEnd = 0, packetRemaining = 0, packetSeq: UInt64 = 0
    var expected: UInt64 = 0
    var session: (UInt64, UInt16) = (0, 0)
    var haveSession = false
    var binaryIndex: UInt64 = 0

    /// Detects the format: pcap by its magic, `.mold` by extension, else a binary ITCH file.
    public static func detect(_ bytes: UnsafeRawBufferPointer, path: String) -> Format {
        if bytes.count >= 4 {
            let m = UnsafeRawPointer(bytes.baseAddress!).loadUnaligned(as: UInt32.self)
            if [0xA1B2_C3D4, 0xD4C3_B2A1, 0xA1B2_3C4D, 0x4D3C_B2A1].contains(m) { return .pcap }
        }
        return path.hasSuffix(".mold") ? .mold : .binary
    }

    public init(bytes: UnsafeRawBufferPointer, format: Format) throws(FeedError) {
        self.format = format
        base = UnsafeRawPointer(bytes.baseAddress!)
        end = bytes.count
        if format == .pcap {
            guard end >= 24 else {
                throw FeedError(file: "", offset: 0, reason: "pcap global header truncated (\(end) bytes)")
            }
            let magic = base.loadUnaligned(as: UInt32.self)
            pcapSwapped = magic == 0xD4C3_B2A1 || magic == 0x4D3C_B2A1
            pcapNanos = magic == 0xA1B2_3C4D || magic == 0x4D3C_B2A1
            let linkType =
                pcapSwapped
                ? UInt32(bigEndian: base.loadUnaligned(fromByteOffset: 20, as: UInt32.self))
                : base.loadUnaligned(fromByteOffset: 20, as: UInt32.self)
            guard linkType == 1 else {
                throw FeedError(file: "", offset: 20, reason: "pcap link type \(linkType) is not Ethernet (1)")
            }
            at = 24
        }
    }

    func u32(_ o: Int) -> UInt32 {
        let v = base.loadUnaligned(fromByteOffset: o, as: UInt32.self)
        return pcapSwapped ? v.byteSwapped : v
    }

    /// The next message. Always inlined: from an outlined call the message came back through
    /// memory, a store-forwarding stall per message (BENCHMARKS.md, "Feeds and books").
    @inline(__always)
    public mutating func next(_ out: inout Message) -> Step {
        while true {
            if packetRemaining > 0 {
                if let step = nextInPacket(&out) { return step }
                continue
            }
            switch format {
            case .binary:
                if at >= end { return .end }
                guard at + 2 <= end else { return fail(at, "truncated length prefix") }
                let n = Int(base.be(at, as: UInt16.self))
                guard n > 0, at + 2 + n <= end else {
                    return fail(
                        at,
                        n == 0
                            ? "message length is 0"
                            : "message length \(n) runs past the end of the file (\(end - at - 2) bytes left)")
                }
                binaryIndex &+= 1
                out = Message(
                    pointer: base + at + 2, length: n, sequence: binaryIndex, captureNs: 0, offset: origin + at + 2)
                at += 2 + n
                counts.messages &+= 1
                return .message
            case .mold:
                if at >= end { return .end }
                let start = at
                guard let size = moldPacketSize(start, limit: end) else {
                    return fail(start, "MoldUDP64 packet's message count or lengths run past the end of the data")
                }
                at += size
                openPacket(start, size: size)
            case .pcap:
                if at >= end { return .end }
                guard at + 16 <= end else { return fail(at, "truncated pcap record header") }
                let sec = UInt64(u32(at)), frac = UInt64(u32(at + 4)), incl = Int(u32(at + 8))
                guard at + 16 + incl <= end else {
                    return fail(
                        at, "pcap record of \(incl) bytes runs past the end of the file (\(end - at - 16) bytes left)")
                }
                captureNs = sec &* 1_000_000_000 &+ (pcapNanos ? frac : frac &* 1000)
                let frame = at + 16
                at = frame + incl
                guard let (payload, size) = udpPayload(frame, incl) else {
                    counts.nonUDPFrames &+= 1
                    continue
                }
                guard moldPacketSize(payload, limit: payload + size) != nil else {
                    counts.badPackets &+= 1
                    continue
                }
                openPacket(payload, size: size)
            }
        }
    }

    mutating func fail(_ offset: Int, _ reason: String) -> Step {
        failure = (origin + offset, reason)
        return .error
    }

    /// Continues over a streamed window whose kept bytes moved back by `shift` (between
    /// frames only: a packet's messages are handed out before the reader asks for more).
    mutating func rebase(_ bytes: UnsafeRawBufferPointer, shift: Int) {
        assert(packetRemaining == 0, "ITCHReader: rebased inside a packet")
        base = UnsafeRawPointer(bytes.baseAddress!)
        end = bytes.count
        at -= shift
        origin += shift
    }

    /// Ethernet (+ 802.1Q tags) / IPv4 / UDP: the payload's offset and size.
    func udpPayload(_ frame: Int, _ length: Int) -> (Int, Int)? {
        var p = frame + 12
        let limit = frame + length
        guard p + 2 <= limit else { return nil }
        var etherType = base.be(p, as: UInt16.self)
        p += 2
        while etherType == 0x8100 || etherType == 0x88A8 {
            guard p + 4 <= limit else { return nil }
            etherType = base.be(p + 2, as: UInt16.self)
            p += 4
        }
        guard etherType == 0x0800, p + 20 <= limit else { return nil }
        let versionIHL = base.load(fromByteOffset: p, as: UInt8.self)
        let ihl = Int(versionIHL & 0x0F) * 4
        guard versionIHL >> 4 == 4, ihl >= 20, base.load(fromByteOffset: p + 9, as: UInt8.self) == 17 else {
            return nil
        }
        let flagsFrag = base.be(p + 6, as: UInt16.self)
        guard flagsFrag & 0x3FFF == 0 else { return nil }  // fragments are not reassembled
        let udp = p + ihl
        guard udp + 8 <= limit else { return nil }
        let udpLength = Int(base.be(udp + 4, as: UInt16.self))
        guard udpLength >= 8, udp + udpLength <= limit else { return nil }
        return (udp + 8, udpLength - 8)
    }

    /// The size of the MoldUDP64 packet at `p` if its messages fit within `limit`.
    func moldPacketSize(_ p: Int, limit: Int) -> Int? {
        guard p + 20 <= limit else { return nil }
        let count = Int(base.be(p + 18, as: UInt16.self))
        var q = p + 20
        if count == 0 || count == 0xFFFF { return 20 }
        for _ in 0..<count {
            guard q + 2 <= limit else { return nil }
            let n = Int(base.be(q, as: UInt16.self))
            guard q + 2 + n <= limit else { return nil }
            q += 2 + n
        }
        return q - p
    }

    /// Starts a packet: sequence bookkeeping, then its messages are handed out one by one.
    mutating func openPacket(_ p: Int, size: Int) {
        counts.packets &+= 1
        let s0 = base.loadUnaligned(fromByteOffset: p, as: UInt64.self)
        let s1 = base.loadUnaligned(fromByteOffset: p + 8, as: UInt16.self)
        if !haveSession || session != (s0, s1) {
            if haveSession { counts.sessionChanges &+= 1 }
            haveSession = true
            session = (s0, s1)
            expected = 0
        }
        let seq = base.be(p + 10, as: UInt64.self)
        let count = Int(base.be(p + 18, as: UInt16.self))
        if expected != 0 && seq > expected {
            counts.gaps &+= 1
            counts.missingMessages &+= Int(clamping: seq - expected)
        }
        if count == 0 {
            counts.heartbeats &+= 1
            if expected == 0 || seq > expected { expected = seq }
            return
        }
        if count == 0xFFFF {
            counts.endOfSession &+= 1
            ended = true
            return
        }
        if expected == 0 { expected = seq }
        packetSeq = seq
        packetAt = p + 20
        packetEnd = p + size
        packetRemaining = count
    }

    @inline(__always)
    mutating func nextInPacket(_ out: inout Message) -> Step? {
        let n = Int(base.be(packetAt, as: UInt16.self))
        let msg = packetAt + 2
        packetAt = msg + n
        packetRemaining -= 1
        let seq = packetSeq
        packetSeq &+= 1
        if seq < expected {
            counts.duplicates &+= 1
            return nil
        }
        expected = seq &+ 1
        counts.messages &+= 1
        out = Message(
            pointer: base + msg, length: n, sequence: seq, captureNs: format == .pcap ? captureNs : 0,
            offset: origin + msg)
        return .message
    }
}
