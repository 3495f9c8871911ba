/// A TOML 1.0 parser of our own, for the engine and budgets files. Cold path.
///
/// Why not a library: TOMLKit 0.6.0 (over toml++) leaked on every parse, key listing and
/// string read, and toml++ asserts (aborting the process) on shapes the fuzzer kept finding.
/// This parser owns its memory, reports every bad input as a line and a column, and never
/// traps: nesting is bounded and integers are checked.
///
/// The rules are the specification's (toml.io/en/v1.0.0), applied the way Python's `tomllib`
/// applies them, which `TOMLTests` checks on a committed set of documents
/// (`Tests/Fixtures/toml/cases.jsonl`, made by `scripts/toml_cases.py`):
/// - A table is *declared* by a `[header]` or `[[header]]`, and a dotted key opens its parents
///   *implicitly*. A table cannot be declared twice; one opened by a dotted key cannot be
///   declared after its section, nor reached by a dotted key from another section.
/// - An inline table or an array written as a value is *frozen*: nothing may add to it.
/// - `[[name]]` appends a table to an array of tables; headers below it reach its last table.
/// - The text is UTF-8; CRLF is read as LF. A leading byte-order mark is skipped (tomllib
///   refuses it).
///
/// Deliberate refusals where tomllib accepts: integers outside 64 bits, and arrays, inline
/// tables or dotted keys nested deeper than `maxDepth`.
enum TOMLValue {
    case string(String)
    case integer(Int)
    case float(Double)
    case boolean(Bool)
    /// An offset or local date-time, a local date or a local time, as written (checked).
    case dateTime(String)
    case array(TOMLArray)
    case table(TOMLTable)
}

/// A table: its keys in document order. A class, so a parse can reach into a table it made.
final class TOMLTable {
    private(set) var keys: [String] = []
    private var values: [String: TOMLValue] = [:]

    subscript(key: String) -> TOMLValue? {
        get { values[key] }
        set {
            if values[key] == nil { keys.append(key) }
            values[key] = newValue
        }
    }
}

final class TOMLArray {
    var items: [TOMLValue] = []
    init(_ items: [TOMLValue] = []) { self.items = items }
}

struct TOMLSyntaxError: Error {
    var line: Int
    var column: Int
    var reason: String
}

struct TOMLParser {
    static let maxDepth = 64

    private let b: [UInt8]
    private var i = 0
    private let root = TOMLTable()
    /// Flags by key path from the root (see the type's comment); `pending` holds the implicit
    /// opens of the current section, which take effect at the next header.
    private var flags = FlagNode()
    private var pending: [[String]] = []
    private var depth = 0

    /// Parses a whole document.
    static func parse(_ bytes: [UInt8]) throws(TOMLSyntaxError) -> TOMLTable {
        var p = TOMLParser(bytes)
        var decoder = Unicode.UTF8.ForwardParser(), it = p.b.makeIterator(), at = 0
        decoding: while true {
            switch decoder.parseScalar(from: &it) {
            case .valid(let s): at += s.count
            case .error: throw p.fail("the file is not UTF-8", at: at)
            case .emptyInput: break decoding
            }
        }
        return try p.document()
    }

    private init(_ bytes: [UInt8]) {
        var b: [UInt8] = []
        b.reserveCapacity(bytes.count)
        var k = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        while k < bytes.count {
            if bytes[k] == 0x0D, k + 1 < bytes.count, bytes[k + 1] == 0x0A { k += 1 }
            b.append(bytes[k])
            k += 1
        }
        self.b = b
    }

    // MARK: The document

    private mutating func document() throws(TOMLSyntaxError) -> TOMLTable {
        var header: [String] = []
        while true {
            skip(whitespace)
            guard i < b.count else { break }
            let c = b[i]
            if c == newline {
                i += 1
                continue
            }
            if isBareKey(c) || c == quote || c == apostrophe {
                try keyValue(under: header)
                skip(whitespace)
            } else if c == openBracket {
                for path in pending { flags.set(path, .declared, recursive: false) }
                pending.removeAll()
                header = at(i + 1) == openBracket ? try arrayTableHeader() : try tableHeader()
                skip(whitespace)
            } else if c != hash {
                throw fail("expected a key, a [table] or a comment")
            }
            try skipComment()
            guard i < b.count else { break }
            guard b[i] == newline else { throw fail("expected the end of the line after a statement") }
            i += 1
        }
        return root
    }

