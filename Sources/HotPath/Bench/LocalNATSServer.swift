import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A `nats-server` of this machine's (Debian's `nats-server` package) on a loopback port, for
/// `bench nats` and the tests: started at init, ready when it accepts a connection, stopped at
/// the end. With `jetstream`, JetStream is on with its storage in a directory of its own,
/// removed at the end.
public final class LocalNATSServer {
    public let port: UInt16
    /// JetStream's storage directory, when it is on.
    public let storage: String?
    private var process: Process?

    public static let candidates = ["/usr/sbin/nats-server", "/usr/bin/nats-server"]
    public static var installed: String? { candidates.first { FileManager.default.isExecutableFile(atPath: $0) } }

    public init(port: UInt16 = UDPReceiveBench.freePort(), jetstream: Bool = false) throws(SystemError) {
        self.port = port
        storage = jetstream ? NSTemporaryDirectory() + "hotpath-js-\(getpid())-\(port)" : nil
        try start()
    }

    /// `nats://127.0.0.1:PORT/PREFIX`.
    public func url(prefix: String) -> String { "nats://127.0.0.1:\(port)/\(prefix)" }

    /// Starts the server (again, after `stop`, on the same port and storage); waits up to 2 s
    /// for it to take connections.
    public func start() throws(SystemError) {
        guard let path = Self.installed else {
            throw SystemError("nats-server", call: "find (apt-get install nats-server)", errno: ENOENT)
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = ["-a", "127.0.0.1", "-p", "\(port)"] + (storage.map { ["-js", "-sd", $0] } ?? [])
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { throw SystemError(path, call: "start", errno: EIO) }
        process = p
        for _ in 0..<200 {
            if (try? NATSLink(url: url(prefix: "hotpath"))) != nil { return }
            usleep(10_000)
        }
        throw SystemError(path, call: "accept a connection on port \(port) within 2 s", errno: ETIMEDOUT)
    }

    /// SIGTERM, or with `crash` SIGKILL: what the server had not yet handled is lost.
    public func stop(crash: Bool = false) {
        if crash, let p = process { kill(p.processIdentifier, SIGKILL) } else { process?.terminate() }
        process?.waitUntilExit()
        process = nil
    }

    deinit {
        stop()
        if let storage { try? FileManager.default.removeItem(atPath: storage) }
    }
}
