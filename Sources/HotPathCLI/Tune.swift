import ArgumentParser
import HotPath

struct Tune: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Audit this host against the low-latency profile (tuning/).",
        subcommands: [Check.self]
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

        @Option(help: ArgumentHelp("Hot cores, in kernel list syntax (e.g. 2-3,6).",
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
                    fail("--cores \(cores): CPUs \(CPUList(list.cpus.filter { !online.contains($0) })) are not online (online: \(online))", code: 2)
                }
                hot = list
            }
            let audit = HostAudit(hotCores: hot)
            let knobs = audit.run()
            print(json ? HostAudit.json(knobs, hotCores: audit.hotCores) : HostAudit.table(knobs, hotCores: audit.hotCores))
            if strict && knobs.contains(where: { $0.verdict == .fail }) { throw ExitCode(1) }
        }
    }
}
