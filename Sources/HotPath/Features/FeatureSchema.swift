/// The named, ordered features a model consumes, checked against the model when it loads:
/// a mismatch is a clear error before anything starts. Names a model file does not record
/// (ONNX, XGBoost without feature_names) are checked by count only; LightGBM's placeholder
/// names (Column_0, Column_1, …, written when trained without names) too.
public struct FeatureSchema: Sendable, Equatable {
    public var names: [String]

    public init(names: [String]) { self.names = names }

    /// The microstructure vector, in its fixed order.
    public static let microstructure = FeatureSchema(names: MicrostructureFeatures.names)

    public func check(_ model: Model, file: String) throws(ModelError) {
        if let steps = model.windowSteps(rowWidth: names.count) {
            guard model.features == steps * names.count else {  // a window of rows, as the engine keeps
                throw ModelError(
                    file: file, place: "", reason: "a window of \(steps) rows of \(names.count) features expected")
            }
            return
        }
        guard model.features == names.count else {
            throw ModelError(
                file: file, place: "",
                reason: "the model takes \(model.features) features but the schema has \(names.count)")
        }
        guard let recorded = model.featureNames, !Self.isPlaceholder(recorded) else { return }
        guard recorded.count == names.count else {
            throw ModelError(
                file: file, place: "feature_names", reason: "\(recorded.count) names for \(names.count) schema features"
            )
        }
        for (i, (a, b)) in zip(recorded, names).enumerated() where a != b {
            throw ModelError(
                file: file, place: "feature_names",
                reason: "feature \(i) is \"\(a)\" in the model but \"\(b)\" in the schema")
        }
    }

    static func isPlaceholder(_ names: [String]) -> Bool {
        names.enumerated().allSatisfy { $0.element == "Column_\($0.offset)" }
    }
}
