/// Which instruments this process serves when several share a market (`[shard]`, `hotpath run
/// --shard K/N`): instrument ids modulo N equal to K, or an explicit list. The feed thread
/// drops the events of the others before they reach the ring, counted as
/// `feed.outside_shard`; events that belong to no instrument (a restart, a resubscription)
/// pass. Each shard then builds the books and features of its own instruments only, so the
/// union of the shards' signals is a single process's, when nothing couples instruments (the
/// rate limit counts all of a process's signals: a per-shard limit).
///
/// `owns` is one modulo, or a binary search over the sorted list (a buffer made once, read
/// without reference counting): no allocation.
public struct Shard: @unchecked Sendable, Equatable {
    /// The name used in subjects and reports: `K-of-N`, or `[shard] id`.
    public var id: String
    public var index = 0
    public var count = 1
    /// Sorted, when the shard is an explicit list (kept for the life of the process).
    let list: UnsafeBufferPointer<UInt32>?
    public var instruments: [UInt32]? { list.map(Array.init) }

    public static func == (a: Shard, b: Shard) -> Bool {
        (a.id, a.index, a.count) == (b.id, b.index, b.count) && a.instruments == b.instruments
    }

    public init(id: String, index: Int, count: Int) {
        self.id = id
        self.index = index
        self.count = count
        list = nil
    }

    public init(id: String, instruments: [UInt32]) {
        self.id = id
        let sorted = Array(Set(instruments)).sorted()
        let p = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: sorted.count)
        _ = p.initialize(from: sorted)
        list = UnsafeBufferPointer(p)
    }

    /// "K/N" with 0 ≤ K < N ≤ 1024; nil otherwise.
    public init?(hash: String, id: String? = nil) {
        let parts = hash.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let k = Int(parts[0]), let n = Int(parts[1]), n >= 1, n <= 1024, k >= 0, k < n else {
            return nil
        }
        self.init(id: id ?? "\(k)-of-\(n)", index: k, count: n)
    }

    /// What the feed thread tests each event with (plain values: no reference counting).
    public var filter: ShardFilter { ShardFilter(index: index, count: count, list: list) }

    public func owns(_ instrument: UInt32) -> Bool { filter.owns(instrument) }
}

/// A `Shard`'s membership test, for the feed thread.
public struct ShardFilter: BitwiseCopyable, @unchecked Sendable {
    let index: Int
    let count: Int
    let list: UnsafeBufferPointer<UInt32>?

    @inline(__always)
    public func owns(_ instrument: UInt32) -> Bool {
        guard let list else { return Int(instrument % UInt32(count)) == index }
        var (lo, hi) = (0, list.count)
        while lo < hi {
            let mid = (lo + hi) / 2
            if list[mid] < instrument { lo = mid + 1 } else { hi = mid }
        }
        return lo < list.count && list[lo] == instrument
    }

    /// Whether event `e` goes to this shard's engine.
    @inline(__always)
    func admits(_ e: Event) -> Bool { e.kind == .restart || e.kind == .resubscribed || owns(e.instrumentId) }
}
