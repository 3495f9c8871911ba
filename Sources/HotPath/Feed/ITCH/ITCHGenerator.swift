#if canImport(Glibc)
import Glibc
#endif

/// A deterministic synthetic TotalView-ITCH 5.0 session (Nasdaq binary framing: u16 length +
/// message), for benchmarks, tests and the demo: per instrument, bids within 30 ticks below a
/// centre and asks within 30 ticks above it (so the book never crosses), and a stream of
/// adds, partial cancels and executions, deletes and replaces of live orders, plus a trade
/// now and then. Every message is consistent with the book it builds. Same seed, same bytes.
///
/// With `moveProbability` > 0 the centre moves (the demo's market): each message moves it one
/// tick with that probability, in the direction of a hidden pressure that persists (it flips
/// with probability `pressureFlip` per move); the pressure also tilts new orders towards its
/// side (`tilt`), so book imbalance carries information about the next move, which is what the
/// demo's model learns. A move up first trades through every ask at or below the new centre
/// (executions of the resting orders, then a trade print with aggressor side B), and a move
/// down through every bid at or above it.
///
/// With `regimes`, the market runs through segments of whole seconds of exchange time, each in
/// one regime that sets `moveProbability` and `pressureFlip` for every instrument: the truth a
/// regime detector is scored against (`regimeSchedule`). The segments are drawn from their own
/// stream, so a session without regimes keeps its bytes.
public struct ITCHGenerator {
    public var instruments = 8
    public var seed: UInt64 = 0x5EED
    /// Prices in ITCH Price(4) units; 100 = one cent.
    public var tick: UInt32 = 100
    public var moveProbability = 0.0
    public var pressureFlip = 0.1
    /// Extra probability that a new order joins the pressure's side (0 = even).
    public var tilt = 0.2
    /// Exchange-time spacing between messages: 50 ns plus a uniform draw below this.
    public var spacingNs = 2_000

    /// A market regime: how often each centre moves, and how often its pressure flips.
    public struct Regime: Sendable, Equatable {
        public var name: String
        public var moveProbability: Double
        public var pressureFlip: Double
        public init(name: String, moveProbability: Double, pressureFlip: Double) {
            (self.name, self.moveProbability, self.pressureFlip) = (name, moveProbability, pressureFlip)
        }
    }
    /// The regimes (none: `moveProbability` and `pressureFlip` hold throughout).
    public var regimes: [Regime] = []
    /// A segment's length in whole seconds, uniform in this range; the next segment's regime
    /// is uniform among the others.
    public var regimeSeconds = 10...30

    /// The first message's exchange time: 09:30:00.
    public static let sessionStartNs: UInt64 = 34_200_000_000_000

    public init() {}

    /// The regime session: two instruments, a message every 0.5 ms on average, in three
    /// volatility regimes (the centre moves 5, 20 and 80 times a second).
    public static var regimeSession: ITCHGenerator {
        var g = ITCHGenerator()
        g.instruments = 2
        g.seed = 0x4E61
        g.spacingNs = 1_000_000
        g.regimes = [
            Regime(name: "calm", moveProbability: 0.005, pressureFlip: 0.1),
            Regime(name: "normal", moveProbability: 0.02, pressureFlip: 0.1),
            Regime(name: "volatile", moveProbability: 0.08, pressureFlip: 0.1),
        ]
        return g
    }

    /// The segments' regimes, drawn from the seed: which is in force at an exchange time.
    struct RegimeClock {
        var mix: SplitMix
        let count: Int
        let seconds: ClosedRange<Int>
        var regime: Int
        var end: UInt64

        init(seed: UInt64, count: Int, seconds: ClosedRange<Int>) {
            mix = SplitMix(seed: seed ^ 0x7265_6769_6D65)
            (self.count, self.seconds) = (count, seconds)
            regime = count > 0 ? Int(mix.next() % UInt64(count)) : 0
            end = ITCHGenerator.sessionStartNs
            end += length()
        }

        mutating func length() -> UInt64 {
            UInt64(seconds.lowerBound + Int(mix.next() % UInt64(seconds.count))) * 1_000_000_000
        }

        /// The regime at `t`, for non-decreasing `t`.
        mutating func at(_ t: UInt64) -> Int {
            while t >= end {
                if count > 1 { regime = (regime + 1 + Int(mix.next() % UInt64(count - 1))) % count }
                end += length()
            }
            return regime
        }
    }

    /// The regime segments up to exchange time `until`: each one's start and regime index.
    public func regimeSchedule(until: UInt64) -> [(startNs: UInt64, regime: Int)] {
        guard !regimes.isEmpty else { return [] }
        var clock = RegimeClock(seed: seed, count: regimes.count, seconds: regimeSeconds)
        var segments = [(startNs: Self.sessionStartNs, regime: clock.regime)]
        while clock.end <= until {
            let start = clock.end
            segments.append((start, clock.at(start)))
        }
        return segments
    }

    /// The demo's market: four instruments whose centres move (see above), a message every
    /// 0.3 ms on average, so a few minutes of session time fill the features' 60 s windows.
    public static var demoSession: ITCHGenerator {
        var g = ITCHGenerator()
        g.instruments = 4
        g.seed = 0xD3E0
        g.moveProbability = 0.01
        g.spacingNs = 600_000
        return g
    }

