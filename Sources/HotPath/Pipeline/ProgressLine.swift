#if canImport(Glibc)
import Glibc
#endif

/// The progress line of long work (replays, `bench e2e`, feature capture) on stderr, when
/// stderr is a terminal: from two seconds on, at most once a second, rewritten in place.
/// Cold path only.
public struct ProgressLine {
    let started = Clock.monotonicNs()
    var next: UInt64
    var printed = false
    let enabled: Bool

    public init(enabled: Bool = isatty(2) != 0) {
        self.enabled = enabled
        next = started + 2_000_000_000
    }

    /// `\rhotpath: 12 s, 40 % of the input, ~18 s left, ` + `tail`: the share and the time
    /// left (at the pace so far) once any input has been taken.
    public static func text(seconds: Double, fraction: Double?, tail: String) -> String {
        var line = format("\rhotpath: %.0f s, ", seconds)
        if let f = fraction, f > 0 {
            line += format("%.0f %% of the input, ~%.0f s left, ", f * 100, seconds * (1 - f) / f)
        }
        return line + tail
    }

    /// Prints the line when it is due.
    public mutating func update(fraction: Double?, tail: @autoclosure () -> String) {
        guard enabled else { return }
        let now = Clock.monotonicNs()
        guard now >= next else { return }
        next = now + 1_000_000_000
        let line = ProgressLine.text(seconds: Double(now - started) / 1e9, fraction: fraction, tail: tail())
        SystemFile.writeAll(2, line)
        printed = true
    }

    /// Ends the line, when one was printed, so what follows starts on its own.
    public func finish() {
        if printed { printError("") }
    }
}
