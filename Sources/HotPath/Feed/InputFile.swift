import CSupport
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A whole input file in memory, read once at start-up: mmap'ed when plain, or decompressed
/// ahead of the decoder into one buffer when it is zstd or gzip (any number of frames or
/// members), told by the magic bytes, never by the name. The decoder then walks plain bytes
/// with no I/O and no allocation.
public final class InputFile: @unchecked Sendable {
    public enum Compression: String, Sendable { case none, zstd, gzip }

    public let path: String
    public let bytes: UnsafeRawBufferPointer
    public let compression: Compression
    /// Whether the file was compressed on disk.
    public var wasCompressed: Bool { compression != .none }
    private let release: () -> Void

    static let zstdMagic: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD]
    static let gzipMagic: [UInt8] = [0x1F, 0x8B]

    /// The path without a compression suffix (`x.mold.gz` → `x.mold`), for name-based hints.
    public var innerPath: String {
        for suffix in [".gz", ".zst"] where path.hasSuffix(suffix) { return String(path.dropLast(suffix.count)) }
        return path
    }

    /// Files opened so far in this process (a test counts them: one open per input).
    static let opened = Atomic<Int>(0)

    public init(path: String) throws(FeedError) {
        self.path = path
        InputFile.opened.add(1, ordering: .relaxed)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FeedError(file: path, offset: 0, reason: "cannot open: \(SystemError.text(errno))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw FeedError(file: path, offset: 0, reason: "cannot stat: \(SystemError.text(errno))")
        }
        let size = Int(st.st_size)
        guard size > 0 else { throw FeedError(file: path, offset: 0, reason: "file is empty") }
        guard let map = mmap(nil, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0), map != MAP_FAILED else {
            throw FeedError(file: path, offset: 0, reason: "cannot mmap: \(SystemError.text(errno))")
        }
        let mapped = UnsafeRawBufferPointer(start: map, count: size)
        if size >= 4 && Array(mapped.prefix(4)) == InputFile.zstdMagic {
            defer { munmap(map, size) }
            let (buffer, count) = try InputFile.decompress(mapped, path: path)
            bytes = UnsafeRawBufferPointer(start: buffer, count: count)
            compression = .zstd
            release = { free(buffer) }
        } else if size >= 2 && Array(mapped.prefix(2)) == InputFile.gzipMagic {
            defer { munmap(map, size) }
            let (buffer, count) = try InputFile.gunzip(mapped, path: path)
            bytes = UnsafeRawBufferPointer(start: buffer, count: count)
            compression = .gzip
            release = { free(buffer) }
        } else {
            bytes = mapped
            compression = .none
            release = { munmap(map, size) }
        }
    }

    deinit { release() }

    /// Streams every frame through one decompression context into a buffer sized from the
    /// frames' declared content sizes (grown by doubling when a frame does not declare it).
    static func decompress(
        _ input: UnsafeRawBufferPointer, path: String
    ) throws(FeedError) -> (UnsafeMutableRawPointer, Int) {
        let declared = ZSTD_findDecompressedSize(input.baseAddress, input.count)
        var capacity =
            declared < UInt64(ZSTD_CONTENTSIZE_ERROR) - 1 && declared > 0
            ? Int(declared) : max(1 << 20, input.count * 8)
        guard var out = malloc(capacity) else {
            throw FeedError(file: path, offset: 0, reason: "out of memory for \(capacity) decompressed bytes")
        }
        guard let dctx = ZSTD_createDCtx() else {
            free(out); throw FeedError(file: path, offset: 0, reason: "cannot create a zstd context")
        }
        defer { ZSTD_freeDCtx(dctx) }
        var inBuf = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        var produced = 0
        var lastResult = 0
        while inBuf.pos < inBuf.size {
            if produced == capacity {
                capacity *= 2
                guard let grown = realloc(out, capacity) else {
                    free(out)
                    throw FeedError(
                        file: path, offset: inBuf.pos, reason: "out of memory for \(capacity) decompressed bytes")
                }
                out = grown
            }
            var outBuf = ZSTD_outBuffer(dst: out + produced, size: capacity - produced, pos: 0)
            let before = inBuf.pos
            let rc = ZSTD_decompressStream(dctx, &outBuf, &inBuf)
            if ZSTD_isError(rc) != 0 {
                free(out)
                throw FeedError(
                    file: path, offset: before, reason: "corrupt zstd data: \(String(cString: ZSTD_getErrorName(rc)))")
            }
            produced += outBuf.pos
            lastResult = rc
            if outBuf.pos == 0 && inBuf.pos == before && produced < capacity {
                break  // no progress possible
            }
        }
        if lastResult != 0 {
            free(out)
            throw FeedError(
                file: path, offset: input.count, reason: "truncated zstd frame (\(lastResult) more bytes expected)")
        }
        return (out, produced)
    }
    /// Inflates every gzip member into a buffer grown by doubling. A stream that stops inside a
    /// member is "truncated", bad data "corrupt", each with the compressed offset reached.
    static func gunzip(
        _ input: UnsafeRawBufferPointer, path: String
    ) throws(FeedError) -> (UnsafeMutableRawPointer, Int) {
        var capacity = max(1 << 20, input.count * 4)
        guard var out = malloc(capacity) else {
            throw FeedError(file: path, offset: 0, reason: "out of memory for \(capacity) decompressed bytes")
        }
        var stream = z_stream()
        guard inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            free(out)
            throw FeedError(file: path, offset: 0, reason: "cannot create a zlib stream")
        }
        defer { inflateEnd(&stream) }
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress!.assumingMemoryBound(to: UInt8.self))
        stream.avail_in = UInt32(input.count)
        var produced = 0
        while true {
            if produced == capacity {
                capacity *= 2
                guard let grown = realloc(out, capacity) else {
                    free(out)
                    throw FeedError(
                        file: path, offset: input.count - Int(stream.avail_in),
                        reason: "out of memory for \(capacity) decompressed bytes")
                }
                out = grown
            }
            stream.next_out = (out + produced).assumingMemoryBound(to: UInt8.self)
            let room = min(capacity - produced, Int(UInt32.max))
            stream.avail_out = UInt32(room)
            let rc = inflate(&stream, Z_NO_FLUSH)
            produced += room - Int(stream.avail_out)
            let consumed = input.count - Int(stream.avail_in)
            switch rc {
            case Z_STREAM_END:
                // Another member may follow (concatenated gzip, as `cat a.gz b.gz` makes).
                if stream.avail_in >= 2 && stream.next_in[0] == 0x1F && stream.next_in[1] == 0x8B {
                    inflateReset(&stream)
                } else {
                    return (out, produced)
                }
            case Z_OK:
                continue
            case Z_BUF_ERROR where stream.avail_in == 0 && stream.avail_out > 0:
                free(out)
                throw FeedError(
                    file: path, offset: consumed,
                    reason: "truncated gzip stream after \(consumed) bytes (\(produced) decompressed)")
            case Z_BUF_ERROR:
                continue
            default:
                free(out)
                let message = stream.msg.map { String(cString: $0) } ?? "error \(rc)"
                throw FeedError(file: path, offset: consumed, reason: "corrupt gzip data: \(message)")
            }
        }
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
