/// The one walk over each feed family's framing. Exactly one loop steps a DBN cursor
/// (`DBNRecordCursor.walk`) and one steps an ITCH reader (`ITCHReader.walk`); replay, books,
/// the JSON writers, the server and the benches hand their per-record work to these as a
/// closure, which is inlined, so the loop costs what a hand-written one does.
public enum WalkEnd: Equatable, Sendable {
    /// Every record or message was taken.
    case end
    /// The body returned false.
    case stopped
    /// The input cannot be framed past `offset`.
    case failed(offset: Int, reason: String)

    /// The framing failure as a located error, or nil.
    public func error(file: String) -> FeedError? {
        guard case let .failed(offset, reason) = self else { return nil }
        return FeedError(file: file, offset: offset, reason: reason)
    }

    /// Throws the framing failure, if the walk ended on one; for a streamed `input`, a
    /// decompression error first (the frame it cut short is not the cause).
    public func check(file: String, input: InputFile? = nil) throws(FeedError) {
        try input?.checkStream()
        if let error = error(file: file) { throw error }
    }
}

extension DBNRecordCursor {
    /// Steps through the records from here. `body` sees the cursor at each framed record
    /// (`record`, `length`, `offset`, and `hasNext` / `peekOrderId` for a prefetch) and
    /// returns false to stop. Unknown and short records are the body's to skip. At the end of
    /// the bytes, or at a record that runs past it, `refill` may bring more (a streamed input,
    /// `InputFile.refill`), and the walk goes on.
    @inlinable @inline(__always)
    public mutating func walk(
        refill: (inout DBNRecordCursor) -> Bool = { _ in false }, _ body: (DBNRecordCursor) throws -> Bool
    ) rethrows -> WalkEnd {
        while true {
            let step = next()
            switch step {
            case .record: if try !body(self) { return .stopped }
            case .end: if !refill(&self) { return .end }
            case .truncated: if !refill(&self) { return .failed(offset: origin + offset, reason: explain(step)) }
            case .zeroLength: return .failed(offset: origin + offset, reason: explain(step))
            }
        }
    }
}

extension ITCHReader {
    /// Steps through the messages from here. `body` sees each message (its bytes, sequence,
    /// capture time and offset in the input) and returns false to stop. At the end of the
    /// bytes, or at a frame that cannot be framed there, `refill` may bring more (a streamed
    /// input, `InputFile.refill`), and the walk tries again from that frame.
    @inline(__always)
    public mutating func walk(
        refill: (inout ITCHReader) -> Bool = { _ in false }, _ body: (Message) throws -> Bool
    ) rethrows -> WalkEnd {
        var message = Message(pointer: base, length: 0, sequence: 0, captureNs: 0, offset: 0)
        while true {
            switch next(&message) {
            case .message: if try !body(message) { return .stopped }
            case .end: if !refill(&self) { return .end }
            case .error: if !refill(&self) { return .failed(offset: failure.offset, reason: failure.reason) }
            }
        }
    }
}

/// The ITCH message → events step that files and live sessions share: a message decodes to
/// at most two events (a replace is a delete and an add), into slots owned here.
struct ITCHEvents {
    var decoder = ITCHDecoder()
    let slots = UnsafeMutablePointer<Event>.allocate(capacity: 2)

    /// Decodes `message`; its events are `slots[0..<n]`.
    @inline(__always)
    mutating func decode(_ message: ITCHReader.Message) -> Int { decoder.decode(message, into: slots) }

    func deallocate() { slots.deallocate() }
}
