/// Turns class probabilities into a signal's direction, strength, urgency and risk level
/// (the ML-pipeline design; every threshold configurable):
/// - edge = p_buy − p_sell; buy when edge > 0, sell when edge < 0;
/// - strength STRONG at |edge| ≥ `strong`, MEDIUM at ≥ `medium`, else WEAK;
/// - urgency AGGRESSIVE when STRONG and the spread is at or under `aggressiveMaxSpread`,
///   else PASSIVE;
/// - risk LOW when confidence ≥ `lowRiskConfidence` and |edge| ≥ `lowRiskEdge`, MEDIUM when
///   confidence ≥ `mediumRiskConfidence` and |edge| ≥ `mediumRiskEdge`, else HIGH, where
///   confidence is the probability of the signal's own direction.
/// Models with three outputs give (p_sell, p_flat, p_buy) at the configured indices; a model
/// with one output gives p_buy, and p_sell = 1 − p_buy.
public struct SignalPolicy: Sendable, Equatable {
    public var strong = 0.3
    public var medium = 0.15
    /// Price units (for ES, 0.25 = one tick).
    public var aggressiveMaxSpread = 0.25
    public var lowRiskConfidence = 0.8
    public var lowRiskEdge = 0.4
    public var mediumRiskConfidence = 0.6
    public var mediumRiskEdge = 0.2
    /// Output indices of p_buy and p_sell in a multi-output model.
    /// The ensemble's rules (0 = off): a signal needs confidence (its side's probability) ≥
    /// `minConfidence`, and `minAgreement` members whose own buy − sell has its side's sign.
    public var minConfidence = 0.0
    public var minAgreement = 0
    public var buyOutput = 2
    public var sellOutput = 0

    public init() {}

    /// (p_buy, p_sell) from a model's outputs.
    @inlinable @inline(__always)
    public func probabilities(_ out: UnsafePointer<Double>, outputs: Int) -> (buy: Double, sell: Double) {
        outputs == 1 ? (out[0], 1 - out[0]) : (out[buyOutput], out[sellOutput])
    }

    /// Fills the decision fields of `s` (side, strength, urgency, risk, edge, confidence).
    @inlinable @inline(__always)
    public func decide(buy: Double, sell: Double, spread: Double, into s: inout Signal) {
        let edge = buy - sell
        let magnitude = abs(edge)
        s.edge = edge
        s.side = edge >= 0 ? Event.Side.bid : Event.Side.ask
        s.confidence = edge >= 0 ? buy : sell
        s.strength = magnitude >= strong ? .strong : magnitude >= medium ? .medium : .weak
        s.urgency = s.strength == .strong && spread <= aggressiveMaxSpread ? .aggressive : .passive
        s.risk =
            s.confidence >= lowRiskConfidence && magnitude >= lowRiskEdge
            ? .low
            : s.confidence >= mediumRiskConfidence && magnitude >= mediumRiskEdge ? .medium : .high
    }
}
