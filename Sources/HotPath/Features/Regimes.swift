import Foundation

/// A Gaussian hidden Markov model (K states, diagonal covariances) run as a forward filter, one
/// bar's observation at a time: p(state_t | x_1..t). The parameters are hmmlearn 0.3.3's
/// `GaussianHMM` (startprob_, transmat_, means_, and the diagonal covars_), exported to JSON by
/// tools/adaptive/make_regime_fixtures.py's `export_hmm`.
///
/// The emission log-density is hmmlearn's: −½ (F ln 2π + Σ ln σ² + Σ (x − μ)² / σ²), variances
/// floored at the smallest normal double. Each step is normalised (a filter needs no
/// likelihood) and runs in probabilities, not logs: α_t(j) ∝ (Σ_i α_{t−1}(i) A_ij) ·
/// exp(log b_j − max_k log b_k) — K exponentials a step where hmmlearn's log-space
/// forward_log takes K² + K logs and exponentials; the state probabilities equal the last row
/// of hmmlearn's posteriors on each prefix within 1e-9. `update` allocates nothing.
public struct GaussianHMMFilter: @unchecked Sendable {
    public let states: Int
    public let features: Int
    let start: UnsafeMutablePointer<Double>
    let transition: UnsafeMutablePointer<Double>  // [from][to]
    let means: UnsafeMutablePointer<Double>  // [state][feature]
    let variances: UnsafeMutablePointer<Double>
    /// Per state: −½ (F ln 2π + Σ ln σ²), the density's constant.
    let constants: UnsafeMutablePointer<Double>
    /// The filtered probabilities, and a scratch row of emission log-densities.
    let current: UnsafeMutablePointer<Double>
    let next: UnsafeMutablePointer<Double>
    public private(set) var steps = 0

    public static func load(path: String) throws(ModelError) -> GaussianHMMFilter {
        func fail(_ place: String, _ reason: String) -> ModelError {
            ModelError(file: path, place: place, reason: reason)
        }
        guard let data = FileManager.default.contents(atPath: path),
            let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        else { throw fail("", "not a readable JSON object") }
        func vector(_ key: String) throws(ModelError) -> [Double] {
            guard let a = root[key] as? [NSNumber] else { throw fail(key, "expected an array of numbers") }
            return a.map(\.doubleValue)
        }
        func matrix(_ key: String) throws(ModelError) -> [[Double]] {
            guard let a = root[key] as? [[NSNumber]] else { throw fail(key, "expected an array of arrays of numbers") }
            return a.map { $0.map(\.doubleValue) }
        }
        if let type = root["covariance_type"] as? String, type != "diag" {
            throw fail("covariance_type", "\"\(type)\" is not supported (diag)")
        }
        let start = try vector("startprob"), transition = try matrix("transmat")
        let means = try matrix("means"), variances = try matrix("covars")
        let k = start.count
        guard k > 0, transition.count == k, transition.allSatisfy({ $0.count == k }) else {
            throw fail("transmat", "expected \(k) × \(k) for \(k) states")
        }
        guard let f = means.first?.count, f > 0, means.count == k, means.allSatisfy({ $0.count == f }),
            variances.count == k, variances.allSatisfy({ $0.count == f })
        else { throw fail("means", "expected \(k) rows of one width, and covars of the same shape") }
        return GaussianHMMFilter(start: start, transition: transition, means: means, variances: variances)
    }

    /// The observation the model was fitted on, when its JSON names it (`"inputs"`, as
    /// tools/adaptive/make_regime_session.py writes it).
    public static func declaredInputs(path: String) -> [String]? {
        guard let data = FileManager.default.contents(atPath: path),
            let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        else { return nil }
        return root["inputs"] as? [String]
    }

    public init(start: [Double], transition: [[Double]], means: [[Double]], variances: [[Double]]) {
        states = start.count
        features = means[0].count
        self.start = loadTimeCopy(start)
        self.transition = loadTimeCopy(transition.flatMap { $0 })
        self.means = loadTimeCopy(means.flatMap { $0 })
        let floored = variances.map { $0.map { max($0, Double.leastNormalMagnitude) } }
        self.variances = loadTimeCopy(floored.flatMap { $0 })
        let f = Double(means[0].count)
        constants = loadTimeCopy(
            floored.map { row in -0.5 * (f * log(2 * Double.pi) + row.reduce(0) { $0 + log($1) }) })
        current = loadTimeCopy([Double](repeating: 0, count: start.count))
        next = loadTimeCopy([Double](repeating: 0, count: start.count))
    }

