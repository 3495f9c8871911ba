import CSupport

#if canImport(Glibc)
import Glibc
#endif

/// A connected TCP stream, plain or TLS (OpenSSL through `hp_tls_*`): what a WebSocket runs
/// on. Verification is on unless `insecure`: the peer's certificate against `caFile` or the
/// system's store, and its name (or IP address) against `host`. Set-up is cold; `receive`
/// is the receive path's one call. It allocates nothing on TLS 1.2 or plain TCP; on TLS 1.3,
/// OpenSSL 3.0 allocates once per TLS record inside `SSL_read` (BENCHMARKS.md, "TLS"), so
/// `tls12Only` is there for a hot path that must not allocate.
final class SecureStream {
    let tcp: TCPStream
    let tls: OpaquePointer?
    let peer: String
    /// The last TLS error's text (a fixed buffer: the receive path never builds a String).
    let errorText = UnsafeMutablePointer<CChar>.allocate(capacity: 256)

    init(
        host: String, port: UInt16, tls: Bool, caFile: String?, insecure: Bool, tls12Only: Bool = false
    )
        throws(WebSocketError)
    {
        peer = "\(host):\(port)"
        errorText[0] = 0
        do { tcp = try TCPStream.connect(host: host, port: port) } catch {
            errorText.deallocate()
            throw .connect(error)
        }
        guard tls else {
            self.tls = nil
            return
        }
        let session = hp_tls_connect(tcp.fd, host, caFile, insecure ? 1 : 0, tls12Only ? 1 : 0, errorText, 256)
        guard let session else {
            let reason = String(cString: errorText)
            tcp.close()
            errorText.deallocate()
            throw .tls(peer: "\(host):\(port)", reason: reason)
        }
        self.tls = session
    }

    deinit {
        if let tls { hp_tls_free(tls) }
        tcp.close()
        errorText.deallocate()
    }

    var tlsVersion: String? { tls.map { String(cString: hp_tls_version($0)) } }

    func setReceiveTimeout(microseconds: Int) { tcp.setReceiveTimeout(microseconds: microseconds) }

    /// Up to `count` bytes: how many, 0 when the peer closed, -EAGAIN when the receive
    /// time-out passed, or another -errno (-EPROTO for a TLS error, its text in `errorText`).
    @inline(__always)
    func receive(into p: UnsafeMutableRawPointer, count: Int) -> Int {
        guard let tls else { return tcp.receive(into: p, count: count) }
        let n = hp_tls_read(tls, p, count, errorText, 256)
        if n >= 0 { return n }
        return n == -2 ? -Int(EAGAIN) : -Int(EPROTO)
    }

    /// All of `bytes`, or false.
    func send(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let tls else { return (try? tcp.send(bytes)) != nil }
        return hp_tls_write(tls, bytes.baseAddress, bytes.count, errorText, 256) == bytes.count
    }
}
