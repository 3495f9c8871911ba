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
        public var summary: String {
            "skipped \(unknownType) record(s) of unknown type and \(short) shorter than their type"
        }
    }

    /// Emits every record (up to `limit`) as the official Transcoder's JSON line. Throws at
    /// a record that cannot be framed, after emitting the ones before it.
    @discardableResult
    public func jsonLines(raw: Bool = false, limit: Int? = nil, _ emit: (String) -> Void) throws(FeedError) -> Skips {
        var writer = DBNJSONWriter(metadata: metadata, pretty: !raw)
        var cursor = cursor()
        var skips = Skips()
        var printed = 0
        let tsOutBytes = metadata.tsOut ? 8 : 0
        try cursor.walk(refill: { input.refill(&$0) }) { c in
            guard limit.map({ printed < $0 }) ?? true else { return false }
            guard
                let layout = DBNLayout.forRecord(
                    rtype: c.record.load(fromByteOffset: 1, as: UInt8.self), version: metadata.version)
            else {
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
        }.check(file: path, input: input)
        return skips
    }
}
