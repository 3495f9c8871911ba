import ArgumentParser
import HotPath

struct Learn: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Learn online, row by row, and print each row's prediction made before learning it.",
        discussion: """
            River's progressive validation (evaluate.progressive_val_score): for each row of the \
            CSV, predict, then learn that row's label. --model logreg is River 0.26.1's \
            linear_model.LogisticRegression with optim.SGD(--lr), --l2 and intercept_lr \
            (--intercept-lr); its label column holds 0/1 (or false/true) and it prints p(1). \
            --model softmax is linear_model.SoftmaxRegression: labels are any values, the classes \
            are their distinct values in sorted order (numeric when every label is a number), and it \
            prints one probability per class (0 for a class not yet seen). --scale puts \
            preprocessing.StandardScaler in front, as a River pipeline runs it. Every other column \
            is a feature; the first line names the columns. Predictions equal River's within 1e-9 \
            (tools/adaptive/make_online_fixtures.py). Prints CSV with a header, or with --json one \
            JSON object per row: {"row","label","p":{class: probability}}.
            """
    )

    @Option(help: "Rows: a CSV whose first line names the columns.")
    var input: String

    @Option(help: "The label column's name.")
    var label: String

    @Option(help: "logreg (binary) or softmax (multiclass).")
    var model = "logreg"

    @Option(help: "SGD learning rate (River's optim.SGD(lr)).")
    var lr = 0.01

    @Option(help: "L2 penalty.")
    var l2 = 0.0

    @Option(name: .customLong("intercept-lr"), help: "The intercept's learning rate (logreg).")
    var interceptLR = 0.01

    @Flag(help: "Standardise each feature online (River's preprocessing.StandardScaler).")
    var scale = false

    @Flag(help: "One JSON object per row instead of CSV.")
    var json = false

    func run() throws {
        guard let kind = OnlineLinear.Kind(rawValue: model) else {
            fail("--model \(model): expected logreg or softmax", code: 2)
        }
        guard let text = SystemFile.read(input, limit: 1 << 31) else { fail("\(input): cannot read the file", code: 2) }
        var lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingSpaces() }.filter { !$0.isEmpty }
        guard !lines.isEmpty else { fail("\(input): no header line", code: 2) }
        let header = lines.removeFirst().split(separator: ",", omittingEmptySubsequences: false).map {
            String($0.trimmingSpaces())
        }
        guard let labelColumn = header.firstIndex(of: label) else {
            fail("\(input):1: no column named \"\(label)\" (columns: \(header.joined(separator: ", ")))", code: 2)
        }
        var rows: [Double] = [], labels: [String] = []
        for (i, line) in lines.enumerated() {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingSpaces() }
            guard cells.count == header.count else {
                fail("\(input):\(i + 2): \(cells.count) values for \(header.count) columns", code: 2)
            }
            for (j, cell) in cells.enumerated() {
                if j == labelColumn {
                    labels.append(String(cell))
                } else if let v = Double(cell), v.isFinite {
                    rows.append(v)
                } else {
                    fail("\(input):\(i + 2): column \"\(header[j])\": \"\(cell)\" is not a finite number", code: 2)
                }
            }
        }
        // The classes: logreg takes 0/1 (false/true); softmax the distinct labels, sorted.
        var classes = Array(Set(labels))
        if classes.allSatisfy({ Double($0) != nil }) {
            classes.sort { Double($0)! < Double($1)! }
        } else {
            classes.sort()
        }
        let index: [String: Int]
        if kind == .logistic {
            let binary = ["0": 0, "1": 1, "false": 0, "true": 1, "False": 0, "True": 1, "0.0": 0, "1.0": 1]
            if let bad = labels.first(where: { binary[$0] == nil }) {
                fail("\(input): label \"\(bad)\" is not 0/1 or false/true (--model logreg is binary)", code: 2)
            }
            index = binary
            classes = ["1"]
        } else {
            index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
        }
        var config = OnlineLinear.Config()
        config.kind = kind
        config.features = header.count - 1
        config.classes = kind == .softmax ? max(classes.count, 1) : 2
        config.learningRate = lr
        config.l2 = l2
        config.interceptRate = interceptLR
        config.scale = scale
        let learner = OnlineLinear(config)
        var out = BufferedWriter(fd: 1)
        if !json { out.line(classes.map { "p_\($0)" }.joined(separator: ",")) }
        var p = [Double](repeating: 0, count: learner.outputs)
        rows.withUnsafeBufferPointer { x in
            for r in 0..<labels.count {
                let row = x.baseAddress! + r * config.features
                learner.predict(row, into: &p)
                if json {
                    let fields = zip(classes, p).map { JSONText.quote($0.0) + ":\($0.1)" }.joined(separator: ",")
                    out.line("{\"row\":\(r),\"label\":\(JSONText.quote(labels[r])),\"p\":{\(fields)}}")
                } else {
                    out.line(p.map { "\($0)" }.joined(separator: ","))
                }
                learner.learn(row, label: index[labels[r]]!)
            }
        }
        out.flush()
    }
}
