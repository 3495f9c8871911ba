import CSupport

#if canImport(Glibc)
import Glibc
#endif

public enum ArenaError: Error, Equatable, CustomStringConvertible {
    case mapFailed(SystemError)
    case exhausted(requested: Int, remaining: Int, capacity: Int)
    case badRequest(String)

    public var description: String {
        switch self {
        case let .mapFailed(error):
            return "\(error)"
        case let .exhausted(requested, remaining, capacity):
            return
                "arena exhausted: \(requested) bytes requested, \(remaining) of \(capacity) left; size the arena larger"
        case let .badRequest(why):
            return "arena: \(why)"
        }
    }
}

/// Memory for hot-path state, obtained once at start-up.
///
/// One `mmap` region, bound to the NUMA node of the CPU that will use it (libnuma), pre-faulted
/// page by page after binding so every page is resident on that node, and `mlock`ed when the
/// process may (otherwise `notes` says so and the memory may be swapped). With `hugePages`
/// it first tries 2 MiB `MAP_HUGETLB` pages, then falls back to normal pages with
/// `MADV_HUGEPAGE` and a note.
///
/// Carving is a bump allocator; nothing is ever freed individually. The hot path holds raw
/// pointers carved from an arena, never the arena object itself, so using them costs no ARC
/// traffic. The arena must outlive every pointer carved from it.
public final class Arena: @unchecked Sendable {
    public static let hugePageSize = 2 << 20

    public let base: UnsafeMutableRawPointer
    public let capacity: Int
    /// NUMA node the memory is bound to, or nil when libnuma is unavailable or no CPU was given.
    public let node: Int?
    public let usesHugePages: Bool
    public let locked: Bool
    public let notes: [String]
    public private(set) var used = 0

    /// - Parameters:
    ///   - bytes: capacity; rounded up to whole pages.
    ///   - cpu: bind to this CPU's NUMA node.
    ///   - hugePages: try 2 MiB pages first.
    ///   - lock: `mlock` the region.
    public init(bytes: Int, cpu: Int? = nil, hugePages: Bool = false, lock: Bool = true) throws(ArenaError) {
        guard bytes > 0 else { throw .badRequest("capacity must be positive, got \(bytes)") }
        var notes: [String] = []
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        var size = (bytes + page - 1) / page * page
        var mapped: UnsafeMutableRawPointer? = nil
        var huge = false
        if hugePages {
            let hsize = (bytes + Arena.hugePageSize - 1) / Arena.hugePageSize * Arena.hugePageSize
            let p = mmap(nil, hsize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0)
            if let p, p != MAP_FAILED {
                mapped = p; size = hsize; huge = true
            } else {
                notes.append(
                    "2 MiB huge pages unavailable (\(SystemError.text(errno))): using normal pages with MADV_HUGEPAGE; reserve some with vm.nr_hugepages"
                )
            }
        }
        if mapped == nil {
            let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
            guard let p, p != MAP_FAILED else {
                throw .mapFailed(SystemError("arena of \(size) bytes", call: "mmap", errno: errno))
            }
            mapped = p
            if hugePages { _ = madvise(p, size, MADV_HUGEPAGE) }
        }
        let region = mapped!

        var boundNode: Int? = nil
        if let cpu {
            if numa_available() >= 0 {
                let n = numa_node_of_cpu(Int32(cpu))
                if n >= 0 {
                    numa_tonode_memory(region, size, n)
                    boundNode = Int(n)
                } else {
                    notes.append("libnuma does not know cpu \(cpu): memory not bound to a node")
                }
            } else {
                notes.append("NUMA not available on this host: memory is not node-bound")
            }
        }
        // Pre-fault: touch every page now, after binding, so no page fault happens later.
        var offset = 0
        while offset < size {
            region.storeBytes(of: 0, toByteOffset: offset, as: UInt8.self)
            offset += page
        }
        var isLocked = false
        if lock {
            if mlock(region, size) == 0 {
                isLocked = true
            } else {
                let e = errno
                var lim = rlimit()
                getrlimit(__rlimit_resource_t(UInt32(hp_rlimit_memlock())), &lim)
                let limit = lim.rlim_cur == rlim_t.max ? "unlimited" : "\(lim.rlim_cur) bytes"
                notes.append(
                    "mlock of \(size) bytes not permitted (\(SystemError.text(e)), RLIMIT_MEMLOCK \(limit)): memory may be swapped out; raise `ulimit -l`"
                )
            }
        }
        self.base = region
        self.capacity = size
        self.node = boundNode
        self.usesHugePages = huge
        self.locked = isLocked
        self.notes = notes
    }

    deinit {
        if locked { munlock(base, capacity) }
        munmap(base, capacity)
    }

    /// The most `allocate(T.self, count:)` takes from an arena, alignment included: size
    /// arenas from what their users carve (each type says so beside its init).
    public static func footprint<T: ~Copyable>(_: T.Type, count: Int) -> Int {
        count * MemoryLayout<T>.stride + 64
    }

    /// Carves `count` elements of `T`, aligned to `alignment` (a power of two, at least T's),
    /// zero-filled. Start-up only.
    public func allocate<T: ~Copyable>(
        _ type: T.Type, count: Int, alignment: Int = 64
    ) throws(ArenaError) -> UnsafeMutablePointer<T> {
        let raw = try allocateBytes(
            count * MemoryLayout<T>.stride, alignment: max(alignment, MemoryLayout<T>.alignment))
        return raw.bindMemory(to: T.self, capacity: count)
    }

    /// Carves `bytes` raw zero-filled bytes.
    public func allocateBytes(_ bytes: Int, alignment: Int = 64) throws(ArenaError) -> UnsafeMutableRawPointer {
        guard bytes >= 0, alignment > 0, alignment & (alignment - 1) == 0 else {
            throw .badRequest("bad allocation of \(bytes) bytes at alignment \(alignment)")
        }
        let start = (used + alignment - 1) & ~(alignment - 1)
        guard start + bytes <= capacity else {
            throw .exhausted(requested: bytes, remaining: capacity - min(start, capacity), capacity: capacity)
        }
        used = start + bytes
        let p = base + start
        p.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        return p
    }

    /// One line describing where the memory lives and how it is held.
    public var summary: String {
        let nodeText = node.map { "NUMA node \($0)" } ?? "no NUMA binding"
        return
            "\(capacity) bytes, \(nodeText), \(usesHugePages ? "2 MiB pages" : "4 KiB pages"), \(locked ? "locked" : "not locked"), pre-faulted"
    }
}
