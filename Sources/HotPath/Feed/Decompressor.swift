import CSupport

#if canImport(Glibc)
import Glibc
#endif

/// Decompresses a zstd (any number of frames) or gzip (any number of members) input held in
/// memory, piece by piece into the caller's buffer: the one decompression path, used whole
/// at start-up by `InputFile` and in a window by a streamed `InputFile`. Cold path.
///
/// An input that stops inside a frame or member is "truncated", bad data is "corrupt", each
/// with the compressed offset reached and the file's name.
final class Decompressor {
    enum Kind { case zstd, gzip }

    let kind: Kind
    let path: String
    let input: UnsafeRawBufferPointer
    private var zstd: OpaquePointer?
    private var zstdIn: ZSTD_inBuffer
    /// zstd's last hint: 0 once a frame is complete.
    private var zstdPending = 0
    private var zlib = z_stream()
    private var done = false
    /// Decompressed bytes handed out so far.
    private(set) var produced = 0

    init(_ kind: Kind, input: UnsafeRawBufferPointer, path: String) throws(FeedError) {
        self.kind = kind
        self.input = input
        self.path = path
        zstdIn = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        switch kind {
        case .zstd:
            guard let context = ZSTD_createDCtx() else {
                throw FeedError(file: path, offset: 0, reason: "cannot create a zstd context")
            }
            zstd = context
        case .gzip:
            guard inflateInit2_(&zlib, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                throw FeedError(file: path, offset: 0, reason: "cannot create a zlib stream")
            }
            zlib.next_in = UnsafeMutablePointer(mutating: input.baseAddress!.assumingMemoryBound(to: UInt8.self))
            zlib.avail_in = UInt32(input.count)
        }
    }

    deinit {
        switch kind {
        case .zstd: ZSTD_freeDCtx(zstd)
        case .gzip: inflateEnd(&zlib)
        }
    }

    /// Compressed bytes taken so far.
    var consumed: Int { kind == .zstd ? zstdIn.pos : input.count - Int(zlib.avail_in) }

    /// The bytes the whole stream declares, when it does (zstd frames with a content size).
    var declaredSize: Int? {
        guard kind == .zstd else { return nil }
        let n = ZSTD_findDecompressedSize(input.baseAddress, input.count)
        // ZSTD_CONTENTSIZE_ERROR and _UNKNOWN are the two largest values; a frame header can
        // still declare any size below them (the fuzzer sent one past Int.max in 24 bytes).
        return n > 0 && n < UInt64(ZSTD_CONTENTSIZE_ERROR) - 1 && n <= UInt64(Int.max) ? Int(n) : nil
    }

    /// Fills up to `capacity` bytes at `out`; returns how many, 0 only at the end of the data.
    func fill(_ out: UnsafeMutableRawPointer, capacity: Int) throws(FeedError) -> Int {
        guard capacity > 0, !done else { return 0 }
        let n = kind == .zstd ? try fillZstd(out, capacity) : try fillGzip(out, capacity)
        produced += n
        return n
    }

    private func fillZstd(_ out: UnsafeMutableRawPointer, _ capacity: Int) throws(FeedError) -> Int {
        var outBuf = ZSTD_outBuffer(dst: out, size: capacity, pos: 0)
        while outBuf.pos < outBuf.size {
            if zstdIn.pos == zstdIn.size {
                // All input taken: a complete last frame is the end (a call now would only ask
                // for another frame's header); else what the context holds comes out.
                if zstdPending == 0 {
                    done = true
                    break
                }
                let before = outBuf.pos
                let rc = ZSTD_decompressStream(zstd, &outBuf, &zstdIn)
                if ZSTD_isError(rc) != 0 { throw corrupt(String(cString: ZSTD_getErrorName(rc))) }
                zstdPending = rc
                if outBuf.pos > before { continue }
                guard zstdPending == 0 else {
                    throw FeedError(
                        file: path, offset: input.count,
                        reason: "truncated zstd frame (\(zstdPending) more bytes expected)")
                }
                done = true
                break
            }
            let rc = ZSTD_decompressStream(zstd, &outBuf, &zstdIn)
            if ZSTD_isError(rc) != 0 { throw corrupt(String(cString: ZSTD_getErrorName(rc))) }
            zstdPending = rc
        }
        return outBuf.pos
    }

    private func fillGzip(_ out: UnsafeMutableRawPointer, _ capacity: Int) throws(FeedError) -> Int {
        var filled = 0
        while filled < capacity {
            let room = min(capacity - filled, Int(UInt32.max))
            zlib.next_out = (out + filled).assumingMemoryBound(to: UInt8.self)
            zlib.avail_out = UInt32(room)
            let rc = inflate(&zlib, Z_NO_FLUSH)
            filled += room - Int(zlib.avail_out)
            let consumed = input.count - Int(zlib.avail_in)
            switch rc {
            case Z_STREAM_END:
                // Another member may follow (concatenated gzip, as `cat a.gz b.gz` makes).
                if zlib.avail_in >= 2 && zlib.next_in[0] == 0x1F && zlib.next_in[1] == 0x8B {
                    inflateReset(&zlib)
                } else {
                    done = true
                    return filled
                }
            case Z_OK:
                continue
            case Z_BUF_ERROR where zlib.avail_in == 0 && zlib.avail_out > 0:
                throw FeedError(
                    file: path, offset: consumed,
                    reason: "truncated gzip stream after \(consumed) bytes (\(produced + filled) decompressed)")
            case Z_BUF_ERROR:
                continue
            default:
                throw corrupt(zlib.msg.map { String(cString: $0) } ?? "error \(rc)")
            }
        }
        return filled
    }

    private func corrupt(_ why: String) -> FeedError {
        return FeedError(
            file: path, offset: consumed, reason: "corrupt \(kind == .zstd ? "zstd" : "gzip") data: \(why)")
    }
}
