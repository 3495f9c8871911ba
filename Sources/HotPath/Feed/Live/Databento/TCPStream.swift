import CSupport

#if canImport(Glibc)
import Glibc
#endif

/// A connected TCP socket (blocking, `TCP_NODELAY`), for the gateway client and its emulator.
/// Cold set-up; `receive` is the receive path's one system call.
struct TCPStream {
    let fd: Int32
    let peer: String

    /// Resolves `host` (a name or a dotted address) and connects to the first address that
    /// answers.
    static func connect(host: String, port: UInt16) throws(SystemError) -> TCPStream {
        let peer = "\(host):\(port)"
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            throw SystemError(peer, call: "resolve", errno: rc == EAI_SYSTEM ? errno : EHOSTUNREACH)
        }
        defer { freeaddrinfo(list) }
        var lastErrno: Int32 = ECONNREFUSED
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let a = entry {
            let fd = socket(
                a.pointee.ai_family, a.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), a.pointee.ai_protocol)
            if fd >= 0 {
                if Glibc.connect(fd, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0 {
                    var one: Int32 = 1
                    setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                    return TCPStream(fd: fd, peer: peer)
                }
                lastErrno = errno
                Glibc.close(fd)
            } else {
                lastErrno = errno
            }
            entry = a.pointee.ai_next
        }
        throw SystemError(peer, call: "connect", errno: lastErrno)
    }

    /// Receives are abandoned after this long without data (`receive` then returns -EAGAIN).
    func setReceiveTimeout(microseconds: Int) {
        var tv = timeval(tv_sec: microseconds / 1_000_000, tv_usec: microseconds % 1_000_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Up to `count` bytes: how many, 0 when the peer closed, or -errno.
    @inline(__always)
    func receive(into p: UnsafeMutableRawPointer, count: Int) -> Int {
        while true {
            let n = recv(fd, p, count, 0)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            return -Int(errno)
        }
    }

    /// All of `text`, or the error.
    func send(_ text: String) throws(SystemError) {
        let bytes = Array(text.utf8)
        let failure: SystemError? = bytes.withUnsafeBytes { b in
            do throws(SystemError) { try send(b) } catch { return error }
            return nil
        }
        if let failure { throw failure }
    }

    /// All of `bytes`, or the error.
    func send(_ bytes: UnsafeRawBufferPointer) throws(SystemError) {
        var done = 0
        while done < bytes.count {
            let n = Glibc.send(fd, bytes.baseAddress! + done, bytes.count - done, Int32(MSG_NOSIGNAL))
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError(peer, call: "send", errno: errno)
            }
            done += n
        }
    }

    func close() { Glibc.close(fd) }
}