    private mutating func keyValue(under header: [String]) throws(TOMLSyntaxError) {
        let start = i
        let (key, value) = try keyValuePair()
        let parent = header + key.dropLast()
        for n in 1..<key.count {
            let path = header + key.prefix(n)
            if flags.has(path, .declared) {
                throw fail("\(dotted(path)) is a table already declared; a dotted key cannot add to it", at: start)
            }
            pending.append(path)
        }
        if flags.has(parent, .frozen) { throw fail("\(dotted(parent)) cannot be added to", at: start) }
        guard let table = nest(parent, intoArrays: true) else {
            throw fail("\(dotted(parent)) is not a table", at: start)
        }
        if table[key.last!] != nil { throw fail("\(dotted(header + key)) is defined twice", at: start) }
        if case .array = value { flags.set(header + key, .frozen, recursive: true) }
        if case .table = value { flags.set(header + key, .frozen, recursive: true) }
        table[key.last!] = value
    }

    private mutating func tableHeader() throws(TOMLSyntaxError) -> [String] {
        let start = i
        i += 1
        skip(whitespace)
        let key = try key()
        if flags.has(key, .declared) || flags.has(key, .frozen) {
            throw fail("[\(dotted(key))] is declared twice", at: start)
        }
        flags.set(key, .declared, recursive: false)
        guard nest(key, intoArrays: true) != nil else { throw fail("\(dotted(key)) is not a table", at: start) }
        guard at(i) == closeBracket else { throw fail("expected ']' to close the table header") }
        i += 1
        return key
    }

    private mutating func arrayTableHeader() throws(TOMLSyntaxError) -> [String] {
        let start = i
        i += 2
        skip(whitespace)
        let key = try key()
        if flags.has(key, .frozen) { throw fail("\(dotted(key)) cannot be added to", at: start) }
        flags.clear(key)
        flags.set(key, .declared, recursive: false)
        guard let parent = nest(key.dropLast(), intoArrays: true) else {
            throw fail("\(dotted(key)) is not a table", at: start)
        }
        switch parent[key.last!] {
        case nil: parent[key.last!] = .array(TOMLArray([.table(TOMLTable())]))
        case .array(let a)?: a.items.append(.table(TOMLTable()))
        default: throw fail("\(dotted(key)) is not an array of tables", at: start)
        }
        guard at(i) == closeBracket, at(i + 1) == closeBracket else {
            throw fail("expected ']]' to close the array-of-tables header")
        }
        i += 2
        return key
    }

    /// The table at `path` from the root, made where absent; through an array, its last table.
    /// nil when a value other than a table is in the way.
    private func nest<C: Collection<String>>(_ path: C, intoArrays: Bool, from top: TOMLTable? = nil) -> TOMLTable? {
        var table = top ?? root
        for k in path {
            if table[k] == nil { table[k] = .table(TOMLTable()) }
            switch table[k]! {
            case .table(let t): table = t
            case .array(let a) where intoArrays:
                guard case .table(let t)? = a.items.last else { return nil }
                table = t
            default: return nil
            }
        }
        return table
    }

    // MARK: Keys

    private mutating func keyValuePair() throws(TOMLSyntaxError) -> ([String], TOMLValue) {
        let key = try key()
        guard at(i) == equals else { throw fail("expected '=' after the key \(dotted(key))") }
        i += 1
        skip(whitespace)
        return (key, try value())
    }

    private mutating func key() throws(TOMLSyntaxError) -> [String] {
        var parts = [try keyPart()]
        skip(whitespace)
        while at(i) == dot {
            guard parts.count < Self.maxDepth else { throw fail("a key of more than \(Self.maxDepth) parts") }
            i += 1
            skip(whitespace)
            parts.append(try keyPart())
            skip(whitespace)
        }
        return parts
    }

    private mutating func keyPart() throws(TOMLSyntaxError) -> String {
        let c = at(i)
        if isBareKey(c) {
            let start = i
            while i < b.count, isBareKey(b[i]) { i += 1 }
            return String(decoding: b[start..<i], as: UTF8.self)
        }
        if c == apostrophe { return try literalString() }
        if c == quote {
            i += 1
            return try basicString(multiline: false)
        }
        throw fail("expected a key (letters, digits, '-', '_' or a quoted key)")
    }

