import ArgumentParser
import HotPath

struct Drift: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a drift detector over a column of values and print where it detects a change.",
        discussion: """
            River 0.26.1's detectors, value by value, with the same detections at the same indices \
            (tools/adaptive/make_drift_fixtures.py): --detector adwin (drift.ADWIN: --delta, \
            --clock, --max-buckets, --min-window-length, --grace-period) or page-hinkley \
            (drift.PageHinkley: --min-instances, --delta, --threshold, --alpha, --mode \
            up|down|both). Unset options take River's defaults. Input: one number per line (a \
            first line that is not a number is a header and is skipped). Prints the 0-based \
            index of each value that completes a drift, one per line, or with --json one object: \
            {"detector","values","detections":[…]}.
            """
    )

    @Option(help: "adwin or page-hinkley.")
    var detector: String

    @Option(help: "Values: one number per line.")
    var input: String

    @Option(help: "ADWIN: confidence (0.002); Page-Hinkley: the magnitude allowed (0.005).")
    var delta: Double?

    @Option(help: "ADWIN: test for a cut every this many values (32).")
    var clock = 32

    @Option(name: .customLong("max-buckets"), help: "ADWIN: buckets per size before they merge (5).")
    var maxBuckets = 5

    @Option(name: .customLong("min-window-length"), help: "ADWIN: the shortest sub-window a cut leaves (5).")
    var minWindowLength = 5

    @Option(name: .customLong("grace-period"), help: "ADWIN: values before any test (10).")
    var gracePeriod = 10

    @Option(name: .customLong("min-instances"), help: "Page-Hinkley: values before any test (30).")
    var minInstances = 30

    @Option(help: "Page-Hinkley: the detection threshold, lambda (50).")
    var threshold = 50.0

    @Option(help: "Page-Hinkley: the forgetting factor (0.9999).")
    var alpha = 1 - 0.0001

    @Option(help: "Page-Hinkley: up, down or both (both).")
    var mode = "both"

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        guard let text = SystemFile.read(input, limit: 1 << 31) else { fail("\(input): cannot read the file", code: 2) }
        var values: [Double] = []
        for (i, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let cell = line.trimmingSpaces()
            if cell.isEmpty { continue }
            guard let v = Double(cell), v.isFinite else {
                if i == 0 { continue }  // a header
                fail("\(input):\(i + 1): \"\(cell)\" is not a finite number", code: 2)
            }
            values.append(v)
        }
        var hits: [Int] = []
        switch detector {
        case "adwin":
            guard clock > 0, maxBuckets > 0, minWindowLength > 0, gracePeriod >= 0 else {
                fail("--clock, --max-buckets and --min-window-length must be positive", code: 2)
            }
            var d = ADWIN(
                delta: delta ?? 0.002, clock: clock, maxBuckets: maxBuckets, minWindowLength: minWindowLength,
                gracePeriod: gracePeriod)
            for (i, v) in values.enumerated() where d.update(v) { hits.append(i) }
        case "page-hinkley":
            guard let m = PageHinkley.Mode(rawValue: mode) else {
                fail("--mode \(mode): expected up, down or both", code: 2)
            }
            var d = PageHinkley()
            d.minInstances = minInstances
            d.delta = delta ?? 0.005
            d.threshold = threshold
            d.alpha = alpha
            d.mode = m
            for (i, v) in values.enumerated() where d.update(v) { hits.append(i) }
        default:
            fail("--detector \(detector): expected adwin or page-hinkley", code: 2)
        }
        var out = BufferedWriter(fd: 1)
        if json {
            out.line(
                "{\"detector\":\"\(detector)\",\"values\":\(values.count),\"detections\":[\(hits.map(String.init).joined(separator: ","))]}"
            )
        } else {
            for h in hits { out.line(String(h)) }
        }
        out.flush()
    }
}
