/// The normalised market-data event every feed produces: one 64-byte plain struct, so it
/// moves through SPSC rings as one cache line.
///
/// Prices are Int64 in 1e-9 units (DBN's fixed point; ITCH's 4-decimal prices are scaled by
/// 10^5). `Event.undefinedPrice` (Int64.max) marks no price.
@frozen
public struct Event: BitwiseCopyable, Equatable, Sendable {
    /// Exchange (matching-engine) timestamp, ns since the Unix epoch (ITCH: since midnight).
    public var tsEvent: UInt64
    /// Capture-server receive timestamp, ns since the Unix epoch (DBN ts_recv).
    public var tsRecv: UInt64
    /// Local TSC ticks when the feed thread decoded the event (0 when replaying untimed).
    public var tsLocal: UInt64
    public var orderId: UInt64
    public var price: Int64
    /// Feed sequence number (DBN sequence, ITCH message sequence).
    public var sequence: UInt64
    public var size: UInt32
    public var instrumentId: UInt32
    public var publisherId: UInt16
    /// `Event.Action` raw value (ASCII, as DBN: A C M R T F N).
    public var action: UInt8
    /// `Event.Side` raw value (ASCII: B A N).
    public var side: UInt8
    /// DBN flags (F_LAST 0x80 closes a batch; ITCH events carry F_LAST on every message).
    public var flags: UInt8
    /// Book depth for MBP updates, else 0.
    public var depth: UInt8
    public var kind: Kind
    public var reserved: UInt8

    public enum Action {
        public static let add = UInt8(ascii: "A")
        public static let cancel = UInt8(ascii: "C")
        public static let modify = UInt8(ascii: "M")
        public static let clear = UInt8(ascii: "R")
        public static let trade = UInt8(ascii: "T")
        public static let fill = UInt8(ascii: "F")
        public static let none = UInt8(ascii: "N")
        // Order-by-order actions beyond DBN's, from ITCH:
        /// Shares executed against a resting order: the book takes them off, features see a trade.
        public static let execute = UInt8(ascii: "E")
        /// The order leaves the book whatever its remaining size.
        public static let delete = UInt8(ascii: "D")
        /// The order leaves the book and the next event (`replaceAdd`) is its replacement,
        /// which rests on the same side.
        public static let replace = UInt8(ascii: "U")
        public static let replaceAdd = UInt8(ascii: "u")
        /// Price levels (kind `.level`, from `DBNEvents`): level `depth` of `side` is now
        /// `price` × `size` with `orderId` orders; an undefined price empties it.
        public static let level = UInt8(ascii: "L")
    }

    public enum Side {
        public static let bid = UInt8(ascii: "B")
        public static let ask = UInt8(ascii: "A")
        public static let none = UInt8(ascii: "N")
    }

    /// What the event describes, so consumers can route without looking at the source.
    @frozen
    public enum Kind: UInt8, BitwiseCopyable, Sendable {
        case order = 0  // order-by-order (MBO, ITCH)
        case level = 1  // aggregated top of book (MBP-1/MBP-10/BBO)
        case trade = 2  // trades schema
        case other = 3
        /// No market data: the feed started its input again (`FileReplay.loops`), so every
        /// book must be emptied before the orders it added come again.
        case restart = 4
        /// No market data: a live source lost its session and subscribed again, so every
        /// book is emptied and stale until the stream clears it (`BookStale.resubscribed`).
        case resubscribed = 5
        /// The instrument's trading status changed: `action` is `Status.halted` or
        /// `Status.trading` (ITCH `H`, DBN status records).
        case status = 6
    }

    /// `action` of a `.status` event.
    public enum Status {
        /// Halted, paused, suspended or quoting only: nothing trades.
        public static let halted = UInt8(ascii: "H")
        /// Trading (again).
        public static let trading = UInt8(ascii: "O")
    }

    public static let undefinedPrice = Int64.max

    public init() {
        tsEvent = 0; tsRecv = 0; tsLocal = 0; orderId = 0; price = Event.undefinedPrice; sequence = 0
        size = 0; instrumentId = 0; publisherId = 0; action = Action.none; side = Side.none
        flags = 0; depth = 0; kind = .other; reserved = 0
    }

    /// Whether this event closes a batch (publish the book after it).
    @inlinable public var isLast: Bool { flags & 0x80 != 0 }
}
