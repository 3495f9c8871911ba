/// A signals file read back, by `hotpath verify` and by a sink before it appends: how many
/// whole records the file holds, their sequence range, and where a torn tail starts.
///
/// The sink writes whole records in each write(2) (`BufferedWriter`), but a SIGKILL can still
/// cut a write short, so the last record of a killed run may be torn. A record is whole when:
/// - CSV: its line ends in a newline and has the header's cell count, a sequence first and
///   BUY or SELL as the side;
/// - JSON lines: its line ends in a newline, starts `{"sequence":N,` and ends `}`;
/// - binary: all 64 bytes (216 wide) are there, and the side, strength, urgency and risk
///   bytes hold values the engine writes.
///
/// Sequences must rise. A gap (a signal a full ring dropped, counted at the time) is
/// reported, not refused. A malformed record before the last one is damage, not a tear: a
/// kill only cuts the end, so the sink refuses to append to such a file.
public struct SignalFileCheck: Equatable, Sendable {
    public var format: EngineConfig.SignalFormat
    /// Records carry their members' outputs (`[output] wide`).
    public var wide: Bool
    /// CSV: the header's member columns.
    public var members = 0
    /// CSV: the header has the `model` column.
    public var identified = true
    public var records = 0
    public var firstSequence: UInt64 = 0
    public var lastSequence: UInt64 = 0
    /// Places where the sequence skips numbers.
    public var gaps = 0
    /// Where the last whole record ends (the header included); the torn tail follows.
    public var wholeBytes = 0
    public var tornBytes = 0
    /// The first malformed record before the tail, with its line or byte offset.
    public var damage: String? = nil

    public var isWhole: Bool { tornBytes == 0 && damage == nil }

    /// One line: `812 signals, sequence 1…812, 0 gaps; whole` (or the tear, or the damage).
    public var summary: String {
        let range = records > 0 ? ", sequence \(firstSequence)…\(lastSequence), \(gaps) gaps" : ""
        let state =
            if let damage { "damaged: \(damage)" } else if tornBytes > 0 {
                "torn: \(tornBytes) bytes after the last whole record (at byte \(wholeBytes))"
            } else { "whole" }
        return "\(records) signals (\(format.rawValue)\(wide ? ", wide" : ""))\(range); \(state)"
    }

    var json: String {
        JSONText.object([
            ("format", JSONText.quote(format.rawValue)), ("wide", wide ? "true" : "false"),
            ("records", "\(records)"), ("first_sequence", "\(firstSequence)"),
            ("last_sequence", "\(lastSequence)"), ("gaps", "\(gaps)"), ("whole_bytes", "\(wholeBytes)"),
            ("torn_bytes", "\(tornBytes)"), ("damage", damage.map(JSONText.quote) ?? "null"),
            ("whole", isWhole ? "true" : "false"),
        ])
    }
}

extension SignalFileCheck {
    /// JSON for `hotpath verify --json`, with the file's path.
    public func json(path: String) -> String { "{\"path\":\(JSONText.quote(path)),\(json.dropFirst())" }

    /// The format a file's first bytes show: `{` JSON lines, the CSV header, else binary.
    public static func guessFormat(_ bytes: [UInt8]) -> EngineConfig.SignalFormat {
        if bytes.first == UInt8(ascii: "{") { return .jsonl }
        if bytes.starts(with: "sequence,".utf8) { return .csv }
        return .binary
    }

    /// Checks `bytes` as a signals file of `format`; `wide` matters only for binary (the
    /// others say so themselves).
    public init(bytes: [UInt8], format: EngineConfig.SignalFormat, wide: Bool = false) {
        self.format = format
        self.wide = wide
        switch format {
        case .binary: checkBinary(bytes)
        case .csv, .jsonl: checkLines(bytes)
        }
    }

    /// Reads and checks the file at `path`; nil when it cannot be read.
    public init?(path: String, format: EngineConfig.SignalFormat?, wide: Bool = false) {
        guard let bytes = SystemFile.readBytes(path, limit: Int.max) else { return nil }
        self.init(bytes: bytes, format: format ?? Self.guessFormat(bytes), wide: wide)
    }

