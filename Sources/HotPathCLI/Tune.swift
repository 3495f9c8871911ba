import ArgumentParser
import HotPath

struct Tune: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Audit this host against the low-latency profile (tuning/).",
        subcommands: [Check.self, Jitter.self]
    )

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read-only audit of every low-latency knob: value, recommendation, verdict.",
            discussion: """
                Reads /proc and /sys only; never changes the host. Verdicts: pass; warn (costs \
                some jitter); fail (puts interrupts, ticks or frequency changes on a hot core); \
                unknown (not readable here, e.g. no cpufreq driver in a VM). Exits 0 whatever \
                the verdicts, unless --strict is given (then 1 when any knob fails). \
                tuning/README.md explains each knob and how to set it.
                """
        )

        @Option(
            help: ArgumentHelp(
                "Hot cores, in kernel list syntax (e.g. 2-3,6).",
                discussion: "Default: the kernel's isolated CPUs, else all online CPUs but CPU 0."))
        var cores: String?

        @Flag(help: "Print {\"knobs\":[{\"name\",\"value\",\"recommended\",\"verdict\",\"hint\"}…]}.")
        var json = false

        @Flag(help: "Exit 1 when any knob's verdict is fail.")
        var strict = false

        func run() throws {
            var hot: CPUList? = nil
            if let cores {
                guard let list = CPUList(parsing: cores), !list.isEmpty else {
                    fail("--cores \(cores): not a CPU list (expected e.g. 2-3,6)", code: 2)
                }
                if let online = CPUList.online(), !online.isSuperset(of: list) {
                    fail(
                        "--cores \(cores): CPUs \(CPUList(list.cpus.filter { !online.contains($0) })) are not online (online: \(online))",
                        code: 2)
                }
                hot = list
            }
            let audit = HostAudit(hotCores: hot)
            let knobs = audit.run()
            print(
                json
                    ? HostAudit.json(knobs, hotCores: audit.hotCores) : HostAudit.table(knobs, hotCores: audit.hotCores)
            )
            if strict && knobs.contains(where: { $0.verdict == .fail }) { throw ExitCode(1) }
        }
    }

    struct Jitter: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure the time the host takes from a spinning thread on each CPU (no engine running).",
            discussion: """
                One pinned thread per CPU, all at once, reads the TSC in a tight loop; every gap \
                between two reads over --threshold-ns is a hiccup: an interrupt, another task or \
                the hypervisor took the CPU. Prints per CPU the hiccups, the share of time \
                stolen and the gaps' percentiles. The engine measures the same while its threads \
                idle (host_hiccup.* in every report). tuning/README.md says what to change when \
                a hot core shows hiccups.
                """
        )

        @Option(
            help: ArgumentHelp(
                "CPUs to probe, in kernel list syntax (e.g. 2-3,6).",
                discussion: "Default: every CPU this process may use."))
        var cpus: String?

        @Option(help: "Seconds to spin on each CPU.")
        var seconds = 2.0

        @Option(help: "A gap between two clock reads longer than this is a hiccup.")
        var thresholdNs: UInt64 = HiccupMeter.defaultThresholdNs

        @Flag(
            help:
                "Print {\"threshold_ns\",\"cpus\":[{\"cpu\",\"seconds\",\"hiccups\",\"stolen_ns\",\"stolen_share\",\"p50_ns\",…}]}."
        )
        var json = false

        func validate() throws {
            guard seconds > 0, seconds <= 3_600 else { throw ValidationError("--seconds must be within 0...3600") }
            guard thresholdNs >= 50, thresholdNs <= 1_000_000_000 else {
                throw ValidationError("--threshold-ns must be within 50...1e9")
            }
        }

        func run() throws {
            var list = PinnedThread.currentAffinity()
            if let cpus {
                guard let parsed = CPUList(parsing: cpus), !parsed.isEmpty else {
                    fail("--cpus \(cpus): not a CPU list (expected e.g. 2-3,6)", code: 2)
                }
                guard list.isSuperset(of: parsed) else {
                    fail(
                        "--cpus \(cpus): CPUs \(CPUList(parsed.cpus.filter { !list.contains($0) })) are not usable by this process (allowed: \(list))",
                        code: 2)
                }
                list = parsed
            }
            var probe = JitterProbe(cpus: list.cpus)
            probe.seconds = seconds
            probe.thresholdNs = thresholdNs
            let results: [JitterProbe.Result]
            do { results = try probe.run() } catch { fail("tune jitter: \(error)") }
            print(
                json
                    ? JitterProbe.json(results, thresholdNs: thresholdNs)
                    : JitterProbe.table(results, thresholdNs: thresholdNs),
                terminator: json ? "\n" : "")
        }
    }
}
