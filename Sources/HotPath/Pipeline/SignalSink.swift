#if canImport(Glibc)
import Glibc
#endif

/// Where signals leave the process (the output thread, a cold path): stdout or a file, as CSV
/// (with a header), JSON lines, or the raw 64-byte `Signal` records. Buffered: one write(2)
/// per 64 KiB and at `close()`. Wide (`members` > 0, `[output] wide`): each signal with its
/// `MemberRecord` — CSV columns regime, m0_buy, m0_sell, …; JSON fields "regime" and
/// "members"; binary records of 64 + 144 bytes.
public final class SignalSink {
    public let path: String
    public let format: EngineConfig.SignalFormat
    var out: BufferedWriter
    public private(set) var written = 0
    /// Members per wide record; 0: narrow.
    public let members: Int

    /// `path` "-" is stdout.
    public init(path: String, format: EngineConfig.SignalFormat, members: Int = 0) throws(EngineError) {
        self.path = path
        self.format = format
        self.members = members
        var fd: Int32 = 1
        if path != "-" {
            fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw .output(key: "output.signals", SystemError(path, call: "open", errno: errno)) }
        }
        out = BufferedWriter(fd: fd)
        if format == .csv {
            out.line(members > 0 ? Signal.csvHeader + "," + MemberRecord.csvHeader(members: members) : Signal.csvHeader)
        }
    }

    deinit { close() }

    /// `wide`: the signal's member record, for a wide sink (nil there: it went missing, and
    /// its fields are empty, null or NaN).
    public func write(_ s: Signal, wide: MemberRecord? = nil) {
        written += 1
        guard members > 0 else {
            switch format {
            case .csv: out.line(s.csv)
            case .jsonl: out.line(s.json)
            case .binary: withUnsafeBytes(of: s) { out.append($0) }
            }
            return
        }
        switch format {
        case .csv: out.line(s.csv + "," + MemberRecord.csv(wide, members: members))
        case .jsonl: out.line(s.json(adding: MemberRecord.jsonFields(wide)))
        case .binary:
            withUnsafeBytes(of: s) { out.append($0) }
            withUnsafeBytes(of: wide ?? MemberRecord()) { out.append($0) }
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