    private mutating func take(_ sequence: UInt64, at place: @autoclosure () -> String) -> Bool {
        if records > 0 && sequence <= lastSequence {
            damage = "\(place()): sequence \(sequence) after \(lastSequence)"
            return false
        }
        if records == 0 { firstSequence = sequence } else if sequence != lastSequence + 1 { gaps += 1 }
        lastSequence = sequence
        records += 1
        return true
    }

    private mutating func checkBinary(_ bytes: [UInt8]) {
        let size = MemoryLayout<Signal>.size + (wide ? MemberRecord.size : 0)
        bytes.withUnsafeBytes { raw in
            var at = 0
            while at + size <= raw.count {
                let side = raw[at + 60], strength = raw[at + 61], urgency = raw[at + 62], risk = raw[at + 63]
                guard side == Event.Side.bid || side == Event.Side.ask, strength <= 2, urgency <= 1, risk <= 2 else {
                    damage = "byte \(at): not a signal record (side, strength, urgency, risk out of range)"
                    return
                }
                guard take(raw.loadUnaligned(fromByteOffset: at, as: UInt64.self), at: "byte \(at)") else { return }
                at += size
            }
            wholeBytes = at
            tornBytes = raw.count - at
        }
    }

    private mutating func checkLines(_ bytes: [UInt8]) {
        let newline = UInt8(ascii: "\n")
        var start = 0
        var line = 0
        var cells = 0
        while let end = bytes[start...].firstIndex(of: newline) {
            line += 1
            let text = bytes[start..<end]
            if format == .csv && line == 1 {
                // The signal's columns, `model` (files from before it lack it), the wide ones.
                let names = text.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
                let base = Signal.csvHeader.count { $0 == "," } + 1
                guard names.count >= base, text.starts(with: Signal.csvHeader.utf8),
                    names.count == base || names[base].elementsEqual("model".utf8)
                        || names[base].elementsEqual("regime".utf8)
                else {
                    damage = "line 1: not the signals header"
                    return
                }
                identified = names.count > base && names[base].elementsEqual("model".utf8)
                cells = names.count
                members = names.count { $0.count > 4 && $0.suffix(4).elementsEqual("_buy".utf8) }
                wide = members > 0
            } else {
                guard let sequence = format == .csv ? csvSequence(text, cells: cells) : jsonSequence(text) else {
                    damage = "line \(line): not a whole \(format == .csv ? "CSV" : "JSON") signal"
                    return
                }
                guard take(sequence, at: "line \(line)") else { return }
            }
            start = end + 1
        }
        wholeBytes = start
        tornBytes = bytes.count - start
    }

    /// The sequence of a CSV signal line with `cells` cells and BUY or SELL in the side's.
    private func csvSequence(_ line: ArraySlice<UInt8>, cells: Int) -> UInt64? {
        let comma = UInt8(ascii: ",")
        guard line.count(where: { $0 == comma }) + 1 == cells else { return nil }
        let parts = line.split(separator: comma, maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count == 6, parts[4].elementsEqual("BUY".utf8) || parts[4].elementsEqual("SELL".utf8) else {
            return nil
        }
        return Self.decimal(parts[0])
    }

    /// The sequence of `{"sequence":N,…}`.
    private func jsonSequence(_ line: ArraySlice<UInt8>) -> UInt64? {
        let prefix = Array("{\"sequence\":".utf8)
        guard line.starts(with: prefix), line.last == UInt8(ascii: "}") else { return nil }
        let digits = line.dropFirst(prefix.count).prefix { $0 != UInt8(ascii: ",") }
        return Self.decimal(digits)
    }

    private static func decimal(_ digits: ArraySlice<UInt8>) -> UInt64? {
        guard !digits.isEmpty, digits.count <= 20 else { return nil }
        var v: UInt64 = 0
        for d in digits {
            guard d >= 48 && d <= 57 else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(UInt64(d - 48))
            if o1 || o2 { return nil }
            v = s
        }
        return v
    }
}
