#if canImport(Glibc)
import Glibc
#endif

/// Buffered output to a file descriptor for the cold paths (CLI lines, the signal sink): one
/// write(2) per 64 KiB and at `flush()`.
public struct BufferedWriter {
    public let fd: Int32
    private var buffer: [UInt8] = []

    public init(fd: Int32) {
        self.fd = fd
        buffer.reserveCapacity(1 << 17)
    }

    public mutating func line(_ s: String) {
        text(s)
        byte(0x0A)
    }

    /// `s`'s bytes, no newline.
    public mutating func text(_ s: String) {
        var s = s
        s.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    public mutating func byte(_ b: UInt8) {
        buffer.append(b)
    }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 16 { flush() }
    }

    public mutating func flush() {
        _ = buffer.withUnsafeBytes { SystemFile.writeAll(fd, $0) }
        buffer.removeAll(keepingCapacity: true)
    }
}
