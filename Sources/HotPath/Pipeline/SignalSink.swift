#if canImport(Glibc)
import Glibc
#endif

/// Where signals leave the process (the output thread, a cold path): stdout or a file, as CSV
/// (with a header), JSON lines, or the raw 64-byte `Signal` records. Buffered: one write(2)
/// per 64 KiB and at `close()`.
public final class SignalSink {
    public let path: String
    public let format: EngineConfig.SignalFormat
    var out: BufferedWriter
    public private(set) var written = 0

    /// `path` "-" is stdout.
    public init(path: String, format: EngineConfig.SignalFormat) throws(EngineError) {
        self.path = path
        self.format = format
        var fd: Int32 = 1
        if path != "-" {
            fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw .output(key: "output.signals", SystemError(path, call: "open", errno: errno)) }
        }
        out = BufferedWriter(fd: fd)
        if format == .csv { out.line(Signal.csvHeader) }
    }

    deinit { close() }

    public func write(_ s: Signal) {
        written += 1
        switch format {
        case .csv: out.line(s.csv)
        case .jsonl: out.line(s.json)
        case .binary: withUnsafeBytes(of: s) { out.append($0) }
        }
    }

    public func flush() { out.flush() }

    private var closed = false
    public func close() {
        if closed { return }
        flush()
        if out.fd > 2 { Glibc.close(out.fd) }
        closed = true
    }
}
