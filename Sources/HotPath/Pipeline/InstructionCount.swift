import Foundation

/// Instructions per unit of work for each stage of `InstructionWork`, counted by callgrind:
/// the deterministic half of the latency gate. The same binary and input give the same
/// count on every host, so a budget on it holds across machines where nanoseconds do not.
///
/// `measure` runs this executable's `bench instructions --work` under
/// `valgrind --tool=callgrind --collect-atstart=no --toggle-collect=hp_stage_*` with the
/// portable kernels forced (`HOTPATH_PORTABLE=1`) and Swift's hashing seeded
/// (`SWIFT_DETERMINISTIC_HASHING=1`), then reads each stage's inclusive count from
/// `callgrind_annotate --inclusive=yes`.
///
/// JSON: `{"messages":…,"stages":{"decode_book":{"instructions":…,"units":…,"per_unit":…},…}}`.
public struct InstructionCount: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var instructions: UInt64
        public var units: Int
        public var perUnit: Double { units > 0 ? Double(instructions) / Double(units) : 0 }
    }

    public var messages = 0
    public var stages: [(InstructionWork.Stage, Entry)] = []

    public init() {}

    public static func == (a: Self, b: Self) -> Bool {
        a.messages == b.messages && a.stages.map(\.0) == b.stages.map(\.0) && a.stages.map(\.1) == b.stages.map(\.1)
    }

    public func entry(_ s: InstructionWork.Stage) -> Entry? { stages.first { $0.0 == s }?.1 }

    // MARK: Measuring

    public enum Failure: Error, CustomStringConvertible {
        case missingTool(String)
        case toolFailed(String, Int32, String)
        case unreadable(String)

        public var description: String {
            switch self {
            case let .missingTool(t): "\(t) is not on PATH (Debian: apt-get install valgrind binutils)"
            case let .toolFailed(t, code, tail): "\(t) exited \(code): \(tail)"
            case let .unreadable(why): "callgrind's output: \(why)"
            }
        }
    }

    /// Counts `messages` of the demo session through `executable`'s workload, with the engine
    /// configuration at `config`. valgrind 3.19 cannot read the DWARF 5 that Swift emits, so
    /// it runs a copy of the executable without debug information (its symbols stay).
    public static func measure(executable: String, messages: Int, config: String) throws(Failure) -> InstructionCount {
        guard let valgrind = which("valgrind") else { throw .missingTool("valgrind") }
        guard let annotate = which("callgrind_annotate") else { throw .missingTool("callgrind_annotate") }
        guard let strip = which("strip") else { throw .missingTool("strip (binutils)") }
        let out = NSTemporaryDirectory() + "hotpath-callgrind-\(getpid()).out"
        let stripped = NSTemporaryDirectory() + "hotpath-nodebug-\(getpid())"
        defer {
            try? FileManager.default.removeItem(atPath: out)
            try? FileManager.default.removeItem(atPath: stripped)
        }
        _ = try run(
            strip, ["--strip-debug", "-o", stripped, executable], environment: ProcessInfo.processInfo.environment)
        var environment = ProcessInfo.processInfo.environment
        environment["HOTPATH_PORTABLE"] = "1"
        environment["SWIFT_DETERMINISTIC_HASHING"] = "1"
        let work = ["bench", "instructions", "--work", "--messages", "\(messages)", "--config", config]
        let units = try run(
            valgrind,
            [
                "--tool=callgrind", "--callgrind-out-file=\(out)", "--collect-atstart=no",
                "--toggle-collect=hp_stage_*", stripped,
            ] + work, environment: environment)
        let annotated = try run(annotate, ["--inclusive=yes", "--threshold=100", out], environment: environment)
        return try parse(unitsJSON: units, annotated: annotated, messages: messages)
    }

    /// Builds the counts from the workload's units line and callgrind_annotate's listing,
    /// whose rows read `1,234,567 (12.34%)  ???:hp_stage_features [/path/hotpath]`.
    static func parse(unitsJSON: String, annotated: String, messages: Int) throws(Failure) -> InstructionCount {
        guard let data = unitsJSON.split(separator: "\n").last.map({ Data($0.utf8) }),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let records = (object["records"] as? NSNumber)?.intValue,
            let updates = (object["updates"] as? NSNumber)?.intValue,
            let evaluations = (object["evaluations"] as? NSNumber)?.intValue
        else { throw .unreadable("the workload printed no units line: \(unitsJSON.suffix(200))") }
        let units = InstructionWork.Units(records: records, updates: updates, evaluations: evaluations)
        var result = InstructionCount()
        result.messages = messages
        for stage in InstructionWork.Stage.allCases {
            guard
                let line = annotated.split(separator: "\n").first(where: {
                    $0.hasSuffix(":" + stage.symbol) || $0.contains(":" + stage.symbol + " ")
                }),
                let first = line.split(separator: " ", omittingEmptySubsequences: true).first,
                let count = UInt64(first.replacingOccurrences(of: ",", with: ""))
            else { throw .unreadable("no count for \(stage.symbol)") }
            result.stages.append((stage, Entry(instructions: count, units: stage.units(units))))
        }
        return result
    }

    static func which(_ tool: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(tool)" }.first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
    }

    /// Runs a tool to completion; its standard output, or its last stderr lines on failure.
    /// Standard error goes to a file, so a chatty tool (valgrind) never fills a pipe.
    static func run(_ tool: String, _ arguments: [String], environment: [String: String]) throws(Failure) -> String {
        let errorPath = NSTemporaryDirectory() + "hotpath-tool-\(getpid()).err"
        guard FileManager.default.createFile(atPath: errorPath, contents: nil),
            let errorFile = FileHandle(forWritingAtPath: errorPath)
        else { throw .toolFailed(tool, -1, "cannot create \(errorPath)") }
        defer { try? errorFile.close(); try? FileManager.default.removeItem(atPath: errorPath) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.environment = environment
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = errorFile
        do { try process.run() } catch { throw .toolFailed(tool, -1, "\(error)") }
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let errors = FileManager.default.contents(atPath: errorPath) ?? Data()
            let tail = String(decoding: errors, as: UTF8.self).split(separator: "\n").suffix(3).joined(separator: " | ")
            throw .toolFailed((tool as NSString).lastPathComponent, process.terminationStatus, tail)
        }
        return String(decoding: output, as: UTF8.self)
    }

    // MARK: JSON

    public var json: String {
        let stageText = stages.map { s, e in
            JSONText.quote(s.rawValue) + ":"
                + JSONText.object([
                    ("instructions", "\(e.instructions)"), ("units", "\(e.units)"),
                    ("per_unit", format("%.2f", e.perUnit)),
                ])
        }.joined(separator: ",")
        return JSONText.object([("messages", "\(messages)"), ("portable", "true"), ("stages", "{\(stageText)}")])
    }

    public var text: String {
        var out = "stage          instructions        units   per unit\n"
        for (s, e) in stages {
            out +=
                s.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0)
                + String(repeating: " ", count: max(0, 15 - "\(e.instructions)".count)) + "\(e.instructions)"
                + String(repeating: " ", count: max(0, 13 - "\(e.units)".count)) + "\(e.units)"
                + format("%11.1f", e.perUnit) + "\n"
        }
        return out
    }

    /// Reads counts written by `json`.
    public static func load(path: String) throws(ConfigError) -> InstructionCount {
        func fail(_ key: String, _ reason: String) -> ConfigError { ConfigError(file: path, key: key, reason: reason) }
        guard let data = FileManager.default.contents(atPath: path) else { throw fail("", "cannot read the file") }
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw fail("", "not a JSON object")
        }
        guard let stages = root["stages"] as? [String: Any] else { throw fail("stages", "missing or not an object") }
        var result = InstructionCount()
        result.messages = (root["messages"] as? NSNumber)?.intValue ?? 0
        for stage in InstructionWork.Stage.allCases {
            guard let o = stages[stage.rawValue] as? [String: Any] else { continue }
            guard let i = (o["instructions"] as? NSNumber)?.doubleValue, i.isFinite, i >= 0, i < 1.8e19,
                let u = (o["units"] as? NSNumber)?.doubleValue, u.isFinite, u >= 0, u < 9e18
            else { throw fail("stages.\(stage.rawValue)", "instructions and units must be non-negative numbers") }
            result.stages.append((stage, Entry(instructions: UInt64(i), units: Int(u))))
        }
        guard !result.stages.isEmpty else {
            throw fail(
                "stages",
                "no stage this build counts (\(InstructionWork.Stage.allCases.map(\.rawValue).joined(separator: ", ")))"
            )
        }
        return result
    }
}