    /// One observation of `features` values; the filtered state probabilities into `out`.
    public mutating func update(_ x: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>) {
        step(x, state: current, first: steps == 0, scratch: next)
        for j in 0..<states { out[j] = current[j] }
        steps += 1
    }

    /// One step of a filter whose probabilities live in `state` (K values, the caller's: one
    /// per instrument), updated in place; `first`: the observation is the sequence's first.
    /// The parameters are only read; `next` is K values of the caller's scratch.
    public func step(
        _ x: UnsafePointer<Double>, state: UnsafeMutablePointer<Double>, first: Bool,
        scratch next: UnsafeMutablePointer<Double>
    ) {
        let k = states, f = features
        var top = -Double.infinity
        for j in 0..<k {
            var sum = 0.0
            for i in 0..<f {
                let d = x[i] - means[j * f + i]
                sum += d * d / variances[j * f + i]
            }
            next[j] = constants[j] - 0.5 * sum
            top = max(top, next[j])
        }
        // The priors need every previous probability: they go to `next` (over its density,
        // which is read first), and to `state` once all are made.
        var total = 0.0
        for j in 0..<k {
            var prior = 0.0
            if first {
                prior = start[j]
            } else {
                for i in 0..<k { prior += state[i] * transition[i * k + j] }
            }
            next[j] = prior * exp(next[j] - top)
            total += next[j]
        }
        for j in 0..<k { state[j] = next[j] / total }
    }
}

/// GARCH(1,1) one step ahead, with `arch` 8.0.0's parameters (mu, omega, alpha[1], beta[1])
/// and its backcast b (the exponentially weighted mean of the first 75 squared residuals): the
/// first return's variance is ω + α b + β b, as `arch`'s recursion starts; after each return
/// r_t, with ε = r_t − μ, σ²_{t+1} = ω + α ε² + β σ²_t — the value `arch`'s
/// `forecast(horizon=1)` gives at t.
public struct GARCH11: Sendable {
    public let mu: Double, omega: Double, alpha: Double, beta: Double
    /// σ² for the next return.
    public private(set) var variance: Double

    public init(mu: Double, omega: Double, alpha: Double, beta: Double, backcast: Double) {
        (self.mu, self.omega, self.alpha, self.beta) = (mu, omega, alpha, beta)
        variance = omega + alpha * backcast + beta * backcast
    }

    public static func load(path: String) throws(ModelError) -> GARCH11 {
        guard let data = FileManager.default.contents(atPath: path),
            let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        else { throw ModelError(file: path, place: "", reason: "not a readable JSON object") }
        var v: [Double] = []
        for key in ["mu", "omega", "alpha", "beta", "backcast"] {
            guard let n = root[key] as? NSNumber else {
                throw ModelError(file: path, place: key, reason: "expected a number")
            }
            v.append(n.doubleValue)
        }
        return GARCH11(mu: v[0], omega: v[1], alpha: v[2], beta: v[3], backcast: v[4])
    }

    /// Takes return r_t; returns σ²_{t+1}.
    public mutating func update(_ r: Double) -> Double {
        let e = r - mu
        variance = omega + alpha * e * e + beta * variance
        return variance
    }
}

/// The regime as the argmax state with hysteresis: a new state takes over only once its
/// probability has been ≥ `hold` for `bars` bars in a row (the first bar sets the regime).
public struct RegimeHysteresis: Sendable {
    public let hold: Double
    public let bars: Int
    public private(set) var regime = -1
    var candidate = -1
    var run = 0
    /// Regime changes so far.
    public private(set) var switches = 0

    public init(hold: Double, bars: Int) { (self.hold, self.bars) = (hold, max(1, bars)) }

    public mutating func update(_ p: UnsafePointer<Double>, states: Int) -> Int {
        var best = 0
        for k in 1..<states where p[k] > p[best] { best = k }
        if regime < 0 {
            regime = best
            return regime
        }
        if best == regime || p[best] < hold {
            (candidate, run) = (-1, 0)
            return regime
        }
        if best == candidate { run += 1 } else { (candidate, run) = (best, 1) }
        if run >= bars {
            (regime, candidate, run) = (best, -1, 0)
            switches += 1
        }
        return regime
    }
}
