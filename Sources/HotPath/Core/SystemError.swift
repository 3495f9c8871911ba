#if canImport(Glibc)
import Glibc
#endif

/// A failed system call: what it was done to, the call, and the errno, read once on the cold
/// path that throws it.
public struct SystemError: Error, Equatable, CustomStringConvertible {
    /// What the call was about: a path, a URL, an address.
    public var subject: String
    public var call: String
    public var errno: Int32

    public init(_ subject: String, call: String, errno: Int32) {
        self.subject = subject
        self.call = call
        self.errno = errno
    }

    /// The C library's text for an errno value: the one place that calls `strerror`.
    public static func text(_ errno: Int32) -> String { String(cString: strerror(errno)) }

    public var description: String { "\(subject): \(call) failed: \(SystemError.text(errno))" }
}
