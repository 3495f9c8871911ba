import Foundation

/// Probability calibration after the ensemble: scikit-learn's `CalibratedClassifierCV` with
/// method "isotonic" or "sigmoid", fitted on the classifier's probabilities, applied exactly as
/// scikit-learn applies it (`tools/models/export_calibration.py` writes the JSON):
/// - two classes: one calibrator on class 1's probability c; the outputs are [1 − c, c];
/// - K classes: one per class, then divided by their sum (uniform when the sum is 0);
/// - isotonic: the input clipped to [x₀, xₙ], then scipy's linear interpolation: with i the
///   first threshold ≥ the input (at least 1), slope · (x − xᵢ₋₁) + yᵢ₋₁ where slope =
///   (yᵢ − yᵢ₋₁) / (xᵢ − xᵢ₋₁);
/// - sigmoid: 1 / (1 + exp(a · p + b)).
///
/// Loaded at start-up into fixed buffers; `apply` allocates nothing.
public struct Calibration: @unchecked Sendable {
    public enum Method: String, Sendable { case isotonic, sigmoid }

    public let method: Method
    public let classes: Int
    /// Per calibrator: isotonic (start, count) into `x`/`y`; sigmoid (a, b) in `x`/`y` at its index.
    let ranges: UnsafeMutableBufferPointer<(Int, Int)>
    let x: UnsafeMutableBufferPointer<Double>
    let y: UnsafeMutableBufferPointer<Double>

    public static func load(path: String) throws(ModelError) -> Calibration {
        func fail(_ place: String, _ reason: String) -> ModelError {
            ModelError(file: path, place: place, reason: reason)
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw fail("", "cannot read the file") }
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw fail("", "not a JSON object")
        }
        guard let name = root["method"] as? String, let method = Method(rawValue: name) else {
            throw fail("method", "\"\(root["method"] ?? "")\" is not supported (isotonic, sigmoid)")
        }
        guard let classes = root["classes"] as? Int, classes >= 2 else { throw fail("classes", "expected 2 or more") }
        guard let list = root["calibrators"] as? [[String: Any]], list.count == (classes == 2 ? 1 : classes) else {
            throw fail("calibrators", "expected \(classes == 2 ? 1 : classes) calibrators for \(classes) classes")
        }
        var ranges: [(Int, Int)] = [], xs: [Double] = [], ys: [Double] = []
        for (i, c) in list.enumerated() {
            let place = "calibrators[\(i)]"
            switch method {
            case .sigmoid:
                guard let a = (c["a"] as? NSNumber)?.doubleValue, let b = (c["b"] as? NSNumber)?.doubleValue else {
                    throw fail(place, "expected numbers a and b")
                }
                ranges.append((xs.count, 1))
                xs.append(a)
                ys.append(b)
            case .isotonic:
                guard let x = (c["x"] as? [NSNumber])?.map(\.doubleValue),
                    let y = (c["y"] as? [NSNumber])?.map(\.doubleValue),
                    x.count == y.count, !x.isEmpty
                else {
                    throw fail(place, "expected arrays x and y of one length")
                }
                guard zip(x, x.dropFirst()).allSatisfy({ $0 < $1 }) else { throw fail(place + ".x", "not increasing") }
                ranges.append((xs.count, x.count))
                xs += x
                ys += y
            }
        }
        return Calibration(
            method: method, classes: classes, ranges: loadTimeBuffer(ranges), x: loadTimeBuffer(xs),
            y: loadTimeBuffer(ys))
    }

    /// One calibrator's output for probability p.
    @inline(__always)
    func value(_ k: Int, _ p: Double) -> Double {
        let (start, count) = ranges[k]
        if method == .sigmoid {
            let z = x[start] * p
            return 1 / (1 + exp(z + y[start]))
        }
        if count == 1 { return y[start] }
        let t = min(max(p, x[start]), x[start + count - 1])
        // searchsorted(x, t, side="left"), clipped to 1...count − 1
        var lo = 0, hi = count
        while lo < hi {
            let mid = (lo + hi) / 2
            if x[start + mid] < t { lo = mid + 1 } else { hi = mid }
        }
        let i = start + min(max(lo, 1), count - 1)
        let slope = (y[i] - y[i - 1]) / (x[i] - x[i - 1])
        return slope * (t - x[i - 1]) + y[i - 1]
    }

    /// Calibrates `classes` probabilities in place.
    public func apply(_ p: UnsafeMutablePointer<Double>) {
        if classes == 2 {
            let c = value(0, p[1])
            p[0] = 1 - c
            p[1] = c
            return
        }
        var sum = 0.0
        for k in 0..<classes {
            p[k] = value(k, p[k])
            sum += p[k]
        }
        for k in 0..<classes { p[k] = sum != 0 ? p[k] / sum : 1 / Double(classes) }
    }
}