    // MARK: Values

    private mutating func value() throws(TOMLSyntaxError) -> TOMLValue {
        let c = at(i)
        switch c {
        case quote:
            if starts("\"\"\"") { return .string(try multilineString(literal: false)) }
            i += 1
            return .string(try basicString(multiline: false))
        case apostrophe:
            return .string(starts("'''") ? try multilineString(literal: true) : try literalString())
        case UInt8(ascii: "t") where starts("true"):
            i += 4
            return .boolean(true)
        case UInt8(ascii: "f") where starts("false"):
            i += 5
            return .boolean(false)
        case openBracket: return try array()
        case openBrace: return try inlineTable()
        default: break
        }
        if let end = dateTimeEnd() ?? localTimeEnd(i) {
            defer { i = end }
            return .dateTime(String(decoding: b[i..<end], as: UTF8.self))
        }
        if let number = try number() { return number }
        for (word, x) in [("inf", Double.infinity), ("nan", Double.nan)] {
            for sign in ["", "+", "-"] where starts(sign + word) {
                i += sign.utf8.count + 3
                return .float(sign == "-" ? -x : x)
            }
        }
        throw fail("expected a value")
    }

    private mutating func nested<T>(
        _ body: (inout TOMLParser) throws(TOMLSyntaxError) -> T
    ) throws(TOMLSyntaxError) -> T {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maxDepth else { throw fail("arrays and inline tables nest deeper than \(Self.maxDepth)") }
        return try body(&self)
    }

    private mutating func array() throws(TOMLSyntaxError) -> TOMLValue {
        try nested { (p: inout TOMLParser) throws(TOMLSyntaxError) -> TOMLValue in
            let items = TOMLArray()
            p.i += 1
            try p.skipArraySpace()
            while p.at(p.i) != closeBracket {
                items.items.append(try p.value())
                try p.skipArraySpace()
                if p.at(p.i) == closeBracket { break }
                guard p.at(p.i) == comma else { throw p.fail("expected ',' or ']' in an array") }
                p.i += 1
                try p.skipArraySpace()
            }
            p.i += 1
            return .array(items)
        }
    }

    private mutating func inlineTable() throws(TOMLSyntaxError) -> TOMLValue {
        try nested { (p: inout TOMLParser) throws(TOMLSyntaxError) -> TOMLValue in
            let table = TOMLTable()
            var frozen = FlagNode()
            p.i += 1
            p.skip(whitespace)
            if p.at(p.i) == closeBrace {
                p.i += 1
                return .table(table)
            }
            while true {
                let start = p.i
                let (key, value) = try p.keyValuePair()
                if frozen.has(key, .frozen) { throw p.fail("\(dotted(key)) cannot be added to", at: start) }
                guard let parent = p.nest(key.dropLast(), intoArrays: false, from: table) else {
                    throw p.fail("\(dotted(key.dropLast())) is not a table", at: start)
                }
                if parent[key.last!] != nil { throw p.fail("\(dotted(key)) is defined twice", at: start) }
                parent[key.last!] = value
                p.skip(whitespace)
                if p.at(p.i) == closeBrace {
                    p.i += 1
                    return .table(table)
                }
                guard p.at(p.i) == comma else { throw p.fail("expected ',' or '}' in an inline table") }
                switch value {
                case .array, .table: frozen.set(key, .frozen, recursive: true)
                default: break
                }
                p.i += 1
                p.skip(whitespace)
            }
        }
    }

    /// Newlines, spaces and comments between an array's items.
    private mutating func skipArraySpace() throws(TOMLSyntaxError) {
        while true {
            let before = i
            skip(whitespaceOrNewline)
            try skipComment()
            if i == before { return }
        }
    }

    // MARK: Strings

    /// After the opening quote(s), through the closing ones.
    private mutating func basicString(multiline: Bool) throws(TOMLSyntaxError) -> String {
        var out: [UInt8] = []
        while true {
            guard i < b.count else { throw fail("the string is not closed") }
            let c = b[i]
            if c == quote {
                if !multiline {
                    i += 1
                    return String(decoding: out, as: UTF8.self)
                }
                if starts("\"\"\"") {
                    i += 3
                    return String(decoding: out, as: UTF8.self)
                }
            } else if c == backslash {
                try escape(multiline: multiline, into: &out)
                continue
            } else if isControl(c), c != tab, !(multiline && c == newline) {
                throw fail("a control character (0x\(hex2(c))) in a string")
            }
            out.append(c)
            i += 1
        }
    }

