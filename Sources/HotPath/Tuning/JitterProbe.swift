/// `hotpath tune jitter`: how much time the host takes from a spinning thread on each chosen
/// CPU, with no engine running; a host check before deployment, as sysjitter does it. One
/// pinned thread per CPU, all at once (as a deployment's hot threads run), each reading the
/// TSC in a tight loop for `seconds`; every gap between two reads longer than `thresholdNs`
/// is a hiccup (`HiccupMeter`, the engine's own idle-turn measure).
public struct JitterProbe: Sendable {
    public var cpus: [Int]
    public var seconds = 2.0
    public var thresholdNs = HiccupMeter.defaultThresholdNs

    public init(cpus: [Int]) { self.cpus = cpus }

    public struct Result: Sendable {
        public var cpu: Int
        public var spunNs: UInt64
        public var hiccups: HistogramSnapshot
        /// The gaps' total: the time the CPU spent elsewhere.
        public var stolenNs: Double { hiccups.meanAndStdDev.mean * Double(hiccups.totalCount) }
        public var stolenShare: Double { spunNs > 0 ? stolenNs / Double(spunNs) : 0 }
    }

    public func run(clock: Clock = .calibrated()) throws -> [Result] {
        let perCPU = 2 * (HistogramLayout.countsLength * 8 + 4_096) + 4_096
        let arena = try Arena(bytes: max(1, cpus.count) * perCPU + (1 << 20), lock: false)
        let meters = try cpus.map { _ in try HiccupMeter(thresholdNs: thresholdNs, clock: clock, arena: arena) }
        // The target in ns, compared in ns: a tick count truncated from seconds could end the
        // spin a nanosecond short of what the result then reports.
        let targetNs = UInt64((seconds * 1e9).rounded(.up))
        let spun = UnsafeMutablePointer<UInt64>.allocate(capacity: max(1, cpus.count))
        defer { spun.deallocate() }
        let slots = SpunSlots(p: spun)
        var threads: [PinnedThread] = []
        for (i, cpu) in cpus.enumerated() {
            let meter = meters[i]
            threads.append(
                try PinnedThread.start(name: "hp-jitter-\(cpu)", cpu: cpu) {
                    let start = clock.ticks()
                    var now = start
                    while clock.nanoseconds(ticks: now &- start) < targetNs {
                        now = clock.ticks()
                        meter.spin(at: now)
                    }
                    slots.p[i] = clock.nanoseconds(ticks: now &- start)
                })
        }
        for t in threads { t.join() }
        withExtendedLifetime(arena) {}
        return cpus.enumerated().map { i, cpu in
            var h = HistogramSnapshot()
            meters[i].recorder.collectAfterOwnerStopped(into: &h)
            return Result(cpu: cpu, spunNs: spun[i], hiccups: h)
        }
    }

    struct SpunSlots: @unchecked Sendable { let p: UnsafeMutablePointer<UInt64> }

    public static func json(_ results: [Result], thresholdNs: UInt64) -> String {
        let rows = results.map { r in
            let s = r.hiccups.summary
            return JSONText.object(
                [
                    ("cpu", "\(r.cpu)"), ("seconds", format("%.3f", Double(r.spunNs) / 1e9)), ("hiccups", "\(s.count)"),
                    ("stolen_ns", format("%.0f", r.stolenNs)), ("stolen_share", format("%.6f", r.stolenShare)),
                ] + s.jsonFields([.p50, .p99, .p999, .max], count: false))
        }
        return JSONText.object([("threshold_ns", "\(thresholdNs)"), ("cpus", "[" + rows.joined(separator: ",") + "]")])
    }

    public static func table(_ results: [Result], thresholdNs: UInt64) -> String {
        var out = "host hiccups: gaps over \(thresholdNs) ns between a spinning thread's clock reads\n"
        out += "cpu   seconds   hiccups   stolen       p50 ns     p99 ns   p99.9 ns     max ns\n"
        for r in results {
            let s = r.hiccups.summary
            out += format(
                "%-5d %7.2f %9llu %7.4f%% %10llu %10llu %10llu %10llu\n", r.cpu, Double(r.spunNs) / 1e9, s.count,
                r.stolenShare * 100, s.p50, s.p99, s.p999, s.max)
        }
        return out
    }
}
