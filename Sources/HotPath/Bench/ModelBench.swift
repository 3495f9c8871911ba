/// `hotpath bench model`: one row per call on a pinned thread, every call timed with ordered
/// clock reads (`Clock.orderedTicks`, as the peers' harness reads its clock) into HotPath's
/// own histogram (per-call percentiles, not averages), and the largest
/// difference from a reference output file when one is given.
public struct ModelBench {
    public struct Result: Sendable {
        public var rows: Int
        public var calls: Int
        public var latency: LatencySummary
        /// Mean of the calls up to p99: the clock ticks in coarse steps, this resolves finer.
        public var meanToP99Ns = 0.0
        public var maxAbsDiff: Double?
        public var cpu: Int
        /// p50 of an empty timed region: what the two TSC reads add to every figure (the
        /// peers' harness reports its own, for clock_gettime, the same way).
        public var clockOverheadNs: UInt64 = 0
        /// Which evaluator ran (`Model.evaluator`).
        public var evaluator = ""

        public var json: String {
            JSONText.object(
                latency.jsonFields([.p50, .p99, .p999, .max], count: false) + [
                    ("mean_to_p99_ns", format("%.1f", meanToP99Ns)), ("rows", "\(rows)"), ("calls", "\(calls)"),
                    ("max_abs_diff", maxAbsDiff.map { format("%.3g", $0) } ?? "null"), ("cpu", "\(cpu)"),
                    ("clock_overhead_ns", "\(clockOverheadNs)"), ("evaluator", JSONText.quote(evaluator)),
                ])
        }
    }

    public let model: Model
    public let rows: [Double]
    public var reference: [Double]?
    public var rounds = 3

    public init(model: Model, rows: [Double]) {
        self.model = model
        self.rows = rows
    }

    public func run() throws -> Result {
        let cpu = PinnedThread.currentAffinity().cpus.last ?? 0
        let arena = try Arena(bytes: 1 << 20, cpu: cpu)
        defer { withExtendedLifetime(arena) {} }
        let histogram = try LatencyHistogram(arena: arena)
        let overhead = try LatencyHistogram(arena: arena)
        let (model, rows, reference, rounds) = (self.model, self.rows, self.reference, self.rounds)
        let box = ModelBenchBox()
        let thread = try PinnedThread.start(name: "bench-model", cpu: cpu) {
            let clock = Clock.calibrated()
            let n = rows.count / model.features
            var out = [Double](repeating: 0, count: model.outputs)
            var outFloat = [Float](repeating: 0, count: model.outputs)
            // Networks take float rows: converted once, outside the timed calls.
            let floats = rows.map { Float($0) }
            var worst = 0.0
            rows.withUnsafeBufferPointer { x in
                out.withUnsafeMutableBufferPointer { y in
                    // `call(r)` runs and times row r; the model is bound once, outside the
                    // loops (binding the enum's payload per row copied the whole ensemble).
                    func timeRows(_ call: (Int) -> Void) {
                        for round in 0..<rounds {
                            if round == rounds - 1 { histogram.reset() }  // keep the warm last round
                            for r in 0..<n {
                                call(r)
                                if let reference {
                                    for k in 0..<model.outputs {
                                        worst = max(worst, abs(y[k] - reference[r * model.outputs + k]))
                                    }
                                }
                            }
                        }
                    }
                    /// One timed call per row, on the double row.
                    func timeCalls(_ call: (UnsafePointer<Double>) -> Void) {
                        timeRows { r in
                            let row = x.baseAddress! + r * model.features
                            let t0 = clock.orderedTicks()
                            call(row)
                            histogram.record(clock.nanoseconds(ticks: clock.orderedTicks() &- t0))
                        }
                    }
                    switch model {
                    case let .trees(t): timeCalls { t.predict($0, into: y.baseAddress!) }
                    case let .chain(c): timeCalls { c.predict($0, into: y.baseAddress!) }
                    case let .online(o): timeCalls { o.predict($0, into: y.baseAddress!) }
                    case let .network(net):
                        floats.withUnsafeBufferPointer { f in
                            outFloat.withUnsafeMutableBufferPointer { of in
                                timeRows { r in
                                    let t0 = clock.orderedTicks()
                                    net.predict(f.baseAddress! + r * model.features, into: of.baseAddress!)
                                    histogram.record(clock.nanoseconds(ticks: clock.orderedTicks() &- t0))
                                    for k in 0..<model.outputs { y[k] = Double(of[k]) }
                                }
                            }
                        }
                    }
                }
            }
            for _ in 0..<n {
                let t0 = clock.orderedTicks()
                overhead.record(clock.nanoseconds(ticks: clock.orderedTicks() &- t0))
            }
            box.maxDiff = reference == nil ? nil : worst
            box.calls = n * rounds
        }
        thread.join()
        var snapshot = HistogramSnapshot()
        snapshot.add(histogram)
        var empty = HistogramSnapshot()
        empty.add(overhead)
        return Result(
            rows: rows.count / model.features, calls: box.calls, latency: snapshot.summary,
            meanToP99Ns: snapshot.mean(upToPercentile: 99), maxAbsDiff: box.maxDiff, cpu: cpu,
            clockOverheadNs: empty.summary.p50, evaluator: model.evaluator)
    }
}

final class ModelBenchBox: @unchecked Sendable {
    var maxDiff: Double?
    var calls = 0
}
