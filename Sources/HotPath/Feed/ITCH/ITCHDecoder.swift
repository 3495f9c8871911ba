/// ITCH 5.0 messages → `Event`s, on the feed thread. Hot path: fixed big-endian offsets, no
/// allocation. The instrument is the message's stock locate; prices scale from 4 implied
/// decimals to Event's 1e-9 units; the event time is the message's ns-since-midnight stamp
/// and the receive time the capture time (pcap).
///
/// Add (A, F) → add; executed (E, C) → execute; cancel (X) → cancel; delete (D) → delete;
/// replace (U) → two events, replace then replaceAdd; trade (P) and cross (Q) → trades;
/// stock trading action (H) → a `.status` event, halted for H (halted), P (paused) and
/// Q (quotation only), trading for T. Every message's last event carries F_LAST, so the book
/// publishes after each message.
/// Other types yield no event (`other`); unknown types and short messages are counted.
public struct ITCHDecoder {
    public struct Counts: Equatable, Sendable {
        public var events = 0
        public var other = 0
        public var unknownType = 0
        public var short = 0
    }

    public var counts = Counts()
    /// `specs` and `sides`, resolved once so the hot path does not touch lazy globals.
    @usableFromInline let specTable: UnsafePointer<Spec>
    @usableFromInline let sideTable: UnsafePointer<UInt8>

    public init() {
        specTable = ITCHDecoder.specTablePointer
        sideTable = ITCHDecoder.sideTablePointer
    }

    nonisolated(unsafe) static let specTablePointer: UnsafePointer<Spec> = {
        let p = UnsafeMutablePointer<Spec>.allocate(capacity: 256)
        p.initialize(from: specs, count: 256)
        return UnsafePointer(p)
    }()

