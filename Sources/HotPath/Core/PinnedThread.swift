import CSupport
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Why a thread could not be started where it was asked to run.
public enum PinError: Error, Equatable, CustomStringConvertible {
    case cpuOutOfRange(cpu: Int, online: String)
    case cpuNotAllowed(cpu: Int, allowed: String)
    case affinityFailed(SystemError)
    case affinityNotConfirmed(cpu: Int, actual: String)
    case createFailed(SystemError)

    public var description: String {
        switch self {
        case let .cpuOutOfRange(cpu, online):
            return "cpu \(cpu) is offline or out of range: online CPUs are \(online)"
        case let .cpuNotAllowed(cpu, allowed):
            return
                "cpu \(cpu) is online but outside this process's allowed CPUs (\(allowed)); check taskset/cgroup cpusets"
        case let .affinityFailed(error):
            return "\(error)"
        case let .affinityNotConfirmed(cpu, actual):
            return "asked for cpu \(cpu) but sched_getaffinity reports \(actual)"
        case let .createFailed(error):
            return "\(error)"
        }
    }
}

/// A named OS thread, optionally pinned to one CPU and optionally SCHED_FIFO.
///
/// Start-up only: `start` allocates, creates the thread and waits until the thread has
/// pinned itself and confirmed the pin with `sched_getaffinity`. A refused SCHED_FIFO is not
/// an error: the thread runs at normal priority and `notes` says why.
public final class PinnedThread: @unchecked Sendable {
    public let name: String
    public let cpu: Int?
    /// Things the caller should report, e.g. "SCHED_FIFO 50 not permitted".
    public private(set) var notes: [String] = []
    private var tid = pthread_t()
    private var joined = false

    /// Checks that `cpu` is online and allowed for this process.
    public static func validate(cpu: Int) throws(PinError) {
        let online = CPUList.online()
        if cpu < 0 || cpu >= Int(hp_cpu_setsize()) || !(online?.contains(cpu) ?? (cpu == 0)) {
            throw .cpuOutOfRange(cpu: cpu, online: online?.description ?? "unknown")
        }
        let allowed = currentAffinity()
        if !allowed.contains(cpu) { throw .cpuNotAllowed(cpu: cpu, allowed: allowed.description) }
    }

    /// The calling thread's allowed CPUs.
    public static func currentAffinity() -> CPUList {
        var buf = [Int32](repeating: 0, count: Int(hp_cpu_setsize()))
        let n = buf.withUnsafeMutableBufferPointer { hp_current_affinity($0.baseAddress, Int32($0.count)) }
        return n <= 0 ? CPUList([]) : CPUList(buf.prefix(Int(n)).map(Int.init))
    }

    /// Starts `body` on a new thread named `name`, pinned to `cpu` when given.
    public static func start(
        name: String, cpu: Int?, fifoPriority: Int? = nil,
        body: @escaping @Sendable () -> Void
    ) throws(PinError) -> PinnedThread {
        if let cpu { try validate(cpu: cpu) }
        let thread = PinnedThread(name: name, cpu: cpu)
        let start = ThreadStart(name: name, cpu: cpu, fifoPriority: fifoPriority, body: body)
        let context = Unmanaged.passRetained(start).toOpaque()
        let rc = pthread_create(&thread.tid, nil, hotPathThreadEntry, context)
        if rc != 0 {
            Unmanaged<ThreadStart>.fromOpaque(context).release()
            throw .createFailed(SystemError("thread '\(name)'", call: "pthread_create", errno: rc))
        }
        // Wait for the thread to report its pin (a start-up handshake, not a hot path).
        while start.state.load(ordering: .acquiring) == ThreadStart.starting { usleep(50) }
        thread.notes = start.notes
        if let error = start.error {
            pthread_join(thread.tid, nil)
            thread.joined = true
            throw error
        }
        return thread
    }

    private init(name: String, cpu: Int?) {
        self.name = name
        self.cpu = cpu
    }

    /// Waits for the thread to finish. Idempotent.
    public func join() {
        if joined { return }
        pthread_join(tid, nil)
        joined = true
    }
}

/// What the new thread needs, and what it reports back before running `body`.
final class ThreadStart: @unchecked Sendable {
    static let starting = 0, running = 1, failed = 2
    let name: String
    let cpu: Int?
    let fifoPriority: Int?
    let body: @Sendable () -> Void
    let state = Atomic<Int>(starting)
    var error: PinError?
    var notes: [String] = []

    init(name: String, cpu: Int?, fifoPriority: Int?, body: @escaping @Sendable () -> Void) {
        self.name = name
        self.cpu = cpu
        self.fifoPriority = fifoPriority
        self.body = body
    }

    func run() {
        _ = name.withCString { hp_set_thread_name($0) }
        if let cpu {
            let rc = hp_pin_thread(pthread_self(), Int32(cpu))
            let actual = PinnedThread.currentAffinity()
            if rc != 0 {
                error = .affinityFailed(SystemError("pinning to cpu \(cpu)", call: "sched_setaffinity", errno: rc))
            } else if actual.cpus != [cpu] {
                error = .affinityNotConfirmed(cpu: cpu, actual: actual.description)
            }
        }
        if error == nil, let priority = fifoPriority {
            let rc = hp_set_fifo(Int32(priority))
            if rc != 0 {
                notes.append(
                    "SCHED_FIFO priority \(priority) not permitted for thread '\(name)' (\(SystemError.text(rc))): "
                        + "running at normal priority; grant CAP_SYS_NICE or an rtprio limit to enable it")
            }
        }
        if error != nil {
            state.store(ThreadStart.failed, ordering: .releasing)
            return
        }
        state.store(ThreadStart.running, ordering: .releasing)
        body()
    }
}

/// The C entry point. Lives outside main.swift so it is not main-actor isolated.
private func hotPathThreadEntry(_ context: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    let start = Unmanaged<ThreadStart>.fromOpaque(context!).takeRetainedValue()
    start.run()
    return nil
}
