/// An ITCH input in memory (pcap, MoldUDP64 stream or Nasdaq binary file): the cold-path
/// entry point for `decode`, `book` and replay.
public struct ITCHFile: Sendable {
    public let input: InputFile
    public let format: ITCHReader.Format

    public init(path: String, format: ITCHReader.Format? = nil) throws(FeedError) {
        self.init(input: try InputFile(path: path), format: format)
    }

    /// From an input already in memory (`FeedFile.open` reads each file once). The format is
    /// told by the decompressed bytes (pcap magic) and the name without its compression suffix.
    public init(input: InputFile, format: ITCHReader.Format? = nil) {
        self.input = input
        self.format = format ?? ITCHReader.detect(input.bytes, path: input.innerPath)
    }

    public var path: String { input.path }

    public func reader() throws(FeedError) -> ITCHReader {
        do { return try ITCHReader(bytes: input.bytes, format: format) } catch {
            throw FeedError(file: path, offset: error.offset, reason: error.reason)
        }
    }

    public struct Summary: Sendable {
        public var reader: ITCHReader.Counts
        public var unknownOrShort = 0
        /// One line for stderr when anything was skipped, gapped or duplicated.
        public var notes: String? {
            let r = reader
            var parts: [String] = []
            if r.gaps > 0 { parts.append("\(r.gaps) sequence gap(s), \(r.missingMessages) message(s) missing") }
            if r.duplicates > 0 { parts.append("\(r.duplicates) duplicate message(s) skipped") }
            if r.nonUDPFrames > 0 { parts.append("\(r.nonUDPFrames) non-UDP frame(s) skipped") }
            if r.badPackets > 0 { parts.append("\(r.badPackets) packet(s) whose messages run past their end skipped") }
            if unknownOrShort > 0 { parts.append("\(unknownOrShort) message(s) of unknown type or short skipped") }
            return parts.isEmpty ? nil : parts.joined(separator: ", ")
        }
    }

    /// Emits every message (up to `limit`) as a JSON line.
    @discardableResult
    public func jsonLines(limit: Int? = nil, _ emit: (String) -> Void) throws(FeedError) -> Summary {
        var reader = try reader()
        var message = ITCHReader.Message(pointer: input.bytes.baseAddress!, length: 0, sequence: 0, captureNs: 0, offset: 0)
        var summary = Summary(reader: .init())
        var printed = 0
        while limit.map({ printed < $0 }) ?? true {
            switch reader.next(&message) {
            case .end:
                summary.reader = reader.counts
                return summary
            case .error:
                let (offset, reason) = reader.failure
                throw FeedError(file: path, offset: offset, reason: reason)
            case .message:
                if let line = ITCHJSON.line(message) {
                    emit(line)
                    printed += 1
                } else {
                    summary.unknownOrShort += 1
                }
            }
        }
        summary.reader = reader.counts
        return summary
    }
}

/// A feed file of either family, told apart by its first bytes.
public enum FeedFile: Sendable {
    case dbn(DBNFile)
    case itch(ITCHFile)

    /// Every event the file decodes to, in order (cold paths and harnesses: replay helpers,
    /// feature capture). Records that yield no event are skipped; a stream that cannot be
    /// framed throws with its file and offset. `position`, when given, hears the byte offset
    /// reached every 65,536 records (of `byteCount`), for a progress line.
    public func forEachEvent(position: ((Int) -> Void)? = nil, _ body: (Event) throws -> Void) throws {
        var records = 0
        switch self {
        case let .dbn(dbn):
            var decoder = DBNDecoder(metadata: dbn.metadata)
            var cursor = dbn.cursor()
            var e = Event()
            while true {
                let step = cursor.next()
                if step == .end { return }
                guard step == .record else { throw FeedError(file: dbn.path, offset: cursor.offset, reason: cursor.explain(step)) }
                records &+= 1
                if let position, records & 0xFFFF == 0 { position(cursor.offset) }
                if decoder.decode(cursor.record, length: cursor.length, into: &e) { try body(e) }
            }
        case let .itch(itch):
            var reader = try itch.reader()
            var decoder = ITCHDecoder()
            var m = ITCHReader.Message(pointer: itch.input.bytes.baseAddress!, length: 0, sequence: 0, captureNs: 0, offset: 0)
            let out = UnsafeMutablePointer<Event>.allocate(capacity: 2)
            defer { out.deallocate() }
            while true {
                switch reader.next(&m) {
                case .end: return
                case .error: throw FeedError(file: itch.path, offset: reader.failure.offset, reason: reader.failure.reason)
                case .message:
                    records &+= 1
                    if let position, records & 0xFFFF == 0 { position(m.offset) }
                    let n = decoder.decode(m, into: out)
                    for i in 0..<n { try body(out[i]) }
                }
            }
        }
    }

    /// The input's bytes in memory (decompressed): what a replay's position counts.
    public var byteCount: Int {
        switch self {
        case let .dbn(dbn): dbn.input.bytes.count
        case let .itch(itch): itch.input.bytes.count
        }
    }

    /// Opens and decompresses `path` once, then tells the family by the decompressed bytes:
    /// "DBN" is DBN, anything else ITCH (pcap by its magic, `.mold` by name, else Nasdaq binary).
    public static func open(_ path: String) throws(FeedError) -> FeedFile {
        let input = try InputFile(path: path)
        let b = input.bytes
        if b.count >= 3 && b[0] == 0x44 && b[1] == 0x42 && b[2] == 0x4E { return .dbn(try DBNFile(input: input)) }
        return .itch(ITCHFile(input: input))
    }
}
