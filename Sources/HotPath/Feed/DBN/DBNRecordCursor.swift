/// Walks the records of an in-memory DBN stream. Hot path: no allocation, no copying; each
/// step reads the length byte and checks it against the bytes left.
///
/// A record whose length byte is 0, or whose length runs past the end, ends the walk with
/// `.zeroLength` / `.truncated` (nothing after it can be framed); the caller reports the file
/// and `offset`. Everything else — unknown rtypes, records shorter than their layout — is the
/// decoder's to skip and count, since the length still frames the next record.
public struct DBNRecordCursor {
    public enum Step: Equatable {
        case record
        case end
        case zeroLength
        case truncated
    }

    public private(set) var base: UnsafeRawPointer
    public private(set) var end: Int
    public let start: Int
    /// The input offset of `base[0]`: 0, or how far a streamed window has moved.
    public private(set) var origin = 0
    /// Offset of the current record (after `next()` returned `.record`), or of the problem.
    public var offset: Int
    /// Length in bytes of the current record.
    public var length: Int = 0
    @usableFromInline var nextOffset: Int

    public init(bytes: UnsafeRawBufferPointer, from start: Int) {
        base = UnsafeRawPointer(bytes.baseAddress!)
        end = bytes.count
        self.start = start
        offset = start
        nextOffset = start
    }

    /// Advances to the next record.
    @inlinable @inline(__always)
    public mutating func next() -> Step {
        let at = nextOffset
        if at >= end { return .end }
        offset = at
        let units = Int(base.load(fromByteOffset: at, as: UInt8.self))
        if _slowPath(units == 0) { return .zeroLength }
        let n = units &* 4
        if _slowPath(at &+ n > end || n < 16) { return .truncated }
        length = n
        nextOffset = at &+ n
        return .record
    }

    /// The current record's first byte.
    @inlinable @inline(__always)
    public var record: UnsafeRawPointer { base + offset }

    /// Whether another record's header is in bounds after the current one.
    @inlinable @inline(__always)
    public var hasNext: Bool { nextOffset &+ 24 <= end }

    /// The order id field of the next record, assuming an MBO layout (bytes 16…23): a hint
    /// for prefetching, read without validating the record.
    @inlinable @inline(__always)
    public func peekOrderId() -> UInt64 { base.le(nextOffset &+ 16) }

    /// Continues over a streamed window whose kept bytes moved back by `shift`.
    mutating func rebase(_ bytes: UnsafeRawBufferPointer, shift: Int) {
        base = UnsafeRawPointer(bytes.baseAddress!)
        end = bytes.count
        nextOffset -= shift
        offset -= shift
        origin += shift
    }

    /// Starts again from the first record.
    public mutating func rewind() {
        nextOffset = start
        offset = start
    }

    /// The one-line reason for a step that ended the walk.
    public func explain(_ step: Step) -> String {
        switch step {
        case .zeroLength: return "record length byte is 0: the stream cannot be framed past here"
        case .truncated:
            let units = Int(base.load(fromByteOffset: offset, as: UInt8.self))
            return
                "truncated record: its length \(units * 4) runs past the end of the data (\(end - offset) bytes left)"
        case .record, .end: return ""
        }
    }
}
