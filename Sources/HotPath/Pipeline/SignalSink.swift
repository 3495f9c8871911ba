#if canImport(Glibc)
import Glibc
#endif

/// Where signals leave the process (the output thread, a cold path): stdout or a file, as CSV
/// (with a header), JSON lines, or the raw 64-byte `Signal` records. Buffered: one write(2)
/// per 64 KiB and at `close()`.
public final class SignalSink {
    public let path: String
    public let format: EngineConfig.SignalFormat
    let fd: Int32
    var buffer: [UInt8] = []
    public private(set) var written = 0

    /// `path` "-" is stdout.
    public init(path: String, format: EngineConfig.SignalFormat) throws(ConfigError) {
        self.path = path
        self.format = format
        if path == "-" {
            fd = 1
        } else {
            fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw ConfigError(file: path, key: "output.signals", reason: String(cString: strerror(errno))) }
        }
        buffer.reserveCapacity(1 << 17)
        if format == .csv { line(Signal.csvHeader) }
    }

    deinit { close() }

    func line(_ s: String) {
        buffer.append(contentsOf: s.utf8)
        buffer.append(0x0A)
        if buffer.count >= 1 << 16 { flush() }
    }

    public func write(_ s: Signal) {
        written += 1
        switch format {
        case .csv: line(s.csv)
        case .jsonl: line(s.json)
        case .binary:
            withUnsafeBytes(of: s) { buffer.append(contentsOf: $0) }
            if buffer.count >= 1 << 16 { flush() }
        }
    }

    public func flush() {
        var done = 0
        while done < buffer.count {
            let n = buffer.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            done += n
        }
        buffer.removeAll(keepingCapacity: true)
    }

    private var closed = false
    public func close() {
        if closed { return }
        flush()
        if fd > 2 { Glibc.close(fd) }
        closed = true
    }
}