    private mutating func escape(multiline: Bool, into out: inout [UInt8]) throws(TOMLSyntaxError) {
        let e = at(i + 1)
        i += 2
        if multiline, e == space || e == tab || e == newline {
            // A line-ending backslash: the newline and the whitespace after it go.
            if e != newline {
                skip(whitespace)
                guard i < b.count else { return }
                guard b[i] == newline else {
                    throw fail("a '\\' followed by spaces must end the line", at: i)
                }
                i += 1
            }
            skip(whitespaceOrNewline)
            return
        }
        let simple: [UInt8: UInt8] = [
            UInt8(ascii: "b"): 0x08, UInt8(ascii: "t"): 0x09, UInt8(ascii: "n"): 0x0A, UInt8(ascii: "f"): 0x0C,
            UInt8(ascii: "r"): 0x0D, quote: quote, backslash: backslash,
        ]
        if let s = simple[e] {
            out.append(s)
            return
        }
        guard e == UInt8(ascii: "u") || e == UInt8(ascii: "U") else {
            throw fail("an unknown escape '\\\(Character(Unicode.Scalar(e)))'", at: i - 2)
        }
        let count = e == UInt8(ascii: "u") ? 4 : 8
        var v: UInt32 = 0
        for k in 0..<count {
            guard let d = hexDigit(at(i + k)) else {
                throw fail("expected \(count) hex digits after '\\\(Character(Unicode.Scalar(e)))'", at: i - 2)
            }
            v = v << 4 | UInt32(d)
        }
        guard let scalar = Unicode.Scalar(v) else {
            throw fail(
                "\\\(Character(Unicode.Scalar(e)))\(String(v, radix: 16)) is not a Unicode scalar value", at: i - 2)
        }
        i += count
        out.append(contentsOf: String(Character(scalar)).utf8)
    }

    /// A one-line literal string: from its apostrophe through the next.
    private mutating func literalString() throws(TOMLSyntaxError) -> String {
        i += 1
        let start = i
        while i < b.count, b[i] != apostrophe {
            if isControl(b[i]), b[i] != tab { throw fail("a control character (0x\(hex2(b[i]))) in a string") }
            i += 1
        }
        guard i < b.count else { throw fail("the string is not closed", at: start - 1) }
        i += 1
        return String(decoding: b[start..<(i - 1)], as: UTF8.self)
    }

    /// A multi-line string from its three quotes; a newline right after them is not part of
    /// it, and up to two more quotes before the closing three are.
    private mutating func multilineString(literal: Bool) throws(TOMLSyntaxError) -> String {
        let delimiter = literal ? apostrophe : quote
        i += 3
        if at(i) == newline { i += 1 }
        var text: String
        if literal {
            let start = i
            while !starts("'''") {
                guard i < b.count else { throw fail("the string is not closed", at: start) }
                if isControl(b[i]), b[i] != tab, b[i] != newline {
                    throw fail("a control character (0x\(hex2(b[i]))) in a string")
                }
                i += 1
            }
            text = String(decoding: b[start..<i], as: UTF8.self)
            i += 3
        } else {
            text = try basicString(multiline: true)
        }
        for _ in 0..<2 where at(i) == delimiter {
            text.append(Character(Unicode.Scalar(delimiter)))
            i += 1
        }
        return text
    }

    // MARK: Numbers, dates and times

