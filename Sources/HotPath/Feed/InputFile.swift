import CSupport
#if canImport(Glibc)
import Glibc
#endif

/// A whole input file in memory, read once at start-up: mmap'ed when plain, or decompressed
/// ahead of the decoder into one preallocated buffer when it is zstd (any number of frames).
/// The decoder then walks plain bytes with no I/O and no allocation.
public final class InputFile: @unchecked Sendable {
    public let path: String
    public let bytes: UnsafeRawBufferPointer
    /// Whether the file was zstd-compressed on disk.
    public let wasCompressed: Bool
    private let release: () -> Void

    static let zstdMagic: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD]

    public init(path: String) throws(FeedError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FeedError(file: path, offset: 0, reason: "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw FeedError(file: path, offset: 0, reason: "cannot stat: \(String(cString: strerror(errno)))") }
        let size = Int(st.st_size)
        guard size > 0 else { throw FeedError(file: path, offset: 0, reason: "file is empty") }
        guard let map = mmap(nil, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0), map != MAP_FAILED else {
            throw FeedError(file: path, offset: 0, reason: "cannot mmap: \(String(cString: strerror(errno)))")
        }
        let mapped = UnsafeRawBufferPointer(start: map, count: size)
        if size >= 4 && Array(mapped.prefix(4)) == InputFile.zstdMagic {
            defer { munmap(map, size) }
            let (buffer, count) = try InputFile.decompress(mapped, path: path)
            bytes = UnsafeRawBufferPointer(start: buffer, count: count)
            wasCompressed = true
            release = { free(buffer) }
        } else {
            bytes = mapped
            wasCompressed = false
            release = { munmap(map, size) }
        }
    }

    deinit { release() }

    /// Streams every frame through one decompression context into a buffer sized from the
    /// frames' declared content sizes (grown by doubling when a frame does not declare it).
    static func decompress(_ input: UnsafeRawBufferPointer, path: String) throws(FeedError) -> (UnsafeMutableRawPointer, Int) {
        let declared = ZSTD_findDecompressedSize(input.baseAddress, input.count)
        var capacity = declared < UInt64(ZSTD_CONTENTSIZE_ERROR) - 1 && declared > 0 ? Int(declared) : max(1 << 20, input.count * 8)
        guard var out = malloc(capacity) else { throw FeedError(file: path, offset: 0, reason: "out of memory for \(capacity) decompressed bytes") }
        guard let dctx = ZSTD_createDCtx() else { free(out); throw FeedError(file: path, offset: 0, reason: "cannot create a zstd context") }
        defer { ZSTD_freeDCtx(dctx) }
        var inBuf = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        var produced = 0
        var lastResult = 0
        while inBuf.pos < inBuf.size {
            if produced == capacity {
                capacity *= 2
                guard let grown = realloc(out, capacity) else {
                    free(out)
                    throw FeedError(file: path, offset: inBuf.pos, reason: "out of memory for \(capacity) decompressed bytes")
                }
                out = grown
            }
            var outBuf = ZSTD_outBuffer(dst: out + produced, size: capacity - produced, pos: 0)
            let before = inBuf.pos
            let rc = ZSTD_decompressStream(dctx, &outBuf, &inBuf)
            if ZSTD_isError(rc) != 0 {
                free(out)
                throw FeedError(file: path, offset: before, reason: "corrupt zstd data: \(String(cString: ZSTD_getErrorName(rc)))")
            }
            produced += outBuf.pos
            lastResult = rc
            if outBuf.pos == 0 && inBuf.pos == before && produced < capacity {
                break  // no progress possible
            }
        }
        if lastResult != 0 {
            free(out)
            throw FeedError(file: path, offset: input.count, reason: "truncated zstd frame (\(lastResult) more bytes expected)")
        }
        return (out, produced)
    }
}

extension UnsafeRawPointer {
    /// A little-endian integer at `offset` (any alignment).
    @inlinable @inline(__always)
    func le<T: FixedWidthInteger>(_ offset: Int, as: T.Type = T.self) -> T {
        T(littleEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// A big-endian integer at `offset` (any alignment).
    @inlinable @inline(__always)
    func be<T: FixedWidthInteger>(_ offset: Int, as: T.Type = T.self) -> T {
        T(bigEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}
