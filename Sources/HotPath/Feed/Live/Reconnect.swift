#if canImport(Glibc)
import Glibc
#endif

/// The wait before a live source connects again, for every source that reconnects
/// (`DatabentoFeed`, `VenueFeed`): exponential back-off from 0.1 s, doubling to 10 s, times
/// a jitter of 0.5–1 so that many clients do not come back in step; `maxAttempts` failures
/// in a row end it. The wait is slept in 20 ms slices, watching `stop` and `idle`.
struct Reconnect {
    var maxAttempts = 8
    private(set) var attempts = 0

    enum Outcome { case retry, stopped, idle, gaveUp }

    /// A connection delivered: the next failure starts the back-off again.
    mutating func succeeded() { attempts = 0 }

    /// Counts a failure and waits; `said` hears the line to print (the delay in it).
    mutating func wait(
        after why: String, stop: () -> Bool, idle: () -> Bool = { false }, said: (String) -> Void
    ) -> Outcome {
        if idle() { return .idle }
        attempts += 1
        guard attempts <= maxAttempts else { return .gaveUp }
        let delay = min(0.1 * Double(1 << attempts), 10) * Double.random(in: 0.5...1)
        said("\(why); reconnecting in \(format("%.2f", delay)) s")
        let until = Clock.monotonicNs() + UInt64(delay * 1e9)
        while Clock.monotonicNs() < until {
            if stop() { return .stopped }
            if idle() { return .idle }
            usleep(20_000)
        }
        return .retry
    }
}
