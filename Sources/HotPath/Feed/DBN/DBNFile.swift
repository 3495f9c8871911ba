/// A DBN file in memory (plain, zstd or gzip) with its parsed metadata: the cold-path entry point
/// for `decode`, `book` and replay.
public struct DBNFile: Sendable {
    public let input: InputFile
    public let metadata: DBNMetadata

    public init(path: String) throws(FeedError) {
        try self.init(input: InputFile(path: path))
    }

    /// From an input already in memory (`FeedFile.open` reads each file once).
    public init(input: InputFile) throws(FeedError) {
        self.input = input
        if input.isStreamed && input.bytes.count >= 8 {
            try input.ensureWindow(holds: 8 + Int(UnsafeRawPointer(input.bytes.baseAddress!).le(4, as: UInt32.self)))
        }
        metadata = try DBNMetadata(bytes: input.bytes, file: input.path)
    }

    public var path: String { input.path }

    /// A cursor at the first record.
    public func cursor() -> DBNRecordCursor { DBNRecordCursor(bytes: input.bytes, from: metadata.recordsOffset) }

    /// Records skipped while the stream went on.
    public struct Skips: Equatable, Sendable {
        public var unknownType = 0
        public var short = 0
        public var total: Int { unknownType + short }

        public init(unknownType: Int = 0, short: Int = 0) {
            self.unknownType = unknownType
            self.short = short
        }
        public var summary: String {
            "skipped \(unknownType) record(s) of unknown type and \(short) shorter than their type"
        }

        public mutating func add(_ other: Skips) {
            unknownType += other.unknownType
            short += other.short
        }
    }

    /// Emits every record (up to `limit`) as the official Transcoder's JSON line. Throws at
    /// a record that cannot be framed, after emitting the ones before it.
    @discardableResult
    public func jsonLines(raw: Bool = false, limit: Int? = nil, _ emit: (String) -> Void) throws(FeedError) -> Skips {
        var cursor = cursor()
        var printed = 0
        let (skips, end) = DBNFile.jsonLines(
            metadata: metadata, cursor: &cursor, refill: { input.refill(&$0) }, raw: raw, limit: limit,
            printed: &printed, emit: emit)
        try end.check(file: path, input: input)
        return skips
    }

    /// Whether a SystemMsg record is a gateway heartbeat (its text says so in every version).
    /// (Two loads: "Heartbea" as a little-endian word, then "t"; no allocation.)
    public static func isHeartbeat(_ record: UnsafeRawPointer, length: Int) -> Bool {
        length >= 25 && record.le(16, as: UInt64.self) == 0x6165_6274_7261_6548
            && record.load(fromByteOffset: 24, as: UInt8.self) == UInt8(ascii: "t")
    }

    /// What a JSON walk does with a record before printing it.
    public enum RecordControl { case emit, skip, stop }

    /// The one JSON walk over DBN records, for files and the live gateway: from `cursor` on,
    /// each record `control` lets through becomes a Transcoder JSON line, until the end,
    /// `limit` lines in all (`printed` counts them across calls), or `control` says stop.
    public static func jsonLines(
        metadata: DBNMetadata, cursor: inout DBNRecordCursor, refill: (inout DBNRecordCursor) -> Bool, raw: Bool,
        limit: Int?, printed: inout Int, control: (DBNRecordCursor) -> RecordControl = { _ in .emit },
        emit: (String) -> Void
    ) -> (Skips, WalkEnd) {
        var writer = DBNJSONWriter(metadata: metadata, pretty: !raw)
        var skips = Skips()
        let tsOutBytes = metadata.tsOut ? 8 : 0
        guard limit.map({ printed < $0 }) ?? true else { return (skips, .stopped) }
        let end = cursor.walk(refill: refill) { c in
            switch control(c) {
            case .stop: return false
            case .skip: return true
            case .emit: break
            }
            let rtype = c.record.load(fromByteOffset: 1, as: UInt8.self)
            guard let layout = DBNLayout.forRecord(rtype: rtype, version: metadata.version) else {
                skips.unknownType += 1
                return true
            }
            guard c.length >= layout.size + tsOutBytes else {
                skips.short += 1
                return true
            }
            emit(writer.line(c.record, layout: layout))
            printed += 1
            return limit.map { printed < $0 } ?? true
        }
        return (skips, end)
    }
}
