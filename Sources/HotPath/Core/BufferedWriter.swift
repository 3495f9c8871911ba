#if canImport(Glibc)
import Glibc
#endif

/// Buffered output to a file descriptor for the cold paths (CLI lines, the signal sink): one
/// write(2) once 64 KiB have gathered and at `flush()`. It writes only at the end of a record
/// (`line`, `endRecord`), so a kill between two writes never leaves half a record behind.
public struct BufferedWriter {
    public let fd: Int32
    private var buffer: [UInt8] = []

    public init(fd: Int32) {
        self.fd = fd
        buffer.reserveCapacity(1 << 17)
    }

    /// `s` and a newline: one whole record.
    public mutating func line(_ s: String) {
        text(s)
        byte(0x0A)
        endRecord()
    }

    /// `s`'s bytes, no newline; part of a record that `endRecord()` ends.
    public mutating func text(_ s: String) {
        var s = s
        s.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    public mutating func byte(_ b: UInt8) {
        buffer.append(b)
    }

    /// Part of a record that `endRecord()` ends.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        buffer.append(contentsOf: bytes)
    }

    /// A record is whole: write what has gathered once it passes 64 KiB.
    public mutating func endRecord() {
        if buffer.count >= 1 << 16 { flush() }
    }

    public var isEmpty: Bool { buffer.isEmpty }

    public mutating func flush() {
        _ = buffer.withUnsafeBytes { SystemFile.writeAll(fd, $0) }
        buffer.removeAll(keepingCapacity: true)
    }
}
