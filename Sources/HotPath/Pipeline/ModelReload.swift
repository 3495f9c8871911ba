import CSupport
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Hot model reload: the hand-offs between the reloader (a cold thread), the engine thread and
/// the output thread, in arena memory sized at start-up.
///
/// ```
/// reloader  load + validate + flatten a new Ensemble (allocates: a cold thread)
///           identity[g+1] = its identity; offered ← its pointer (release)
/// engine    at a batch boundary: offered (acquire) ≠ 0 → current ← it (a pointer store);
///           firstSequence[g+1] = the next signal's sequence; generation ← g+1 (release)
/// reloader  sees generation g+1: releases the old ensemble (the engine no longer reads it)
/// output    per signal: the newest generation whose firstSequence ≤ the signal's sequence
///           names its ensemble's identity (exact: the engine swaps between two signals)
/// ```
///
/// The engine's part is one acquiring load per batch, and at a swap a few plain stores: no
/// allocation, no lock, no reference counting (`current` is unretained; the reloader keeps the
/// ensembles alive). Generations are kept in a ring of `slots`; the reloader offers the next
/// only when the output thread is fewer than `slots − 1` behind.
struct ModelSwap: @unchecked Sendable {
    static let slots = 16
    /// The ensemble the engine evaluates. Written only by the engine thread (and at start-up).
    let current: UnsafeMutablePointer<Unmanaged<Ensemble>?>
    /// A loaded ensemble waiting to be swapped in (its opaque pointer), or 0.
    let offered: UnsafeMutablePointer<Atomic<UInt>>
    /// How many swaps the engine has made; generation g's entries are at g % slots.
    let generation: UnsafeMutablePointer<Atomic<UInt64>>
    /// The newest generation the output thread has attributed a signal to.
    let seen: UnsafeMutablePointer<Atomic<UInt64>>
    /// Per generation: the sequence of its first signal; its ensemble's identity.
    let firstSequence: UnsafeMutablePointer<UInt64>
    let identity: UnsafeMutablePointer<UInt64>

    init(ensemble: Ensemble?, identity first: UInt64, arena: Arena) throws(ArenaError) {
        current = try arena.allocate(Unmanaged<Ensemble>?.self, count: 1)
        current.initialize(to: ensemble.map { Unmanaged.passUnretained($0) })
        let atomics = try arena.allocate(Atomic<UInt64>.self, count: 4, alignment: 128)
        for i in 0..<4 { (atomics + i).initialize(to: Atomic(0)) }
        offered = UnsafeMutableRawPointer(atomics).bindMemory(to: Atomic<UInt>.self, capacity: 1)
        generation = atomics + 1
        seen = atomics + 2
        firstSequence = try arena.allocate(UInt64.self, count: Self.slots)
        firstSequence.initialize(repeating: 1, count: Self.slots)
        identity = try arena.allocate(UInt64.self, count: Self.slots)
        identity.initialize(repeating: 0, count: Self.slots)
        identity[0] = first
    }

    /// Engine thread, between batches: takes an offered ensemble. `nextSequence` is the
    /// sequence the engine's next signal will carry.
    @inline(__always)
    func poll(nextSequence: UInt64) {
        let offer = offered.pointee.load(ordering: .acquiring)
        if offer != 0 { take(offer, nextSequence: nextSequence) }
    }

    @inline(never)
    func take(_ offer: UInt, nextSequence: UInt64) {
        current.pointee = Unmanaged.fromOpaque(UnsafeRawPointer(bitPattern: offer)!)
        offered.pointee.store(0, ordering: .relaxed)
        let g = generation.pointee.load(ordering: .relaxed) &+ 1
        firstSequence[Int(g % UInt64(Self.slots))] = nextSequence
        generation.pointee.store(g, ordering: .releasing)
    }
}

/// The output thread's side of `ModelSwap`: which ensemble made each signal it writes.
struct SignalAttribution {
    let swap: ModelSwap
    var generation: UInt64 = 0
    var identity: UInt64

