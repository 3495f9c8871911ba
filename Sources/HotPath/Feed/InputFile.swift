import CSupport
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// An input file in memory, told compressed or not by its magic bytes, never by its name.
///
/// Whole (the default, for replay and benches, which size everything at start-up and never
/// decompress on the feed thread): mmap'ed when plain, or decompressed ahead of the decoder
/// into one buffer when it is zstd or gzip. The decoder then walks plain bytes with no I/O and
/// no allocation.
///
/// Streamed (`decode`, `book`: one pass over what may be a multi-gigabyte Nasdaq file): a
/// compressed file is decompressed into a window of `window` bytes, and the walkers ask for
/// more (`refill`) when a frame runs past the window's end, keeping the bytes from that frame
/// on. Memory stays at the window whatever the file's size. A plain file is mapped whole
/// either way (its pages are the page cache's).
public final class InputFile: @unchecked Sendable {
    public enum Compression: String, Sendable { case none, zstd, gzip }

    public let path: String
    /// The decompressed bytes: all of them, or (streamed) the window's current contents.
    public private(set) var bytes: UnsafeRawBufferPointer
    public let compression: Compression
    /// Whether the file was compressed on disk.
    public var wasCompressed: Bool { compression != .none }
    /// Streamed: the decompressor behind the window, and the stream offset of `bytes[0]`.
    private let stream: Decompressor?
    public private(set) var origin = 0
    /// Streamed: a decompression error met while refilling, reported by `checkStream`.
    private var streamFailure: FeedError?
    private var window: UnsafeMutableRawPointer?
    private var windowCapacity = 0
    /// Streamed: compressed bytes already handed back to the kernel (`MADV_DONTNEED`), so the
    /// mapped input does not stay resident behind the decompressor either.
    private var released = 0
    private var mapped: UnsafeRawBufferPointer
    /// The whole decompressed buffer, freed with the file (nil when mapped or streamed).
    private let whole: UnsafeMutableRawPointer?

