/// DBN records → `Event`s, on the feed thread. Hot path: reads fixed offsets, no allocation.
///
/// Decodes MBO, trades, MBP-1/TBBO, MBP-10 and BBO records (the ones that move a book or
/// carry a trade), and status records that halt or resume an instrument (`.status`: halted
/// when `is_trading` is N, or, where it is not given, on the actions Halt, Pause, Suspend and
/// NotAvailableForTrading; trading when Y, or on Trading; other status records are counted
/// in `other`). Other known record types (definitions, statistics, …) are counted
/// in `other`; unknown types in `unknownType`; records shorter than their type's layout in
/// `short` — each skipped by its length, so the stream goes on.
public struct DBNDecoder {
    public struct Counts: Equatable, Sendable {
        public var decoded = 0
        public var other = 0
        public var unknownType = 0
        public var short = 0
    }

    public var counts = Counts()
    @usableFromInline let tsOutBytes: Int

    public init(metadata: DBNMetadata) {
        tsOutBytes = metadata.tsOut ? 8 : 0
    }

    /// Decodes the record at `rec` (of `length` bytes) into `event`. Returns false when the
    /// record yields no event (counted by reason).
    @inlinable @inline(__always)
    public mutating func decode(_ rec: UnsafeRawPointer, length: Int, into event: inout Event) -> Bool {
        let rtype = rec.load(fromByteOffset: 1, as: UInt8.self)
        switch rtype {
        case DBNRType.mbo:
            guard length >= 56 &+ tsOutBytes else { counts.short &+= 1; return false }
            event.orderId = rec.le(16)
            event.price = rec.le(24)
            event.size = rec.le(32)
            event.flags = rec.load(fromByteOffset: 36, as: UInt8.self)
            event.action = rec.load(fromByteOffset: 38, as: UInt8.self)
            event.side = rec.load(fromByteOffset: 39, as: UInt8.self)
            event.tsRecv = rec.le(40)
            event.sequence = UInt64(rec.le(52, as: UInt32.self))
            event.depth = 0
            event.kind = .order
        case DBNRType.mbp0, DBNRType.mbp1, DBNRType.mbp10:
            let need = rtype == DBNRType.mbp0 ? 48 : rtype == DBNRType.mbp1 ? 80 : 368
            guard length >= need &+ tsOutBytes else { counts.short &+= 1; return false }
            event.orderId = 0
            event.price = rec.le(16)
            event.size = rec.le(24)
            event.action = rec.load(fromByteOffset: 28, as: UInt8.self)
            event.side = rec.load(fromByteOffset: 29, as: UInt8.self)
            event.flags = rec.load(fromByteOffset: 30, as: UInt8.self)
            event.depth = rec.load(fromByteOffset: 31, as: UInt8.self)
            event.tsRecv = rec.le(32)
            event.sequence = UInt64(rec.le(44, as: UInt32.self))
            event.kind = rtype == DBNRType.mbp0 ? .trade : .level
        case DBNRType.bbo1s, DBNRType.bbo1m:
            guard length >= 80 &+ tsOutBytes else { counts.short &+= 1; return false }
            event.orderId = 0
            event.price = rec.le(16)
            event.size = rec.le(24)
            event.action = Event.Action.none
            event.side = rec.load(fromByteOffset: 29, as: UInt8.self)
            event.flags = rec.load(fromByteOffset: 30, as: UInt8.self)
            event.depth = 0
            event.tsRecv = rec.le(32)
            event.sequence = UInt64(rec.le(44, as: UInt32.self))
            event.kind = .level
        case DBNRType.status:
            guard length >= 40 &+ tsOutBytes else { counts.short &+= 1; return false }
            guard let halted = Self.halted(rec) else { counts.other &+= 1; return false }
            event.orderId = 0
            event.price = Event.undefinedPrice
            event.size = 0
            event.action = halted ? Event.Status.halted : Event.Status.trading
            event.side = Event.Side.none
            event.flags = DBNFlags.last
            event.depth = 0
            event.tsRecv = rec.le(16)
            event.sequence = 0
            event.kind = .status
        default:
            if DBNLayout.forRecord(rtype: rtype, version: 3) == nil {
                counts.unknownType &+= 1
            } else {
                counts.other &+= 1
            }
            return false
        }
        event.publisherId = rec.le(2)
        event.instrumentId = rec.le(4)
        event.tsEvent = rec.le(8)
        counts.decoded &+= 1
        return true
    }

    /// A status record's trading state: true halted, false trading, nil no change said.
    @usableFromInline static func halted(_ rec: UnsafeRawPointer) -> Bool? {
        switch rec.load(fromByteOffset: 30, as: UInt8.self) {
        case UInt8(ascii: "Y"): return false
        case UInt8(ascii: "N"): return true
        default:
            switch rec.le(24, as: UInt16.self) {
            case 7: return false  // Trading
            case 8, 9, 10, 15: return true  // Halt, Pause, Suspend, NotAvailableForTrading
            default: return nil
            }
        }
    }
}