    init(_ swap: ModelSwap) {
        self.swap = swap
        identity = swap.identity[0]
    }

    /// The identity of the ensemble that made the signal with sequence `sequence` (signals
    /// come in sequence order).
    mutating func identity(of sequence: UInt64) -> UInt64 {
        let newest = swap.generation.pointee.load(ordering: .acquiring)
        while generation < newest && swap.firstSequence[Int((generation + 1) % UInt64(ModelSwap.slots))] <= sequence {
            generation += 1
            identity = swap.identity[Int(generation % UInt64(ModelSwap.slots))]
            swap.seen.pointee.store(generation, ordering: .releasing)
        }
        return identity
    }
}

/// An ensemble's identity in a signal record: the first 8 bytes of a SHA-256, as 16 hex
/// digits. With one model it is its file's SHA-256 (`sha256sum FILE | cut -c1-16` shows
/// it); with several, the SHA-256 of their files' 32-byte digests in configuration order.
public enum EnsembleIdentity {
    public static func of(_ models: [ModelIdentity]) -> UInt64 {
        guard !models.isEmpty else { return 0 }
        let digest =
            models.count == 1
            ? models[0].digest
            : ModelIdentity.digest(models.flatMap(\.digest))
        return digest.prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// 16 lowercase hex digits.
    public static func hex(_ identity: UInt64) -> String {
        let s = String(identity, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}

/// Reloads the configured model files while the engine runs, on a thread of its own (loading
/// and flattening a large forest takes milliseconds to seconds: not the output thread's).
///
/// A reload starts on SIGHUP (when the CLI installed `hp_install_reload_handler`), on
/// `request()`, or with `[reload] watch` when a model file's directory changes and the file
/// then stays unchanged for `[reload] settle_ms`. It then:
/// 1. hashes the files: unchanged from the running ones, there is nothing to do;
/// 2. loads them as start-up does (`EngineConfig.loadEnsemble`: the feature schema against the
///    configured vector), and checks the result can stand in for the running one (the same
///    outputs and window), hashing again after (a file changed meanwhile waits another
///    settle);
/// 3. offers it to the engine (`ModelSwap`), waits for the engine to take it, and only then
///    releases the old one.
///
/// A refused model (unreadable, invalid, another shape) is named on stderr in one line and
/// counted (`reload.refused`); the running one continues. Swaps are counted
/// (`reload.swapped`). With `[online]` a reload is refused: the learnt member would be lost.
public final class ModelReloader: @unchecked Sendable {
    let config: EngineConfig
    let swap: ModelSwap
    let stopFlag = Atomic<Bool>(false)
    let requested = Atomic<Bool>(false)
    let swapped: Counter
    let refused: Counter
    let engineDone: @Sendable () -> Bool
    /// Whether SIGHUP requests a reload (the CLI installed the handler).
    let onSignal: Bool
    /// The ensemble in use and its members' identities (this thread's, and the engine's
    /// report's, under the mutex).
    private let state: Mutex<State>
    struct State: @unchecked Sendable {
        var ensemble: Ensemble?
        var models: [ModelIdentity]
        var lastRefusal: String? = nil
    }
    private var thread: PinnedThread? = nil

    init(
        config: EngineConfig, swap: ModelSwap, ensemble: Ensemble?, models: [ModelIdentity], counters: CounterRegistry,
        onSignal: Bool, engineDone: @escaping @Sendable () -> Bool
    ) {
        self.config = config
        self.swap = swap
        self.onSignal = onSignal
        self.engineDone = engineDone
        state = Mutex(State(ensemble: ensemble, models: models))
        let group = counters.makeGroup(thread: "reload", names: ["swapped", "refused"])
        swapped = group[0]
        refused = group[1]
    }

    /// The models in use now.
    public var models: [ModelIdentity] { state.withLock { $0.models } }
    /// Why the last refused reload was refused.
    public var lastRefusal: String? { state.withLock { $0.lastRefusal } }

    /// Asks for a reload (as SIGHUP does).
    public func request() { requested.store(true, ordering: .releasing) }

    func start() throws(PinError) {
        thread = try PinnedThread.start(name: "hp-reload", cpu: config.outputCore) { [self] in loop() }
    }

    func stop() {
        stopFlag.store(true, ordering: .releasing)
        thread?.join()
    }

    private func loop() {
        let files = config.models.map(\.path)
        let watch = config.reloadWatch ? DirectoryWatch(files: files) : nil
        defer { watch?.close() }
        var due: UInt64? = nil
        while !stopFlag.load(ordering: .acquiring) {
            if let watch, watch.watching { watch.wait(ms: 20) } else { usleep(20_000) }
            let now = Clock.monotonicNs()
            if watch?.drain() == true { due = now + config.reloadSettleNs }
            if requested.exchange(false, ordering: .acquiring) || (onSignal && hp_take_reload_request() != 0) {
                due = now
            }
            if let d = due, now >= d {
                due = attempt() ? nil : Clock.monotonicNs() + config.reloadSettleNs
            }
        }
    }

    /// One reload; false when a file changed while it was read (try again after a settle).
    func attempt() -> Bool {
        func identities() -> [ModelIdentity]? {
            let ids = config.models.compactMap { ModelIdentity(path: $0.path, name: $0.name) }
            return ids.count == config.models.count ? ids : nil
        }
        let (running, old) = state.withLock { ($0.models, $0.ensemble) }
        guard let before = identities() else { return refuse("a model file cannot be read") }
        if before == running { return true }
        if config.online != nil { return refuse("[online] is configured: reloading would lose the learnt member") }
        let loaded: Ensemble
        do {
            guard let e = try config.loadEnsemble() else { return refuse("no models configured") }
            loaded = e
        } catch {
            return refuse("\(error)")
        }
        if let old, loaded.outputs != old.outputs || loaded.windowSteps != old.windowSteps {
            return refuse(
                "\(loaded.outputs) outputs over a window of \(loaded.windowSteps), the running models "
                    + "\(old.outputs) over \(old.windowSteps)")
        }
        guard identities() == before else { return false }
        guard offer(loaded, identity: EnsembleIdentity.of(before)) else { return true }  // the engine has stopped
        state.withLock {
            $0.ensemble = loaded
            $0.models = before
            $0.lastRefusal = nil
        }
        swapped.increment()
        printError(
            "hotpath: models reloaded: "
                + before.map { "\($0.name) \($0.short)" }.joined(separator: ", ")
                + " (signals from here carry \(EnsembleIdentity.hex(EnsembleIdentity.of(before))))")
        return true
    }

    private func refuse(_ reason: String) -> Bool {
        refused.increment()
        state.withLock { $0.lastRefusal = reason }
        printError("hotpath: model reload refused, the running models continue: \(reason)")
        return true
    }

    /// Hands `e` to the engine and waits for it to be taken; false if the engine stopped first.
    private func offer(_ e: Ensemble, identity: UInt64) -> Bool {
        let g = swap.generation.pointee.load(ordering: .acquiring)
        // The output thread must not fall a whole ring of generations behind.
        while g - swap.seen.pointee.load(ordering: .acquiring) >= UInt64(ModelSwap.slots - 1) {
            if engineDone() || stopFlag.load(ordering: .acquiring) { return false }
            usleep(1_000)
        }
        swap.identity[Int((g + 1) % UInt64(ModelSwap.slots))] = identity
        swap.offered.pointee.store(UInt(bitPattern: Unmanaged.passUnretained(e).toOpaque()), ordering: .releasing)
        while swap.generation.pointee.load(ordering: .acquiring) == g {
            if engineDone() {
                // Taken or not: the engine thread has stopped, so nothing reads either now.
                let taken = swap.generation.pointee.load(ordering: .acquiring) != g
                if !taken { swap.offered.pointee.store(0, ordering: .relaxed) }
                return taken
            }
            usleep(200)
        }
        return true
    }
}
