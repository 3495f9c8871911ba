import ArgumentParser
import HotPath

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a model on input rows and print its outputs as CSV.",
        discussion: """
            Models: LightGBM text (Booster.save_model), XGBoost JSON, ONNX: feed-forward and \
            LSTM/GRU networks, and ONNX-ML pipelines (skl2onnx, onnxmltools, CatBoost: tree \
            ensembles, Scaler, Normalizer, linear models). Outputs are what the \
            library's predict() returns (probabilities after the objective's transform), or raw \
            scores with --raw. Input: .f64 / .f32 raw row-major arrays (with --features), or CSV \
            (header optional; empty cells and "nan" are missing values).
            """
    )

    @Option(help: "The model file.")
    var model: String

    @Option(help: "Input rows: rows.csv, rows.f64 or rows.f32.")
    var input: String

    @Option(help: "Features per row (required for .f64/.f32; checked against the model).")
    var features: Int?

    @Flag(help: "Raw scores (margins) instead of transformed outputs.")
    var raw = false

    func run() throws {
        do {
            let m = try ModelFile.load(path: model)
            let (values, width) = try ModelInput.rows(path: input, features: features ?? m.features)
            guard width == m.features else {
                fail("\(input): rows have \(width) features but \(model) expects \(m.features)", code: 2)
            }
            var out = BufferedWriter(fd: 1)
            var y = [Double](repeating: 0, count: m.outputs)
            var scratch = [Float](repeating: 0, count: m.features + m.outputs)
            let rows = width == 0 ? 0 : values.count / width
            let columns = m.predictionWidth(raw: raw)
            values.withUnsafeBufferPointer { x in
                y.withUnsafeMutableBufferPointer { yb in
                    for r in 0..<rows {
                        scratch.withUnsafeMutableBufferPointer {
                            m.predict(
                                x.baseAddress! + r * width, into: yb.baseAddress!, raw: raw, scratch: $0.baseAddress!)
                        }
                        out.line(yb.prefix(columns).map { "\($0)" }.joined(separator: ","))
                    }
                }
            }
            out.flush()
        } catch {
            fail("\(error)", code: 2)
        }
    }
}