    static let zstdMagic: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD]
    static let gzipMagic: [UInt8] = [0x1F, 0x8B]
    /// The streamed window's default size: far above any frame (a DBN record is at most
    /// 1,020 bytes, a MoldUDP64 packet or pcap record tens of KiB).
    public static let defaultWindow = 4 << 20

    /// Files opened so far in this process (a test counts them: one open per input).
    static let opened = Atomic<Int>(0)

    /// The path without a compression suffix (`x.mold.gz` → `x.mold`), for name-based hints.
    public var innerPath: String {
        for suffix in [".gz", ".zst"] where path.hasSuffix(suffix) { return String(path.dropLast(suffix.count)) }
        return path
    }

    /// Whether `bytes` is a window over a longer stream.
    public var isStreamed: Bool { stream != nil }

    public init(path: String, streamed: Bool = false, window: Int = InputFile.defaultWindow) throws(FeedError) {
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
        // A streamed file's compressed pages are read once, in order: no need to populate.
        let flags = MAP_PRIVATE | (streamed ? 0 : MAP_POPULATE)
        guard let map = mmap(nil, size, PROT_READ, flags, fd, 0), map != MAP_FAILED else {
            throw FeedError(file: path, offset: 0, reason: "cannot mmap: \(SystemError.text(errno))")
        }
        mapped = UnsafeRawBufferPointer(start: map, count: size)
        let kind: Decompressor.Kind?
        if size >= 4 && Array(mapped.prefix(4)) == InputFile.zstdMagic {
            (kind, compression) = (.zstd, .zstd)
        } else if size >= 2 && Array(mapped.prefix(2)) == InputFile.gzipMagic {
            (kind, compression) = (.gzip, .gzip)
        } else {
            (kind, compression) = (nil, .none)
        }
        guard let kind else {
            (bytes, stream, whole) = (mapped, nil, nil)
            return
        }
        let decompressor: Decompressor
        do { decompressor = try Decompressor(kind, input: mapped, path: path) } catch {
            munmap(map, size)
            throw error
        }
        if streamed {
            (stream, whole) = (decompressor, nil)
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            windowCapacity = max(window, 64)
            self.window = malloc(windowCapacity)
            guard self.window != nil else {
                throw FeedError(file: path, offset: 0, reason: "out of memory for the window")
            }
            _ = try fillWindow(keepingFrom: 0)
            guard bytes.count > 0 else { throw FeedError(file: path, offset: 0, reason: "decompresses to nothing") }
            return
        }
        defer { munmap(map, size) }
        (stream, mapped) = (nil, UnsafeRawBufferPointer(start: nil, count: 0))
        let (buffer, count) = try InputFile.decompressWhole(decompressor, compressedSize: size)
        whole = buffer
        bytes = UnsafeRawBufferPointer(start: buffer, count: count)
        guard count > 0 else { throw FeedError(file: path, offset: 0, reason: "decompresses to nothing") }
    }

    deinit {
        if let whole { free(whole) }
        if let window { free(window) }
        if let base = mapped.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), mapped.count) }
    }

    /// Every decompressed byte into one buffer, sized from the declared content size where
    /// zstd gives it (at most 1 GiB to start: a header can declare any size), else grown by
    /// doubling.
    static func decompressWhole(
        _ d: Decompressor, compressedSize: Int
    ) throws(FeedError) -> (UnsafeMutableRawPointer, Int) {
        var capacity = d.declaredSize.map { min($0, 1 << 30) } ?? max(1 << 20, compressedSize * 8)
        capacity = max(capacity, 1)
        guard var out = malloc(capacity) else {
            throw FeedError(file: d.path, offset: 0, reason: "out of memory for \(capacity) decompressed bytes")
        }
        var produced = 0
        while true {
            if produced == capacity {
                capacity *= 2
                guard let grown = realloc(out, capacity) else {
                    free(out)
                    throw FeedError(file: d.path, offset: 0, reason: "out of memory for \(capacity) decompressed bytes")
                }
                out = grown
            }
            let n: Int
            do { n = try d.fill(out + produced, capacity: capacity - produced) } catch {
                free(out)
                throw error
            }
            if n == 0 { return (out, produced) }
            produced += n
        }
    }

    /// Streamed: moves the bytes from `keep` on to the window's start and fills the rest;
    /// `bytes` and `origin` follow. Returns how far the kept bytes moved and whether any were
    /// added (none: the stream ended or failed, or the kept bytes fill the window).
    func refill(keepingFrom keep: Int) -> (shift: Int, added: Bool) {
        guard stream != nil, streamFailure == nil else { return (0, false) }
        do { return try fillWindow(keepingFrom: keep) } catch {
            streamFailure = error
            return (0, false)
        }
    }

    private func fillWindow(keepingFrom keep: Int) throws(FeedError) -> (shift: Int, added: Bool) {
        guard let stream, let window else { return (0, false) }
        let kept = bytes.count - keep
        if keep > 0 && kept > 0 { memmove(window, window + keep, kept) }
        origin += keep
        bytes = UnsafeRawBufferPointer(start: window, count: kept)
        var filled = kept
        while filled < windowCapacity {
            let n = try stream.fill(window + filled, capacity: windowCapacity - filled)
            if n == 0 { break }
            filled += n
            bytes = UnsafeRawBufferPointer(start: window, count: filled)
        }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let done = stream.consumed / page * page
        if done > released, let base = mapped.baseAddress {
            _ = madvise(UnsafeMutableRawPointer(mutating: base) + released, done - released, MADV_DONTNEED)
            released = done
        }
        return (keep, filled > kept)
    }

    /// Streamed: makes the window hold at least `count` bytes from its start (a DBN file's
    /// metadata before the first record), growing it when it is smaller.
    func ensureWindow(holds count: Int) throws(FeedError) {
        guard stream != nil, count > bytes.count, origin == 0 else { return }
        if count > windowCapacity {
            guard let grown = realloc(window, count) else {
                throw FeedError(file: path, offset: 0, reason: "out of memory for a \(count)-byte window")
            }
            (window, windowCapacity) = (grown, count)
            bytes = UnsafeRawBufferPointer(start: grown, count: bytes.count)
        }
        _ = try fillWindow(keepingFrom: 0)
    }

    /// Throws the decompression error a refill met, if any: call after a streamed walk.
    public func checkStream() throws(FeedError) {
        if let streamFailure { throw streamFailure }
    }

    /// Streamed: refills for an ITCH reader that needs more bytes (walk's `refill`).
    func refill(_ reader: inout ITCHReader) -> Bool {
        let (shift, added) = refill(keepingFrom: reader.at)
        if shift > 0 || added { reader.rebase(bytes, shift: shift) }
        return added
    }

    /// Streamed: refills for a DBN cursor that needs more bytes (walk's `refill`).
    func refill(_ cursor: inout DBNRecordCursor) -> Bool {
        let (shift, added) = refill(keepingFrom: cursor.nextOffset)
        if shift > 0 || added { cursor.rebase(bytes, shift: shift) }
        return added
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