    nonisolated(unsafe) static let sideTablePointer: UnsafePointer<UInt8> = {
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)
        p.initialize(from: sides, count: 256)
        return UnsafePointer(p)
    }()

    /// Where each order-book message type keeps its fields, so decoding is a table lookup
    /// and unconditional loads instead of a switch over random message types (whose
    /// mispredictions cost more than the decode itself). Offsets of 0 mean "absent".
    public struct Spec: BitwiseCopyable, Sendable {
        public var need: UInt8 = 0  // minimum length; 0 = not an event
        public var action: UInt8 = 0
        public var kind: Event.Kind = .other
        public var orderOffset: UInt8 = 0
        public var sizeOffset: UInt8 = 0
        public var priceOffset: UInt8 = 0
        public var sideOffset: UInt8 = 0
    }

    public static let specs: [Spec] = {
        var t = [Spec](repeating: Spec(), count: 256)
        func set(
            _ c: Character, _ need: UInt8, _ action: UInt8, _ kind: Event.Kind, order: UInt8, size: UInt8, price: UInt8,
            side: UInt8
        ) {
            t[Int(c.asciiValue!)] = Spec(
                need: need, action: action, kind: kind, orderOffset: order, sizeOffset: size, priceOffset: price,
                sideOffset: side)
        }
        set("A", 36, Event.Action.add, .order, order: 11, size: 20, price: 32, side: 19)
        set("F", 40, Event.Action.add, .order, order: 11, size: 20, price: 32, side: 19)
        set("E", 31, Event.Action.execute, .order, order: 11, size: 19, price: 0, side: 0)
        set("C", 36, Event.Action.execute, .order, order: 11, size: 19, price: 32, side: 0)
        set("X", 23, Event.Action.cancel, .order, order: 11, size: 19, price: 0, side: 0)
        set("D", 19, Event.Action.delete, .order, order: 11, size: 0, price: 0, side: 0)
        set("U", 35, Event.Action.replaceAdd, .order, order: 19, size: 27, price: 31, side: 0)
        set("P", 44, Event.Action.trade, .trade, order: 11, size: 20, price: 32, side: 19)
        // Cross trade: shares are a u64 at 11; its low 32 bits (at 15) are the size.
        set("Q", 40, Event.Action.trade, .trade, order: 0, size: 15, price: 27, side: 0)
        return t
    }()

    /// ITCH Buy/Sell indicator byte → Event.Side.
    public static let sides: [UInt8] = {
        var t = [UInt8](repeating: Event.Side.none, count: 256)
        t[Int(UInt8(ascii: "B"))] = Event.Side.bid
        t[Int(UInt8(ascii: "S"))] = Event.Side.ask
        return t
    }()

    /// Decodes one message into `out[0]` (and `out[1]` for a replace). Returns how many
    /// events it wrote.
    @inlinable @inline(__always)
    public mutating func decode(_ m: ITCHReader.Message, into out: UnsafeMutablePointer<Event>) -> Int {
        let p = m.pointer
        let type = p.load(as: UInt8.self)
        let spec = specTable[Int(type)]
        if _slowPath(spec.need == 0 || m.length < Int(spec.need)) { return notAnOrder(m, type, into: out) }
        var e = Self.header(m)
        e.kind = spec.kind
        e.action = spec.action
        // Unconditional loads (offset 0 reads the header), masked where the field is absent.
        let order: UInt64 = p.be(Int(spec.orderOffset))
        e.orderId = spec.orderOffset != 0 ? order : 0
        let size: UInt32 = p.be(Int(spec.sizeOffset))
        e.size = spec.sizeOffset != 0 ? size : 0
        let price = Int64(p.be(Int(spec.priceOffset), as: UInt32.self)) &* 100_000
        e.price = spec.priceOffset != 0 ? price : Event.undefinedPrice
        let sideByte = p.load(fromByteOffset: Int(spec.sideOffset), as: UInt8.self)
        e.side = spec.sideOffset != 0 ? sideTable[Int(sideByte)] : Event.Side.none
        if _slowPath(type == UInt8(ascii: "U")) {
            // Replace: the original order leaves first; the replacement (above) follows it.
            var gone = e
            gone.action = Event.Action.replace
            gone.orderId = p.be(11)
            gone.size = 0
            gone.price = Event.undefinedPrice
            gone.flags = 0
            out[0] = gone
            out[1] = e
            counts.events &+= 2
            return 2
        }
        out[0] = e
        counts.events &+= 1
        return 1
    }

    /// An event with what every message carries: the stock locate as the instrument, the
    /// 6-byte ns-since-midnight stamp, the capture time, the sequence and F_LAST.
    @inlinable @inline(__always)
    static func header(_ m: ITCHReader.Message) -> Event {
        let p = m.pointer
        var e = Event()
        e.instrumentId = UInt32(p.be(1, as: UInt16.self))
        e.tsEvent = UInt64(p.be(5, as: UInt16.self)) << 32 | UInt64(p.be(7, as: UInt32.self))
        e.tsRecv = m.captureNs
        e.sequence = m.sequence
        e.flags = DBNFlags.last
        return e
    }

    /// A trading action (H) as a status event; any other message is counted and skipped.
    @usableFromInline @inline(never)
    mutating func notAnOrder(_ m: ITCHReader.Message, _ type: UInt8, into out: UnsafeMutablePointer<Event>) -> Int {
        let p = m.pointer
        guard type == UInt8(ascii: "H"), m.length >= 25 else { return countSkipped(type, m.length) }
        let state = p.load(fromByteOffset: 19, as: UInt8.self)
        let halted = state == UInt8(ascii: "H") || state == UInt8(ascii: "P") || state == UInt8(ascii: "Q")
        guard halted || state == UInt8(ascii: "T") else { return countSkipped(type, m.length) }
        var e = Self.header(m)
        e.kind = .status
        e.action = halted ? Event.Status.halted : Event.Status.trading
        out[0] = e
        counts.events &+= 1
        return 1
    }

    @usableFromInline @inline(never)
    mutating func countSkipped(_ type: UInt8, _ length: Int) -> Int {
        if let layout = ITCHLayout.forType(type) {
            if length < layout.length { counts.short &+= 1 } else { counts.other &+= 1 }
        } else {
            counts.unknownType &+= 1
        }
        return 0
    }
}
