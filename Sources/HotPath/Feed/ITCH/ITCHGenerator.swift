/// A deterministic synthetic TotalView-ITCH 5.0 session (Nasdaq binary framing: u16 length +
/// message), for benchmarks and tests: per instrument, bids within 30 ticks below a fixed
/// centre and asks within 30 ticks above it (so the book never crosses), and a stream of
/// adds, partial cancels and executions, deletes and replaces of live orders, plus a trade
/// now and then. Every message is consistent with the book it builds. Same seed, same bytes.
public struct ITCHGenerator {
    public var instruments = 8
    public var seed: UInt64 = 0x5EED
    /// Prices in ITCH Price(4) units; 100 = one cent.
    public var tick: UInt32 = 100

    public init() {}

    struct Rng {
        var s: UInt64
        mutating func next() -> UInt64 { s ^= s << 13; s ^= s >> 7; s ^= s << 17; return s }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    struct Live { var id: UInt64; var side: UInt8; var shares: UInt32 }

    /// `messages` messages in Nasdaq binary framing.
    public func generate(messages: Int) -> [UInt8] {
        var rng = Rng(s: seed | 1)
        var out: [UInt8] = []
        out.reserveCapacity(messages * 40)
        let mids = (0..<instruments).map { _ in UInt32(1_000_000 + rng.below(5_000) * 100) }
        var live = [[Live]](repeating: [], count: instruments)
        var nextId: UInt64 = 1
        var match: UInt64 = 1
        var ts: UInt64 = 34_200_000_000_000
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.bigEndian) { out.append(contentsOf: $0) } }
        func header(_ type: Character, _ locate: Int, length: Int) {
            put(UInt16(length))
            out.append(type.asciiValue!)
            put(UInt16(locate + 1))
            put(UInt16(0))
            put(UInt16(truncatingIfNeeded: ts >> 32))
            put(UInt32(truncatingIfNeeded: ts))
        }
        let stock: [UInt8] = Array("SYNTH   ".utf8)
        for _ in 0..<messages {
            ts &+= UInt64(50 + rng.below(2000))
            let i = rng.below(instruments)
            // Keep each book a realistic size: past 400 live orders, trim one.
            let roll = live[i].count > 400 ? 80 : rng.below(100)
            if live[i].count < 20 || roll < 45 {
                let side: UInt8 = rng.below(2) == 0 ? UInt8(ascii: "B") : UInt8(ascii: "S")
                let offset = UInt32(1 + rng.below(30)) * tick
                let price = side == UInt8(ascii: "B") ? mids[i] &- offset : mids[i] &+ offset
                let shares = UInt32(100 * (1 + rng.below(10)))
                header("A", i, length: 36)
                put(nextId); out.append(side); put(shares); out += stock; put(price)
                live[i].append(Live(id: nextId, side: side, shares: shares))
                nextId &+= 1
                continue
            }
            let k = rng.below(live[i].count)
            let order = live[i][k]
            switch roll {
            case 45..<77 where order.shares > 100:
                // A partial cancel or execution of 100 shares.
                if roll < 65 {
                    header("X", i, length: 23); put(order.id); put(UInt32(100))
                } else {
                    header("E", i, length: 31); put(order.id); put(UInt32(100)); put(match); match &+= 1
                }
                live[i][k].shares -= 100
            case 45..<92:
                header("D", i, length: 19); put(order.id)
                live[i].swapAt(k, live[i].count - 1); live[i].removeLast()
            case 92..<98:
                let offset = UInt32(1 + rng.below(30)) * tick
                let price = order.side == UInt8(ascii: "B") ? mids[i] &- offset : mids[i] &+ offset
                let shares = UInt32(100 * (1 + rng.below(10)))
                header("U", i, length: 35); put(order.id); put(nextId); put(shares); put(price)
                live[i][k].id = nextId
                live[i][k].shares = shares
                nextId &+= 1
            default:
                header("P", i, length: 44); put(UInt64(0)); out.append(UInt8(ascii: "B")); put(UInt32(100)); out += stock
                put(mids[i]); put(match); match &+= 1
            }
        }
        return out
    }
}