    /// An integer (decimal, 0x, 0o, 0b) or a decimal float; nil when none starts here.
    private mutating func number() throws(TOMLSyntaxError) -> TOMLValue? {
        let start = i
        if at(i) == zero, let radix = [UInt8(ascii: "x"): 16, UInt8(ascii: "o"): 8, UInt8(ascii: "b"): 2][at(i + 1)],
            let end = digitsEnd(i + 2, radix: radix)
        {
            i = end
            return .integer(try integer(b[(start + 2)..<end], radix: radix, negative: false, at: start))
        }
        var k = i
        if at(k) == plus || at(k) == minus { k += 1 }
        let intStart = k
        if at(k) == zero {
            k += 1
        } else {
            guard let end = digitsEnd(k, radix: 10) else { return nil }
            k = end
        }
        let intEnd = k
        var isFloat = false
        if at(k) == dot, let end = digitsEnd(k + 1, radix: 10) {
            (k, isFloat) = (end, true)
        }
        if at(k) == UInt8(ascii: "e") || at(k) == UInt8(ascii: "E") {
            var e = k + 1
            if at(e) == plus || at(e) == minus { e += 1 }
            if let end = digitsEnd(e, radix: 10) { (k, isFloat) = (end, true) }
        }
        i = k
        if isFloat {
            let text = String(decoding: b[start..<k].filter { $0 != underscore }, as: UTF8.self)
            guard let x = Double(text) else { throw fail("\(text) is not a number", at: start) }
            return .float(x)
        }
        return .integer(try integer(b[intStart..<intEnd], radix: 10, negative: at(start) == minus, at: start))
    }

    /// Where a run of digits in `radix` with single underscores between them ends; nil when
    /// no digit starts at `k`.
    private func digitsEnd(_ k: Int, radix: Int) -> Int? {
        guard digit(at(k), radix: radix) != nil else { return nil }
        var k = k + 1
        while true {
            if digit(at(k), radix: radix) != nil {
                k += 1
            } else if at(k) == underscore, digit(at(k + 1), radix: radix) != nil {
                k += 2
            } else {
                return k
            }
        }
    }

    private func integer(
        _ digits: ArraySlice<UInt8>, radix: Int, negative: Bool, at start: Int
    ) throws(TOMLSyntaxError) -> Int {
        var v = 0
        for c in digits where c != underscore {
            let (m, o1) = v.multipliedReportingOverflow(by: radix)
            let (s, o2) =
                negative
                ? m.subtractingReportingOverflow(digit(c, radix: radix)!)
                : m.addingReportingOverflow(digit(c, radix: radix)!)
            guard !o1, !o2 else { throw fail("the integer is outside the 64-bit range", at: start) }
            v = s
        }
        return v
    }

    /// The end of a date (`YYYY-MM-DD`), with an optional time (`T` or a space, then a time
    /// and an optional `Z` or offset), when one starts here and is a real calendar date.
    private func dateTimeEnd() -> Int? {
        guard let year = fixed(i, 4), at(i + 4) == minus, let month = fixed(i + 5, 2), at(i + 7) == minus,
            let day = fixed(i + 8, 2), (1...12).contains(month), day >= 1, year >= 1
        else { return nil }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        guard day <= days else { return nil }
        var k = i + 10
        let t = at(k)
        guard t == UInt8(ascii: "T") || t == UInt8(ascii: "t") || t == space, let end = localTimeEnd(k + 1) else {
            return k
        }
        k = end
        if at(k) == UInt8(ascii: "Z") || at(k) == UInt8(ascii: "z") { return k + 1 }
        if at(k) == plus || at(k) == minus, let h = fixed(k + 1, 2), h < 24, at(k + 3) == colon,
            let m = fixed(k + 4, 2), m < 60
        {
            return k + 6
        }
        return k
    }

    /// The end of `HH:MM:SS[.fraction]` starting at `k`.
    private func localTimeEnd(_ k: Int) -> Int? {
        guard let h = fixed(k, 2), h < 24, at(k + 2) == colon, let m = fixed(k + 3, 2), m < 60, at(k + 5) == colon,
            let s = fixed(k + 6, 2), s < 60
        else { return nil }
        var e = k + 8
        if at(e) == dot, digit(at(e + 1), radix: 10) != nil {
            e += 1
            while digit(at(e), radix: 10) != nil { e += 1 }
        }
        return e
    }

    /// `count` decimal digits at `k`, as a number.
    private func fixed(_ k: Int, _ count: Int) -> Int? {
        var v = 0
        for j in k..<(k + count) {
            guard let d = digit(at(j), radix: 10) else { return nil }
            v = v * 10 + d
        }
        return v
    }

    // MARK: Bytes

    private func at(_ k: Int) -> UInt8 { k < b.count ? b[k] : 0xFF }

    private func starts(_ s: String) -> Bool {
        var k = i
        for c in s.utf8 {
            guard at(k) == c else { return false }
            k += 1
        }
        return true
    }

    private mutating func skip(_ set: (UInt8) -> Bool) {
        while i < b.count, set(b[i]) { i += 1 }
    }

