/// A feed file of either family, told apart by its first bytes.
public enum FeedFile: Sendable {
    case dbn(DBNFile)
    case itch(ITCHFile)

    /// Every event the file decodes to, in order (cold paths and harnesses: replay helpers,
    /// feature capture), as the engine's feed thread makes them (`DBNEvents`, `ITCHEvents`). Records that yield no event are skipped; a stream that cannot be
    /// framed throws with its file and offset. `position`, when given, hears the byte offset
    /// reached every 65,536 records (of `byteCount`), for a progress line.
    public func forEachEvent(position: ((Int) -> Void)? = nil, _ body: (Event) throws -> Void) throws {
        var records = 0
        switch self {
        case let .dbn(dbn):
            var events = DBNEvents(metadata: dbn.metadata)
            defer { events.deallocate() }
            var cursor = dbn.cursor()
            try cursor.walk(refill: { dbn.input.refill(&$0) }) { c in
                records &+= 1
                if let position, records & 0xFFFF == 0 { position(c.offset) }
                let n = events.decode(c.record, length: c.length)
                for i in 0..<n { try body(events.slots[i]) }
                return true
            }.check(file: dbn.path, input: dbn.input)
        case let .itch(itch):
            var reader = try itch.reader()
            var events = ITCHEvents()
            defer { events.deallocate() }
            try reader.walk(refill: { itch.input.refill(&$0) }) { m in
                records &+= 1
                if let position, records & 0xFFFF == 0 { position(m.offset) }
                let n = events.decode(m)
                for i in 0..<n { try body(events.slots[i]) }
                return true
            }.check(file: itch.path, input: itch.input)
        }
    }

    /// The path the file was opened from.
    public var path: String {
        switch self {
        case let .dbn(dbn): dbn.path
        case let .itch(itch): itch.path
        }
    }

    /// The input's bytes in memory (decompressed): what a replay's position counts. (A
    /// streamed input's window, not the whole: replays never stream.)
    public var byteCount: Int {
        switch self {
        case let .dbn(dbn): dbn.input.bytes.count
        case let .itch(itch): itch.input.bytes.count
        }
    }

    /// Opens and decompresses `path` once, then tells the family by the decompressed bytes:
    /// "DBN" is DBN, anything else ITCH (pcap by its magic, `.mold` by name, else Nasdaq binary).
    /// `streamed`: a compressed file is decompressed in a window as the walk goes (one pass:
    /// `decode`, `book`); see `InputFile`.
    public static func open(_ path: String, streamed: Bool = false) throws(FeedError) -> FeedFile {
        try open(input: InputFile(path: path, streamed: streamed))
    }

    /// The family of an input already open.
    static func open(input: InputFile) throws(FeedError) -> FeedFile {
        let b = input.bytes
        if b.count >= 3 && b[0] == 0x44 && b[1] == 0x42 && b[2] == 0x4E { return .dbn(try DBNFile(input: input)) }
        return .itch(ITCHFile(input: input))
    }
}
