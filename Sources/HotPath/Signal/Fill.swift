import CSupport
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One execution report for the risk gates' positions: a fixed-size 32-byte plain record, one
/// or more per UDP datagram (`[fills] url`).
///
/// Binary layout (little-endian): tag u64 @0 (the order's tag: `hotpath fills-sim` puts the
/// signal's sequence there), instrument_id u32 @8, side u8 @12 ('B' bought, 'A' sold), three
/// zero bytes, quantity i64 @16 (lots, > 0), price i64 @24 (1e-9 units). A test holds the
/// offsets.
public struct Fill: BitwiseCopyable, Equatable, Sendable {
    public var tag: UInt64 = 0
    public var instrumentId: UInt32 = 0
    public var side: UInt8 = 0
    var reserved: (UInt8, UInt8, UInt8) = (0, 0, 0)
    public var quantity: Int64 = 0
    public var price: Int64 = 0

    public init(tag: UInt64, instrumentId: UInt32, side: UInt8, quantity: Int64, price: Int64) {
        self.tag = tag
        self.instrumentId = instrumentId
        self.side = side
        self.quantity = quantity
        self.price = price
    }

    public static func == (a: Fill, b: Fill) -> Bool {
        (a.tag, a.instrumentId, a.side, a.quantity, a.price) == (b.tag, b.instrumentId, b.side, b.quantity, b.price)
    }

    /// Whether a peer's record is one the engine can apply.
    var isValid: Bool { (side == Event.Side.bid || side == Event.Side.ask) && quantity > 0 }

    /// Lots signed by side: + bought, − sold.
    @inline(__always)
    var signedQuantity: Int64 { side == Event.Side.bid ? quantity : -quantity }
}

/// `[fills] url`: receives fills on a cold thread of its own and hands them to the engine
/// through an SPSC ring; the engine applies them to the positions at batch boundaries
/// (`EngineCore.applyFills`), so the positions stay engine-thread state and the per-event path
/// is unchanged. With fills configured the gates book nothing on emission: a position moves
/// only when a fill says so (`RiskGates.Limits.positionsFromFills`).
///
/// Counters (group `fills`): `received`; `malformed` (a datagram not a whole number of
/// records, or a record with another side or a quantity ≤ 0: skipped); `ring_full` (dropped
/// because the engine is behind: its position is then wrong, and this says so). The engine
/// counts `fills_applied` and `fills_unknown_instrument`.
public final class FillsInput: @unchecked Sendable {
    public let address: HostPort
    let fd: Int32
    let rx: OpaquePointer
    let ring: SPSCRing<Fill>
    let received: Counter
    let malformed: Counter
    let ringFull: Counter
    let stopFlag = Atomic<Bool>(false)
    private var thread: PinnedThread? = nil

    public init(url: String, ring: SPSCRing<Fill>, counters: CounterRegistry) throws(EngineError) {
        do { address = try HostPort(String(url.dropFirst(6)), what: "address", url: url) } catch {
            throw .config(ConfigError(file: url, key: "fills.url", reason: error.description))
        }
        var failed: UnsafePointer<CChar>? = nil
        let fd = hp_udp_open_rx(address.host, address.port, nil, 1 << 20, &failed)
        guard fd >= 0 else {
            throw .output(
                key: "fills.url", SystemError(url, call: failed.map { String(cString: $0) } ?? "socket", errno: -fd))
        }
        var uringError: Int32 = 0
        guard let rx = hp_udp_rx_create(fd, Int32(HP_RX_RECVFROM), 1, 2048, &uringError) else {
            close(fd)
            throw .output(key: "fills.url", SystemError(url, call: "receive set-up", errno: ENOMEM))
        }
        self.fd = fd
        self.rx = rx
        self.ring = ring
        let group = counters.makeGroup(thread: "fills", names: ["received", "malformed", "ring_full"])
        received = group[0]
        malformed = group[1]
        ringFull = group[2]
    }

    deinit {
        hp_udp_rx_destroy(rx)
        close(fd)
    }

    func start(cpu: Int?) throws(PinError) {
        thread = try PinnedThread.start(name: "hp-fills", cpu: cpu) { [self] in loop() }
    }

    func stop() {
        stopFlag.store(true, ordering: .releasing)
        thread?.join()
    }

    /// Blocks up to 100 ms per receive (HP_RX_RECVFROM), so a stop is seen within that.
    private func loop() {
        let producer = ring.producer
        var datagram = hp_datagram()
        let size = MemoryLayout<Fill>.size
        while !stopFlag.load(ordering: .acquiring) {
            guard hp_udp_rx_poll(rx, &datagram, 1) == 1 else { continue }
            let length = Int(datagram.length)
            guard length > 0, length % size == 0, datagram.truncated == 0, let data = datagram.data else {
                malformed.increment()
                continue
            }
            for i in 0..<length / size {
                let f = UnsafeRawPointer(data).loadUnaligned(fromByteOffset: i * size, as: Fill.self)
                guard f.isValid else {
                    malformed.increment()
                    continue
                }
                received.increment()
                if !producer.push(f) { ringFull.increment() }
            }
            hp_udp_rx_release(rx)
        }
    }
}

/// `hotpath fills-sim`: turns the signals an engine sends (`[output] url`) into fills for its
/// `[fills] url`, filling a share `ratio` of them, spread evenly and the same on every run
/// (signal n fills when ⌊(n+1)·ratio⌋ > ⌊n·ratio⌋), `lots` each at the signal's mid.
public struct FillRatio: Sendable {
    public let ratio: Double
    var seen: UInt64 = 0

    public init(_ ratio: Double) { self.ratio = ratio }

    /// Whether the next signal fills.
    public mutating func next() -> Bool {
        defer { seen += 1 }
        return (Double(seen + 1) * ratio).rounded(.down) > (Double(seen) * ratio).rounded(.down)
    }

    /// The fill for signal `s`, if it fills.
    public mutating func fill(for s: Signal, lots: Int64) -> Fill? {
        guard next() else { return nil }
        return Fill(tag: s.sequence, instrumentId: s.instrumentId, side: s.side, quantity: lots, price: s.mid)
    }
}
