/// The wide part of a signal (`[output] wide = true`): each ensemble member's own buy and sell
/// probabilities and the instrument's regime when the signal was made, for shadow and A/B
/// analysis of the members. Fixed-size plain bytes, as `Signal` is; it travels beside the
/// signal in a ring of its own, so the 64-byte record, the ring it shares with the egress and
/// the UDP datagram stay as they are.
///
/// Binary layout (little-endian; 152 bytes after the signal's 64 in a wide binary file, 216 a
/// record): sequence u64 @0 (the signal's), regime i32 @8 (−1: none), members u32 @12, p_buy
/// f64[8] @16, p_sell f64[8] @80 (NaN past `members`), model u64 @144 (the identity of the
/// ensemble that made the signal, `EnsembleIdentity`; set by the output thread). A test holds
/// the offsets.
public struct MemberRecord: BitwiseCopyable, Sendable {
    public static let maxMembers = 8
    public var sequence: UInt64 = 0
    public var regime: Int32 = -1
    public var members: UInt32 = 0
    public var buy = SIMD8<Double>(repeating: .nan)
    public var sell = SIMD8<Double>(repeating: .nan)
    public var model: UInt64 = 0

    /// The bytes a record takes in a file (its stride may pad it).
    public static let size = 152

    public init() {}

    /// CSV columns after the signal's, for `members` members.
    public static func csvHeader(members: Int) -> String {
        (["regime"] + (0..<members).flatMap { ["m\($0)_buy", "m\($0)_sell"] }).joined(separator: ",")
    }

    /// Cold path (the output thread). `members`: the sink's column count (the record may be
    /// missing, nil: empty cells).
    public static func csv(_ r: MemberRecord?, members: Int) -> String {
        guard let r else { return "," + (0..<members * 2).map { _ in "" }.joined(separator: ",") }
        return "\(r.regime)," + (0..<members).map { "\(r.buy[$0]),\(r.sell[$0])" }.joined(separator: ",")
    }

    /// Cold path: `"regime":…,"members":[[buy,sell],…]` (null when missing).
    public static func jsonFields(_ r: MemberRecord?) -> [(String, String)] {
        guard let r else { return [("regime", "null"), ("members", "null")] }
        let m = (0..<Int(r.members)).map { "[\(r.buy[$0]),\(r.sell[$0])]" }.joined(separator: ",")
        return [("regime", "\(r.regime)"), ("members", "[\(m)]")]
    }
}
