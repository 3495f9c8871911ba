/// One trading signal: a fixed-size 64-byte plain record, so the signal ring, the binary
/// output and any transport downstream (Aeron, Kafka, multicast) carry it as bytes.
///
/// Only values that follow from the input stream are recorded (no wall-clock stamps), so a
/// replay of the same file with the same model and configuration gives the same bytes.
///
/// Binary layout (little-endian, as `[output] format = "binary"` writes it): sequence u64 @0,
/// ts_event u64 @8, ts_recv u64 @16, edge f64 @24, confidence f64 @32, mid i64 @40 and
/// spread i64 @48 (1e-9 units), instrument_id u32 @56, side u8 @60 ('B' buy, 'A' sell),
/// strength u8 @61 (0 weak, 1 medium, 2 strong), urgency u8 @62 (0 passive, 1 aggressive),
/// risk u8 @63 (0 low, 1 medium, 2 high). A test holds the offsets.
public struct Signal: BitwiseCopyable, Equatable, Sendable {
    /// 1, 2, 3, … in emission order.
    public var sequence: UInt64 = 0
    public var tsEvent: UInt64 = 0
    public var tsRecv: UInt64 = 0
    /// p_buy − p_sell.
    public var edge: Double = 0
    /// The probability of the signal's own direction (p_buy for a buy, p_sell for a sell).
    public var confidence: Double = 0
    /// Book mid and spread when the signal was made, 1e-9 price units.
    public var mid: Int64 = 0
    public var spread: Int64 = 0
    public var instrumentId: UInt32 = 0
    /// `Event.Side.bid` (B) for a buy, `Event.Side.ask` (A) for a sell.
    public var side: UInt8 = 0
    public var strength: Strength = .weak
    public var urgency: Urgency = .passive
    public var risk: RiskLevel = .high

    public init() {}

    public enum Strength: UInt8, BitwiseCopyable, Sendable, CaseIterable {
        case weak = 0, medium = 1, strong = 2
        public var name: String {
            switch self {
            case .weak: "WEAK"
            case .medium: "MEDIUM"
            case .strong: "STRONG"
            }
        }
    }

    public enum Urgency: UInt8, BitwiseCopyable, Sendable {
        case passive = 0, aggressive = 1
        public var name: String { self == .passive ? "PASSIVE" : "AGGRESSIVE" }
    }

    public enum RiskLevel: UInt8, BitwiseCopyable, Sendable {
        case low = 0, medium = 1, high = 2
        public var name: String {
            switch self {
            case .low: "LOW"
            case .medium: "MEDIUM"
            case .high: "HIGH"
            }
        }
    }

    public var sideName: String { side == Event.Side.bid ? "BUY" : "SELL" }

    public static let csvHeader =
        "sequence,ts_event,ts_recv,instrument_id,side,strength,urgency,risk,edge,confidence,mid,spread"

    /// Cold path (the output thread).
    public var csv: String {
        "\(sequence),\(tsEvent),\(tsRecv),\(instrumentId),\(sideName),\(strength.name),\(urgency.name),\(risk.name),"
            + "\(edge),\(confidence),\(DBNJSONWriter.decimal(mid)),\(DBNJSONWriter.decimal(spread))"
    }

    /// Cold path (the output thread).
    public var json: String { json(adding: []) }

    /// The JSON object with `extra` fields after the signal's own.
    public func json(adding extra: [(String, String)]) -> String {
        JSONText.object(
            [
                ("sequence", "\(sequence)"), ("ts_event", "\(tsEvent)"), ("ts_recv", "\(tsRecv)"),
                ("instrument_id", "\(instrumentId)"), ("side", JSONText.quote(sideName)),
                ("strength", JSONText.quote(strength.name)), ("urgency", JSONText.quote(urgency.name)),
                ("risk", JSONText.quote(risk.name)), ("edge", "\(edge)"), ("confidence", "\(confidence)"),
                ("mid", JSONText.quote(DBNJSONWriter.decimal(mid))),
                ("spread", JSONText.quote(DBNJSONWriter.decimal(spread))),
            ] + extra)
    }
}
