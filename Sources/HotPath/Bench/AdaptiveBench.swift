import CSupport

/// `hotpath bench adaptive`: nanoseconds per update of the adaptive layer's pieces, each the
/// best of three timed loops over a stream generated at start (so the loops allocate nothing
/// and read no file): online logistic regression over 32 features (learn, and predict), the
/// HMM filter (3 states × 4 features), ADWIN and Page-Hinkley (River's defaults, on a stream
/// with a mean shift every 10,000 values), GARCH(1,1).
public struct AdaptiveBench {
    public var updates = 1_000_000

    public init() {}

    public struct Result: Sendable {
        public var ns: [(String, Double)]
        public var json: String {
            "{" + ns.map { "\"\($0.0)\":\(($0.1 * 100).rounded() / 100)" }.joined(separator: ",") + "}"
        }
        public var text: String {
            ns.map { "\($0.0.padding(toLength: 28, withPad: " ", startingAt: 0)) \(($0.1 * 100).rounded() / 100) ns\n" }
                .joined()
        }
    }

    public func run() -> Result {
        let n = updates
        var rng = SplitMix(seed: 17)
        let width = 32, rowsCount = 1024
        let rows = (0..<rowsCount * width).map { _ in rng.normal() }
        let labels = (0..<rowsCount).map { rows[$0 * width] + 0.5 * rows[$0 * width + 1] > 0 ? 1 : 0 }
        let stream = (0..<n).map { i in rng.normal() + Double((i / 10_000) % 2) }
        var result: [(String, Double)] = []

        var config = OnlineLinear.Config()
        config.features = width
        config.learningRate = 0.01
        config.l2 = 0.001
        let learner = OnlineLinear(config)
        var p = [Double](repeating: 0, count: 4)
        rows.withUnsafeBufferPointer { x in
            let base = x.baseAddress!
            result.append(
                (
                    "logistic_learn_32",
                    CoreBench.timePerOp(n) {
                        for i in 0..<n {
                            learner.learn(base + (i & (rowsCount - 1)) * width, label: labels[i & (rowsCount - 1)])
                        }
                        return UInt64(bitPattern: Int64(learner.intercept.pointee * 1e6))
                    }
                ))
            p.withUnsafeMutableBufferPointer { out in
                result.append(
                    (
                        "logistic_predict_32",
                        CoreBench.timePerOp(n) {
                            var s = 0.0
                            for i in 0..<n {
                                learner.predict(base + (i & (rowsCount - 1)) * width, into: out.baseAddress!)
                                s += out[0]
                            }
                            return UInt64(s)
                        }
                    ))
            }
        }

        var hmm = GaussianHMMFilter(
            start: [0.5, 0.3, 0.2], transition: [[0.97, 0.02, 0.01], [0.02, 0.96, 0.02], [0.03, 0.03, 0.94]],
            means: [[0, 0.5, 1, 6], [0.8, 1.2, 1.5, 7], [-0.5, 4, 4, 8]],
            variances: [[0.25, 0.1, 0.09, 0.16], [1.4, 0.3, 0.09, 0.16], [16, 2, 0.09, 0.16]])
        rows.withUnsafeBufferPointer { x in
            p.withUnsafeMutableBufferPointer { out in
                result.append(
                    (
                        "hmm_step_3x4",
                        CoreBench.timePerOp(n) {
                            for i in 0..<n {
                                hmm.update(x.baseAddress! + (i & (rowsCount - 1)) * 4, into: out.baseAddress!)
                            }
                            return UInt64(out[0] * 1e6)
                        }
                    ))
            }
        }
        stream.withUnsafeBufferPointer { s in
            func detections<D: DriftDetector>(_ name: String, _ make: () -> D) {
                result.append(
                    (
                        name,
                        CoreBench.timePerOp(n) {
                            var d = make()
                            var hits: UInt64 = 0
                            for i in 0..<n where d.update(s[i]) { hits &+= 1 }
                            return hits
                        }
                    ))
            }
            detections("adwin_update") { ADWIN() }
            detections("page_hinkley_update") { PageHinkley() }
            result.append(
                (
                    "garch_update",
                    CoreBench.timePerOp(n) {
                        var g = GARCH11(mu: 0.1, omega: 0.1, alpha: 0.1, beta: 0.85, backcast: 1)
                        var v = 0.0
                        for i in 0..<n { v += g.update(s[i]) }
                        return UInt64(v)
                    }
                ))
        }
        return Result(ns: result)
    }
}
