/// The DBN metadata header (versions 1–3) and its symbology.
///
/// Layout (little-endian, offsets from the file start): "DBN", version u8, u32 length of the
/// rest; 8 dataset char[16]; 24 schema u16; 26 start u64; 34 end u64; 42 limit u64; then
/// v1: 50 record_count u64, 58 stype_in, 59 stype_out, 60 ts_out, reserved to 108;
/// v2/v3: 50 stype_in, 51 stype_out, 52 ts_out, 53 symbol_cstr_len u16, reserved to 108.
/// At 108: schema_definition_length u32 (its bytes are skipped), then the symbols, partial and
/// not_found lists (u32 count + fixed-width C strings), then the mappings.
public struct DBNMetadata: Sendable {
    public struct Interval: Sendable, Equatable {
        /// Dates as YYYYMMDD; the interval is [start, end).
        public var startDate: UInt32
        public var endDate: UInt32
        public var symbol: String
    }

    public var version: UInt8
    public var dataset: String
    public var schema: UInt16
    public var start: UInt64
    public var end: UInt64
    public var limit: UInt64
    public var stypeIn: UInt8
    public var stypeOut: UInt8
    public var tsOut: Bool
    public var symbolLength: Int
    public var symbols: [String]
    public var partial: [String]
    public var notFound: [String]
    /// raw symbol → its intervals (each interval's `symbol` is the output symbol, e.g. an instrument id).
    public var mappings: [(rawSymbol: String, intervals: [Interval])]
    /// Offset of the first record.
    public var recordsOffset: Int

    /// Parses the header at the start of `bytes`. `file` names the input in errors.
    public init(bytes: UnsafeRawBufferPointer, file: String) throws(FeedError) {
        func fail(_ offset: Int, _ reason: String) -> FeedError {
            FeedError(file: file, offset: offset, reason: reason)
        }
        guard bytes.count >= 8, bytes[0] == 0x44, bytes[1] == 0x42, bytes[2] == 0x4E else {
            throw fail(0, "not a DBN file: it does not start with \"DBN\" (nor zstd's magic)")
        }
        let p = bytes.baseAddress!
        version = bytes[3]
        guard (1...3).contains(version) else {
            throw fail(3, "unsupported DBN version \(version) (HotPath reads 1, 2 and 3)")
        }
        let length = Int(p.le(4, as: UInt32.self))
        recordsOffset = 8 + length
        guard recordsOffset <= bytes.count, length >= 104 else {
            throw fail(4, "metadata length \(length) runs past the end of the file (\(bytes.count) bytes)")
        }
        dataset = DBNMetadata.cString(p + 8, max: 16)
        schema = p.le(24)
        start = p.le(26)
        end = p.le(34)
        limit = p.le(42)
        let symLen: Int
        if version == 1 {
            stypeIn = bytes[58]; stypeOut = bytes[59]; tsOut = bytes[60] != 0
            symLen = 22
        } else {
            stypeIn = bytes[50]; stypeOut = bytes[51]; tsOut = bytes[52] != 0
            symLen = Int(p.le(53, as: UInt16.self))
            guard symLen > 0 else { throw fail(53, "symbol_cstr_len is 0") }
        }
        symbolLength = symLen
        var at = 108
        let end = 8 + length
        func u32() throws(FeedError) -> Int {
            guard at + 4 <= end else { throw fail(at, "metadata truncated: a u32 runs past its end at \(end)") }
            defer { at += 4 }
            return Int(p.le(at, as: UInt32.self))
        }
        func symbol() throws(FeedError) -> String {
            guard at + symLen <= end else { throw fail(at, "metadata truncated: a symbol runs past its end at \(end)") }
            defer { at += symLen }
            return DBNMetadata.cString(p + at, max: symLen)
        }
        let schemaDefinitionLength = try u32()
        at += schemaDefinitionLength
        func list() throws(FeedError) -> [String] {
            let n = try u32()
            guard n <= (end - at) / max(1, symLen) else { throw fail(at - 4, "symbol count \(n) exceeds the metadata") }
            var out: [String] = []
            for _ in 0..<n { out.append(try symbol()) }
            return out
        }
        let symbolList = try list(), partialList = try list(), notFoundList = try list()
        var maps: [(String, [Interval])] = []
        let mappingCount = try u32()
        guard mappingCount <= (end - at) / max(1, symLen) else {
            throw fail(at - 4, "mapping count \(mappingCount) exceeds the metadata")
        }
        for _ in 0..<mappingCount {
            let raw = try symbol()
            let n = try u32()
            guard n <= (end - at) / 8 else { throw fail(at - 4, "interval count \(n) exceeds the metadata") }
            var intervals: [Interval] = []
            for _ in 0..<n {
                let s = UInt32(try u32()), e = UInt32(try u32())
                intervals.append(Interval(startDate: s, endDate: e, symbol: try symbol()))
            }
            maps.append((raw, intervals))
        }
        symbols = symbolList
        partial = partialList
        notFound = notFoundList
        mappings = maps
    }

    /// Text up to the first NUL within `max` bytes.
    static func cString(_ p: UnsafeRawPointer, max: Int) -> String {
        let bytes = UnsafeRawBufferPointer(start: p, count: max)
        let n = bytes.firstIndex(of: 0) ?? max
        return String(decoding: bytes.prefix(n), as: UTF8.self)
    }
}