    private mutating func skipComment() throws(TOMLSyntaxError) {
        guard at(i) == hash else { return }
        while i < b.count, b[i] != newline {
            if isControl(b[i]), b[i] != tab { throw fail("a control character (0x\(hex2(b[i]))) in a comment") }
            i += 1
        }
    }

    private func fail(_ reason: String, at k: Int? = nil) -> TOMLSyntaxError {
        let k = min(k ?? i, b.count)
        var line = 1, lineStart = 0
        for j in 0..<k where b[j] == newline { (line, lineStart) = (line + 1, j + 1) }
        // The column counts characters, not bytes.
        let column = 1 + b[lineStart..<k].filter { $0 & 0xC0 != 0x80 }.count
        return TOMLSyntaxError(line: line, column: column, reason: reason)
    }
}

// MARK: Flags by key path

/// The two flags a key path can carry, each either on the path itself or on everything below
/// it (`recursive`).
private struct FlagNode {
    enum Flag: UInt8 {
        /// Declared by a header, or opened by a dotted key in a section now closed.
        case declared = 1
        /// An inline table or an array value, and everything in it.
        case frozen = 2
    }

    private var own: UInt8 = 0
    private var below: UInt8 = 0
    private var children: [String: FlagNode] = [:]

    mutating func set<C: Collection<String>>(_ path: C, _ flag: Flag, recursive: Bool) {
        guard let first = path.first else {
            if recursive { below |= flag.rawValue } else { own |= flag.rawValue }
            return
        }
        children[first, default: FlagNode()].set(path.dropFirst(), flag, recursive: recursive)
    }

    func has<C: Collection<String>>(_ path: C, _ flag: Flag) -> Bool {
        guard let first = path.first, let child = children[first] else { return false }
        if path.count == 1 { return (child.own | child.below) & flag.rawValue != 0 }
        if child.below & flag.rawValue != 0 { return true }
        return child.has(path.dropFirst(), flag)
    }

    /// Forgets every flag at and below `path`.
    mutating func clear<C: Collection<String>>(_ path: C) {
        guard let first = path.first else { return }
        if path.count == 1 {
            children[first] = nil
        } else {
            children[first]?.clear(path.dropFirst())
        }
    }
}

private func dotted<C: Collection<String>>(_ key: C) -> String {
    key.map { k in k.utf8.allSatisfy(isBareKey) && !k.isEmpty ? k : "\"\(k)\"" }.joined(separator: ".")
}

private func isBareKey(_ c: UInt8) -> Bool {
    switch c {
    case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
        UInt8(ascii: "0")...UInt8(ascii: "9"),
        UInt8(ascii: "-"), UInt8(ascii: "_"):
        return true
    default: return false
    }
}

private func isControl(_ c: UInt8) -> Bool { c < 0x20 || c == 0x7F }
private func whitespace(_ c: UInt8) -> Bool { c == space || c == tab }
private func whitespaceOrNewline(_ c: UInt8) -> Bool { c == space || c == tab || c == newline }
private func hexDigit(_ c: UInt8) -> Int? { digit(c, radix: 16) }
private func hex2(_ c: UInt8) -> String { (c < 16 ? "0" : "") + String(c, radix: 16, uppercase: true) }

private func digit(_ c: UInt8, radix: Int) -> Int? {
    let v: Int
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): v = Int(c - UInt8(ascii: "0"))
    case UInt8(ascii: "a")...UInt8(ascii: "f"): v = Int(c - UInt8(ascii: "a")) + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): v = Int(c - UInt8(ascii: "A")) + 10
    default: return nil
    }
    return v < radix ? v : nil
}

private let (space, tab, newline) = (UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"))
private let (quote, apostrophe, backslash) = (UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "\\"))
private let (openBracket, closeBracket) = (UInt8(ascii: "["), UInt8(ascii: "]"))
private let (openBrace, closeBrace) = (UInt8(ascii: "{"), UInt8(ascii: "}"))
private let (hash, equals, dot, comma, colon) = (
    UInt8(ascii: "#"), UInt8(ascii: "="), UInt8(ascii: "."), UInt8(ascii: ","), UInt8(ascii: ":")
)
private let (plus, minus, zero, underscore) = (
    UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "0"), UInt8(ascii: "_")
)
