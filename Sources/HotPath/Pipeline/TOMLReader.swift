/// Strict typed reads from one TOML table, for configuration files. Every key read is
/// remembered, so `finish()` can name any key the program does not know (a typo must not be
/// silently ignored). Integers are accepted where a float is expected. Cold path.
struct TOMLReader {
    let file: String
    let table: TOMLTable
    /// The dotted path of this table ("" at the root).
    let path: String
    private var known: Set<String> = []

    init(file: String, table: TOMLTable, path: String = "") {
        self.file = file
        self.table = table
        self.path = path
    }

    /// Parses `text`; a syntax error names its line and column.
    static func parse(file: String, text: String) throws(ConfigError) -> TOMLReader {
        try parse(file: file, bytes: Array(text.utf8))
    }

    static func parse(file: String, bytes: [UInt8]) throws(ConfigError) -> TOMLReader {
        do {
            return TOMLReader(file: file, table: try TOMLParser.parse(bytes))
        } catch {
            throw ConfigError(
                file: file, key: "", reason: "line \(error.line), column \(error.column): \(error.reason)")
        }
    }

    static func load(path: String) throws(ConfigError) -> TOMLReader {
        guard let bytes = SystemFile.readBytes(path, limit: 16 << 20) else {
            throw ConfigError(file: path, key: "", reason: "cannot read the file")
        }
        return try parse(file: path, bytes: bytes)
    }

    func key(_ name: String) -> String { path.isEmpty ? name : path + "." + name }

    func error(_ name: String, _ reason: String) -> ConfigError {
        ConfigError(file: file, key: key(name), reason: reason)
    }

    private mutating func value(_ name: String) -> TOMLValue? {
        known.insert(name)
        return table[name]
    }

    private func typeName(_ v: TOMLValue) -> String {
        switch v {
        case .integer: return "an integer"
        case .float: return "a float"
        case .string: return "a string"
        case .boolean: return "a boolean"
        case .array: return "an array"
        case .table: return "a table"
        case .dateTime: return "a date or time"
        }
    }

    mutating func int(_ name: String, default d: Int, in range: ClosedRange<Int>? = nil) throws(ConfigError) -> Int {
        guard let v = value(name) else { return d }
        guard let i = v.int else { throw error(name, "expected an integer, found \(typeName(v))") }
        if let range, !range.contains(i) {
            throw error(name, "\(i) is outside \(range.lowerBound)...\(range.upperBound)")
        }
        return i
    }

    mutating func double(
        _ name: String, default d: Double, in range: ClosedRange<Double>? = nil
    ) throws(ConfigError) -> Double {
        guard let v = value(name) else { return d }
        guard let x = v.double ?? v.int.map(Double.init) else {
            throw error(name, "expected a number, found \(typeName(v))")
        }
        guard x.isFinite else { throw error(name, "must be finite") }
        if let range, !range.contains(x) {
            throw error(name, "\(x) is outside \(range.lowerBound)...\(range.upperBound)")
        }
        return x
    }

    mutating func bool(_ name: String, default d: Bool) throws(ConfigError) -> Bool {
        guard let v = value(name) else { return d }
        guard let b = v.bool else { throw error(name, "expected true or false, found \(typeName(v))") }
        return b
    }

    mutating func string(_ name: String, default d: String?) throws(ConfigError) -> String? {
        guard let v = value(name) else { return d }
        guard let s = v.string else { throw error(name, "expected a string, found \(typeName(v))") }
        return s
    }

    /// A string that must be one of `choices`.
    mutating func choice(_ name: String, default d: String, _ choices: [String]) throws(ConfigError) -> String {
        let s = try string(name, default: d)!
        guard choices.contains(s) else {
            throw error(name, "\"\(s)\" is not one of \(choices.map { "\"\($0)\"" }.joined(separator: ", "))")
        }
        return s
    }

    mutating func strings(_ name: String) throws(ConfigError) -> [String]? {
        guard let v = value(name) else { return nil }
        guard let array = v.array else { throw error(name, "expected an array of strings, found \(typeName(v))") }
        var out: [String] = []
        for (i, item) in array.enumerated() {
            guard let s = item.string else {
                throw error("\(name)[\(i)]", "expected a string, found \(typeName(item))")
            }
            out.append(s)
        }
        return out
    }

    mutating func doubles(_ name: String) throws(ConfigError) -> [Double]? {
        guard let v = value(name) else { return nil }
        guard let array = v.array else { throw error(name, "expected an array of numbers, found \(typeName(v))") }
        var out: [Double] = []
        for (i, item) in array.enumerated() {
            guard let x = item.double ?? item.int.map(Double.init), x.isFinite else {
                throw error("\(name)[\(i)]", "expected a finite number, found \(typeName(item))")
            }
            out.append(x)
        }
        return out
    }

    mutating func ints(_ name: String) throws(ConfigError) -> [Int]? {
        guard let v = value(name) else { return nil }
        guard let array = v.array else { throw error(name, "expected an array of integers, found \(typeName(v))") }
        var out: [Int] = []
        for (i, item) in array.enumerated() {
            guard let x = item.int else { throw error("\(name)[\(i)]", "expected an integer, found \(typeName(item))") }
            out.append(x)
        }
        return out
    }

    /// A sub-table; nil when absent.
    mutating func table(_ name: String) throws(ConfigError) -> TOMLReader? {
        guard let v = value(name) else { return nil }
        guard let t = v.table else { throw error(name, "expected a table, found \(typeName(v))") }
        return TOMLReader(file: file, table: t, path: key(name))
    }

    /// An array of tables (`[[name]]`); empty when absent.
    mutating func tables(_ name: String) throws(ConfigError) -> [TOMLReader] {
        guard let v = value(name) else { return [] }
        guard let array = v.array else {
            throw error(name, "expected an array of tables ([[\(name)]]), found \(typeName(v))")
        }
        var out: [TOMLReader] = []
        for (i, item) in array.enumerated() {
            guard let t = item.table else { throw error("\(name)[\(i)]", "expected a table, found \(typeName(item))") }
            out.append(TOMLReader(file: file, table: t, path: key("\(name)[\(i)]")))
        }
        return out
    }

    /// Every key of this table, for tables whose keys are names (budgets by stage).
    var keys: [String] { table.keys }

    mutating func markKnown(_ name: String) { known.insert(name) }

    /// Fails on the first key of this table that was never read.
    func finish() throws(ConfigError) {
        for k in table.keys.sorted() where !known.contains(k) {
            throw error(k, "unknown key")
        }
    }
}

extension TOMLValue {
    var int: Int? {
        if case .integer(let v) = self { return v }
        return nil
    }
    var double: Double? {
        if case .float(let v) = self { return v }
        return nil
    }
    var bool: Bool? {
        if case .boolean(let v) = self { return v }
        return nil
    }
    var string: String? {
        if case .string(let v) = self { return v }
        return nil
    }
    var array: [TOMLValue]? {
        if case .array(let v) = self { return v.items }
        return nil
    }
    var table: TOMLTable? {
        if case .table(let v) = self { return v }
        return nil
    }
}
