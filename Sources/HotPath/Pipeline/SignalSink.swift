#if canImport(Glibc)
import Glibc
#endif

/// Where signals leave the process (the output thread, a cold path): stdout or a file, as CSV
/// (with a header), JSON lines, or the raw 64-byte `Signal` records. Buffered: one write(2)
/// per 64 KiB and at `close()`. Wide (`members` > 0, `[output] wide`): each signal with its
/// `MemberRecord` — CSV columns regime, m0_buy, m0_sell, …; JSON fields "regime" and
/// "members"; binary records of 64 + 152 bytes.
///
/// Each CSV and JSON record names the ensemble that made it (`model`, `EnsembleIdentity`);
/// binary records carry it in their wide part. The narrow binary record stays the 64 bytes
/// the ring, the UDP egress and `listen` share: all 64 are in use.
public final class SignalSink {
    public let path: String
    public let format: EngineConfig.SignalFormat
    var out: BufferedWriter
    public private(set) var written = 0
    /// Members per wide record; 0: narrow.
    public let members: Int

    /// The last sequence in the file appended to (0: a new file); the engine continues after it.
    public private(set) var resumesAfter: UInt64 = 0
    /// What the sink did to an existing file, to say once at start-up.
    public private(set) var note: String? = nil

    /// `path` "-" is stdout. A file that already holds records is refused, overwritten, or
    /// appended to after `SignalFileCheck` has found it whole (a torn tail is cut off and
    /// said; damage, another format or another width is refused).
    public init(
        path: String, format: EngineConfig.SignalFormat, members: Int = 0,
        existing: EngineConfig.ExistingSignals = .refuse
    ) throws(EngineError) {
        self.path = path
        self.format = format
        self.members = members
        var fd: Int32 = 1
        var header = format == .csv
        if path != "-" {
            var flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC
            var st = stat()
            if stat(path, &st) == 0 && st.st_size > 0 && (st.st_mode & S_IFMT) == S_IFREG && existing != .overwrite {
                let check = try Self.checkBeforeAppending(path, format: format, members: members, existing: existing)
                resumesAfter = check.lastSequence
                header = header && check.wholeBytes == 0
                flags = O_WRONLY | O_APPEND | O_CLOEXEC
                note =
                    (check.tornBytes > 0
                        ? "\(path): cut a torn tail of \(check.tornBytes) bytes after \(check.records) whole signals; "
                        : "\(path): ") + "appending after sequence \(check.lastSequence)"
            }
            fd = open(path, flags, 0o644)
            guard fd >= 0 else { throw .output(key: "output.signals", SystemError(path, call: "open", errno: errno)) }
        }
        out = BufferedWriter(fd: fd)
        if header {
            out.line(Self.csvHeader(members: members))
        }
    }

    /// An existing file with records: refused unless `existing` is `.append`; then checked
    /// whole, of this width, and its torn tail cut off.
    static func checkBeforeAppending(
        _ path: String, format: EngineConfig.SignalFormat, members: Int, existing: EngineConfig.ExistingSignals
    ) throws(EngineError) -> SignalFileCheck {
        guard let check = SignalFileCheck(path: path, format: format, wide: members > 0) else {
            throw .output(key: "output.signals", SystemError(path, call: "read", errno: errno))
        }
        guard existing == .append else {
            throw .signalsFile(
                path: path,
                "already holds \(check.summary); --append continues its sequence, --overwrite replaces it "
                    + "([output] existing)")
        }
        if let damage = check.damage {
            throw .signalsFile(path: path, "cannot append: \(damage); only the tail of a killed run can be torn")
        }
        if check.wide != (members > 0) || (format == .csv && check.members != members && check.wholeBytes > 0) {
            throw .signalsFile(
                path: path,
                "cannot append: the file's records are \(check.wide ? "wide (\(check.members) members)" : "narrow"), "
                    + "the configuration's \(members > 0 ? "wide (\(members) members)" : "narrow")")
        }
        if format == .csv && check.wholeBytes > 0 && !check.identified {
            throw .signalsFile(
                path: path,
                "cannot append: its header has no model column (written by an older hotpath); start a new file")
        }
        if check.tornBytes > 0 && truncate(path, off_t(check.wholeBytes)) != 0 {
            throw .output(key: "output.signals", SystemError(path, call: "truncate", errno: errno))
        }
        return check
    }

    deinit { close() }

    /// The CSV header: the signal's columns, `model`, then the wide columns if any.
    public static func csvHeader(members: Int) -> String {
        Signal.csvHeader + ",model" + (members > 0 ? "," + MemberRecord.csvHeader(members: members) : "")
    }

    /// `wide`: the signal's member record, for a wide sink (nil there: it went missing, and
    /// its fields are empty, null or NaN). `model`: the identity of the ensemble that made it.
    public func write(_ s: Signal, wide: MemberRecord? = nil, model: UInt64 = 0) {
        written += 1
        let hex = EnsembleIdentity.hex(model)
        switch format {
        case .csv: out.line(s.csv + "," + hex + (members > 0 ? "," + MemberRecord.csv(wide, members: members) : ""))
        case .jsonl:
            out.line(
                s.json(adding: [("model", JSONText.quote(hex))] + (members > 0 ? MemberRecord.jsonFields(wide) : [])))
        case .binary:
            withUnsafeBytes(of: s) { out.append($0) }
            if members > 0 {
                var r = wide ?? MemberRecord()
                r.model = model
                withUnsafeBytes(of: r) { out.append(UnsafeRawBufferPointer(rebasing: $0.prefix(MemberRecord.size))) }
            }
        }
        out.endRecord()
    }

    public func flush() { out.flush() }

    /// Writes what has gathered, if anything: the output loop calls it when the ring is empty,
    /// so a kill loses at most the signals of one drain.
    public func flushIfPending() { if !out.isEmpty { out.flush() } }

    private var closed = false
    public func close() {
        if closed { return }
        flush()
        if out.fd > 2 { Glibc.close(out.fd) }
        closed = true
    }
}
