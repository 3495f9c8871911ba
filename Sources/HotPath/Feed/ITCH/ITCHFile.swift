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
            var located = error
            located.file = path
            throw located
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
        var summary = Summary(reader: .init())
        var printed = 0
        let end = reader.walk(refill: { input.refill(&$0) }) { message in
            guard limit.map({ printed < $0 }) ?? true else { return false }
            if let line = ITCHJSON.line(message) {
                emit(line)
                printed += 1
            } else {
                summary.unknownOrShort += 1
            }
            return limit.map { printed < $0 } ?? true
        }
        summary.reader = reader.counts
        try end.check(file: path, input: input)
        return summary
    }
}