    /// Writes `generate(messages:)` to `path`, a megabyte at a time (a long session never sits
    /// in memory whole); returns the last message's exchange time. Cold path.
    @discardableResult
    public func write(messages: Int, to path: String) throws(SystemError) -> UInt64 {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SystemError(path, call: "create", errno: errno) }
        defer { close(fd) }
        var failure: SystemError? = nil
        let last = generate(messages: messages) { chunk in
            guard failure == nil else { return }
            if SystemFile.writeAll(fd, chunk) < chunk.count { failure = SystemError(path, call: "write", errno: errno) }
        }
        if let failure { throw failure }
        return last
    }

    /// `messages` messages in Nasdaq binary framing.
    public func generate(messages: Int) -> [UInt8] {
        var all: [UInt8] = []
        all.reserveCapacity(max(messages, 0) * 40)
        generate(messages: messages) { all.append(contentsOf: $0) }
        return all
    }

    struct Rng {
        var s: UInt64
        mutating func next() -> UInt64 { s ^= s << 13; s ^= s >> 7; s ^= s << 17; return s }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    struct Live { var id: UInt64; var side: UInt8; var shares: UInt32; var price: UInt32 }

    /// `messages` messages in Nasdaq binary framing, handed to `chunk` about a megabyte at a time.
    /// Returns the last message's exchange time.
    @discardableResult
    public func generate(messages: Int, chunk: (UnsafeRawBufferPointer) -> Void) -> UInt64 {
        // splitmix64 of the seed: neighbouring seeds give unrelated streams (xorshift needs s ≠ 0).
        var mix = SplitMix(seed: seed)
        var rng = Rng(s: mix.next() | 1)
        var out: [UInt8] = []
        out.reserveCapacity(1 << 20 + 64)
        var mids = (0..<instruments).map { _ in UInt32(1_000_000 + rng.below(5_000) * 100) }
        var pressure = [Int](repeating: 1, count: instruments)
        let moving = moveProbability > 0 || !regimes.isEmpty
        var (moveProbability, pressureFlip) = (moveProbability, pressureFlip)
        var clock = RegimeClock(seed: seed, count: regimes.count, seconds: regimeSeconds)
        var live = [[Live]](repeating: [], count: instruments)
        var nextId: UInt64 = 1
        var match: UInt64 = 1
        var ts = Self.sessionStartNs
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
        for _ in 0..<max(messages, 0) {
            if out.count >= 1 << 20 {
                out.withUnsafeBytes(chunk)
                out.removeAll(keepingCapacity: true)
            }
            ts &+= UInt64(50 + rng.below(spacingNs))
            let i = rng.below(instruments)
            if !regimes.isEmpty {
                let r = regimes[clock.at(ts)]
                (moveProbability, pressureFlip) = (r.moveProbability, r.pressureFlip)
            }
            if moving && Double(rng.below(1 << 20)) < moveProbability * Double(1 << 20) {
                if Double(rng.below(1 << 20)) < pressureFlip * Double(1 << 20) { pressure[i] = -pressure[i] }
                let up = rng.below(100) < 75 ? pressure[i] > 0 : pressure[i] < 0
                mids[i] = up ? mids[i] &+ tick : mids[i] &- tick
                // Trade through the side the centre crossed.
                var traded: UInt32 = 0
                var k = 0
                while k < live[i].count {
                    let o = live[i][k]
                    let crossed =
                        up
                        ? (o.side == UInt8(ascii: "S") && o.price <= mids[i])
                        : (o.side == UInt8(ascii: "B") && o.price >= mids[i])
                    if crossed {
                        header("E", i, length: 31); put(o.id); put(o.shares); put(match); match &+= 1
                        traded &+= o.shares
                        live[i].swapAt(k, live[i].count - 1); live[i].removeLast()
                    } else {
                        k += 1
                    }
                }
                if traded > 0 {
                    header("P", i, length: 44); put(UInt64(0)); out.append(UInt8(ascii: up ? "B" : "S")); put(traded);
                    out += stock
                    put(mids[i]); put(match); match &+= 1
                }
                continue
            }
            // Keep each book a realistic size: past 400 live orders, trim one.
            let roll = live[i].count > 400 ? 80 : rng.below(100)
            if live[i].count < 20 || roll < 45 {
                var buy = rng.below(2) == 0
                if moving && rng.below(100) < Int(tilt * 100) { buy = pressure[i] > 0 }
                let side: UInt8 = buy ? UInt8(ascii: "B") : UInt8(ascii: "S")
                let offset = UInt32(1 + (moving ? min(rng.below(8), rng.below(30)) : rng.below(30))) * tick
                let price = side == UInt8(ascii: "B") ? mids[i] &- offset : mids[i] &+ offset
                let shares = UInt32(100 * (1 + rng.below(10)))
                header("A", i, length: 36)
                put(nextId); out.append(side); put(shares); out += stock; put(price)
                live[i].append(Live(id: nextId, side: side, shares: shares, price: price))
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
                live[i][k].price = price
                nextId &+= 1
            default:
                header("P", i, length: 44); put(UInt64(0)); out.append(UInt8(ascii: "B")); put(UInt32(100));
                out += stock
                put(mids[i]); put(match); match &+= 1
            }
        }
        if !out.isEmpty { out.withUnsafeBytes(chunk) }
        return ts
    }
}
