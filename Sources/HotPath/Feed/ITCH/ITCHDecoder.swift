/// ITCH 5.0 messages → `Event`s, on the feed thread. Hot path: fixed big-endian offsets, no
/// allocation. The instrument is the message's stock locate; prices scale from 4 implied
/// decimals to Event's 1e-9 units; the event time is the message's ns-since-midnight stamp
/// and the receive time the capture time (pcap).
///
/// Add (A, F) → add; executed (E, C) → execute; cancel (X) → cancel; delete (D) → delete;
/// replace (U) → two events, replace then replaceAdd; trade (P) and cross (Q) → trades.
/// Every message's last event carries F_LAST, so the book publishes after each message.
/// Other types yield no event (`other`); unknown types and short messages are counted.
public struct ITCHDecoder {
    public struct Counts: Equatable, Sendable {
        public var events = 0
        public var other = 0
        public var unknownType = 0
        public var short = 0
    }

    public var counts = Counts()

    public init() {}

    @inlinable @inline(__always)
    static func price4(_ p: UnsafeRawPointer, _ o: Int) -> Int64 { Int64(p.be(o, as: UInt32.self)) &* 100_000 }

    @inlinable @inline(__always)
    static func side(_ c: UInt8) -> UInt8 {
        c == UInt8(ascii: "B") ? Event.Side.bid : c == UInt8(ascii: "S") ? Event.Side.ask : Event.Side.none
    }

    /// Decodes one message into `out[0]` (and `out[1]` for a replace). Returns how many
    /// events it wrote.
    @inlinable
    public mutating func decode(_ m: ITCHReader.Message, into out: UnsafeMutablePointer<Event>) -> Int {
        let p = m.pointer
        let type = p.load(as: UInt8.self)
        let need: Int
        switch type {
        case UInt8(ascii: "A"): need = 36
        case UInt8(ascii: "F"): need = 40
        case UInt8(ascii: "E"): need = 31
        case UInt8(ascii: "C"): need = 36
        case UInt8(ascii: "X"): need = 23
        case UInt8(ascii: "D"): need = 19
        case UInt8(ascii: "U"): need = 35
        case UInt8(ascii: "P"): need = 44
        case UInt8(ascii: "Q"): need = 40
        default:
            if ITCHLayout.forType(type) == nil { counts.unknownType &+= 1 }
            else if m.length < ITCHLayout.forType(type)!.length { counts.short &+= 1 }
            else { counts.other &+= 1 }
            return 0
        }
        guard m.length >= need else { counts.short &+= 1; return 0 }
        var e = Event()
        e.instrumentId = UInt32(p.be(1, as: UInt16.self))
        e.tsEvent = UInt64(p.be(5, as: UInt16.self)) << 32 | UInt64(p.be(7, as: UInt32.self))
        e.tsRecv = m.captureNs
        e.sequence = m.sequence
        e.flags = DBNFlags.last
        e.kind = .order
        switch type {
        case UInt8(ascii: "A"), UInt8(ascii: "F"):
            e.action = Event.Action.add
            e.orderId = p.be(11)
            e.side = Self.side(p.load(fromByteOffset: 19, as: UInt8.self))
            e.size = p.be(20)
            e.price = Self.price4(p, 32)
        case UInt8(ascii: "E"):
            e.action = Event.Action.execute
            e.orderId = p.be(11)
            e.size = p.be(19)
        case UInt8(ascii: "C"):
            e.action = Event.Action.execute
            e.orderId = p.be(11)
            e.size = p.be(19)
            e.price = Self.price4(p, 32)
        case UInt8(ascii: "X"):
            e.action = Event.Action.cancel
            e.orderId = p.be(11)
            e.size = p.be(19)
        case UInt8(ascii: "D"):
            e.action = Event.Action.delete
            e.orderId = p.be(11)
        case UInt8(ascii: "U"):
            var out0 = e
            out0.action = Event.Action.replace
            out0.orderId = p.be(11)
            out0.flags = 0
            out[0] = out0
            e.action = Event.Action.replaceAdd
            e.orderId = p.be(19)
            e.size = p.be(27)
            e.price = Self.price4(p, 31)
            out[1] = e
            counts.events &+= 2
            return 2
        case UInt8(ascii: "P"):
            e.action = Event.Action.trade
            e.kind = .trade
            e.orderId = p.be(11)
            e.side = Self.side(p.load(fromByteOffset: 19, as: UInt8.self))
            e.size = p.be(20)
            e.price = Self.price4(p, 32)
        default:  // Q: cross trade
            e.action = Event.Action.trade
            e.kind = .trade
            let shares: UInt64 = p.be(11)
            e.size = UInt32(truncatingIfNeeded: min(shares, UInt64(UInt32.max)))
            e.price = Self.price4(p, 27)
        }
        out[0] = e
        counts.events &+= 1
        return 1
    }
}
