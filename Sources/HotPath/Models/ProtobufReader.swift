/// A minimal protocol-buffers wire-format reader: enough to walk an ONNX ModelProto (varints,
/// fixed 32/64-bit values, length-delimited fields) without generated code. Cold path.
struct ProtobufReader {
    let bytes: UnsafeRawBufferPointer
    var at: Int
    let end: Int

    init(_ bytes: UnsafeRawBufferPointer, from start: Int = 0, to end: Int? = nil) {
        self.bytes = bytes
        at = start
        self.end = end ?? bytes.count
    }

    enum Value {
        case varint(UInt64)
        case fixed64(UInt64)
        case fixed32(UInt32)
        case bytes(Range<Int>)
    }

    struct Malformed: Error { let offset: Int; let reason: String }

    var atEnd: Bool { at >= end }

    mutating func varint() throws(Malformed) -> UInt64 {
        var v: UInt64 = 0, shift: UInt64 = 0
        while true {
            guard at < end else { throw Malformed(offset: at, reason: "varint runs past the end") }
            let b = bytes[at]
            at += 1
            v |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return v }
            shift += 7
            guard shift < 64 else { throw Malformed(offset: at, reason: "varint longer than 10 bytes") }
        }
    }

    /// The next field's number and value.
    mutating func field() throws(Malformed) -> (Int, Value) {
        let key = try varint()
        let number = Int(key >> 3)
        switch key & 7 {
        case 0: return (number, .varint(try varint()))
        case 1:
            guard at + 8 <= end else { throw Malformed(offset: at, reason: "fixed64 runs past the end") }
            defer { at += 8 }
            return (number, .fixed64(bytes.loadUnaligned(fromByteOffset: at, as: UInt64.self)))
        case 5:
            guard at + 4 <= end else { throw Malformed(offset: at, reason: "fixed32 runs past the end") }
            defer { at += 4 }
            return (number, .fixed32(bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
        case 2:
            let length = try varint()
            guard length <= UInt64(end - at) else {
                throw Malformed(offset: at, reason: "field \(number) of \(length) bytes runs past the end")
            }
            let n = Int(length)
            guard at + n <= end else {
                throw Malformed(offset: at, reason: "field \(number) of \(n) bytes runs past the end")
            }
            defer { at += n }
            return (number, .bytes(at..<at + n))
        default:
            throw Malformed(offset: at, reason: "unsupported wire type \(key & 7) for field \(number)")
        }
    }

    func string(_ r: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes[r]), as: UTF8.self)
    }

    func sub(_ r: Range<Int>) -> ProtobufReader { ProtobufReader(bytes, from: r.lowerBound, to: r.upperBound) }
}
