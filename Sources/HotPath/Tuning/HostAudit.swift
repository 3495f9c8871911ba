/// The read-only low-latency host audit behind `hotpath tune check`.
///
/// Each knob of the profile in tuning/README.md is read back from /proc and /sys (never
/// written) and judged against the recommendation for the hot cores: `pass`, `warn` (costs
/// some jitter or throughput), `fail` (puts interrupts, timers or frequency changes on a
/// hot core), or `unknown` when the file is absent or unreadable — never a crash.
/// `root` prefixes every path so tests can audit a fabricated tree.
public struct HostAudit: Sendable {
    public enum Verdict: String, Sendable { case pass, warn, fail, unknown }

    public struct Knob: Equatable, Sendable {
        public var name: String
        public var value: String
        public var recommended: String
        public var verdict: Verdict
        /// How to get to the recommendation (tuning/README.md has the full story).
        public var hint: String
    }

    public let root: String
    public let hotCores: CPUList

    /// - Parameters:
    ///   - hotCores: the cores the feed and engine threads run on. Default: the kernel's
    ///     isolated CPUs if any, else every online CPU but CPU 0 (CPU 0 keeps the housekeeping),
    ///     or CPU 0 on a one-CPU machine.
    public init(root: String = "", hotCores: CPUList? = nil) {
        self.root = root
        if let hotCores {
            self.hotCores = hotCores
        } else if let isolated = SystemFile.readLine(root + "/sys/devices/system/cpu/isolated").flatMap({
            CPUList(parsing: $0)
        }), !isolated.isEmpty {
            self.hotCores = isolated
        } else {
            let online = CPUList.online(root: root)?.cpus ?? [0]
            self.hotCores = CPUList(online.count > 1 ? Array(online.dropFirst()) : online)
        }
    }

    private func read(_ path: String) -> String? { SystemFile.readLine(root + path) }

    /// Every knob, in the order tuning/README.md lists them.
    public func run() -> [Knob] {
        let cmdline = read("/proc/cmdline")
        return [
            cmdlineCoreList(
                cmdline, key: "isolcpus", sysfs: "/sys/devices/system/cpu/isolated", severity: .fail,
                hint: "boot with isolcpus=managed_irq,domain,\(hotCores) (tuning/kernel-cmdline.txt)"),
            cmdlineCoreList(
                cmdline, key: "nohz_full", sysfs: "/sys/devices/system/cpu/nohz_full", severity: .fail,
                hint: "boot with nohz_full=\(hotCores) so the scheduler tick stops on a core with one task"),
            cmdlineCoreList(
                cmdline, key: "rcu_nocbs", sysfs: nil, severity: .warn,
                hint: "boot with rcu_nocbs=\(hotCores) to move RCU callbacks to housekeeping cores"),
            irqAffinity(),
            irqbalance(),
            governor(),
            cStates(cmdline),
            transparentHugePages(),
            hugePages(),
            swap(),
            sysctl(
                "timer_migration", "/proc/sys/kernel/timer_migration", recommended: "0", severity: .warn,
                hint: "sysctl kernel.timer_migration=0 keeps timers off other cores"
            ) { $0 == "0" },
            sysctl(
                "numa_balancing", "/proc/sys/kernel/numa_balancing", recommended: "0", severity: .warn,
                hint: "sysctl kernel.numa_balancing=0 stops page migration faults on hot memory"
            ) { $0 == "0" },
            sysctl(
                "vm.stat_interval", "/proc/sys/vm/stat_interval", recommended: ">= 10", severity: .warn,
                hint: "sysctl vm.stat_interval=10 makes the vmstat worker wake hot cores less often"
            ) { (Int($0) ?? 0) >= 10 },
            workqueueMask(),
            sysctl(
                "busy_poll", "/proc/sys/net/core/busy_poll", recommended: "50", severity: .warn,
                hint: "sysctl net.core.busy_poll=50 spins on the socket instead of sleeping for an interrupt"
            ) { (Int($0) ?? 0) >= 50 },
            sysctl(
                "busy_read", "/proc/sys/net/core/busy_read", recommended: "50", severity: .warn,
                hint: "sysctl net.core.busy_read=50 (as busy_poll, for blocking reads)"
            ) { (Int($0) ?? 0) >= 50 },
            smtSiblings(),
            clocksource(),
            invariantTSC(),
        ]
    }

    // MARK: - The knobs

    /// A kernel parameter that names a core list; the sysfs file (when given) is the
    /// kernel's effective value and wins over the command line.
    func cmdlineCoreList(_ cmdline: String?, key: String, sysfs: String?, severity: Verdict, hint: String) -> Knob {
        let recommended = "includes \(hotCores)"
        var text: String? = nil
        if let sysfs, let v = read(sysfs), !v.isEmpty { text = v }
        if text == nil, let cmdline {
            text = cmdline.split(separator: " ").first { $0.hasPrefix(key + "=") }.map {
                String($0.dropFirst(key.count + 1))
            }
        }
        guard cmdline != nil || text != nil else {
            return Knob(name: key, value: "unknown", recommended: recommended, verdict: .unknown, hint: hint)
        }
        guard let text, let cpus = CPUList(parsing: text) else {
            return Knob(name: key, value: "not set", recommended: recommended, verdict: severity, hint: hint)
        }
        let ok = cpus.isSuperset(of: hotCores)
        return Knob(
            name: key, value: cpus.description, recommended: recommended, verdict: ok ? .pass : severity, hint: hint)
    }

    func irqAffinity() -> Knob {
        let recommended = "no IRQ may run on \(hotCores)"
        let hint = "steer IRQs to housekeeping cores: tuning/irq-affinity.sh \(hotCores)"
        guard let entries = SystemFile.list(root + "/proc/irq") else {
            return Knob(name: "irq_affinity", value: "unknown", recommended: recommended, verdict: .unknown, hint: hint)
        }
        var total = 0
        var onHot: [String] = []
        for irq in entries where irq.allSatisfy(\.isNumber) {
            guard let list = read("/proc/irq/\(irq)/smp_affinity_list").flatMap({ CPUList(parsing: $0) }) else {
                continue
            }
            total += 1
            if !list.intersection(hotCores).isEmpty { onHot.append(irq) }
        }
        let defaultMask = read("/proc/irq/default_smp_affinity").flatMap { CPUList(mask: $0) }
        let defaultHits = defaultMask.map { !$0.intersection(hotCores).isEmpty } ?? false
        if total == 0 && defaultMask == nil {
            return Knob(name: "irq_affinity", value: "unknown", recommended: recommended, verdict: .unknown, hint: hint)
        }
        var value = "\(onHot.count) of \(total) IRQs may run on hot cores"
        if defaultHits { value += "; default_smp_affinity includes them" }
        return Knob(
            name: "irq_affinity", value: value, recommended: recommended,
            verdict: onHot.isEmpty && !defaultHits ? .pass : .fail, hint: hint)
    }

    func irqbalance() -> Knob {
        let hint = "systemctl disable --now irqbalance, or set IRQBALANCE_BANNED_CPULIST=\(hotCores)"
        let recommended = "not running, or banned from \(hotCores)"
        guard let pids = SystemFile.list(root + "/proc") else {
            return Knob(name: "irqbalance", value: "unknown", recommended: recommended, verdict: .unknown, hint: hint)
        }
        for pid in pids where pid.allSatisfy(\.isNumber) {
            guard read("/proc/\(pid)/comm") == "irqbalance" else { continue }
            let environ = SystemFile.read(root + "/proc/\(pid)/environ") ?? ""
            let banned = environ.split(separator: "\0").first {
                $0.hasPrefix("IRQBALANCE_BANNED_CPULIST=") || $0.hasPrefix("IRQBALANCE_BANNED_CPUS=")
            }
            if let banned {
                return Knob(
                    name: "irqbalance", value: "running, \(banned)", recommended: recommended, verdict: .warn,
                    hint: hint)
            }
            return Knob(name: "irqbalance", value: "running", recommended: recommended, verdict: .fail, hint: hint)
        }
        return Knob(name: "irqbalance", value: "not running", recommended: recommended, verdict: .pass, hint: hint)
    }

    func governor() -> Knob {
        let hint = "cpupower frequency-set -g performance (tuned profile hotpath does it)"
        var values: [String] = []
        for cpu in hotCores.cpus {
            guard let g = read("/sys/devices/system/cpu/cpu\(cpu)/cpufreq/scaling_governor") else { continue }
            values.append("cpu\(cpu)=\(g)")
        }
        if values.isEmpty {
            return Knob(
                name: "cpu_governor", value: "no cpufreq driver (typical on VMs)", recommended: "performance",
                verdict: .unknown, hint: hint)
        }
        let ok = values.allSatisfy { $0.hasSuffix("=performance") }
        return Knob(
            name: "cpu_governor", value: values.joined(separator: " "), recommended: "performance",
            verdict: ok ? .pass : .fail, hint: hint)
    }

    func cStates(_ cmdline: String?) -> Knob {
        let recommended = "no state deeper than C1 enabled on hot cores"
        let hint =
            "boot with processor.max_cstate=1 intel_idle.max_cstate=1, or disable deep states via /dev/cpu_dma_latency"
        if let cmdline, cmdline.split(separator: " ").contains(where: { $0 == "idle=poll" }) {
            return Knob(name: "c_states", value: "idle=poll", recommended: recommended, verdict: .pass, hint: hint)
        }
        var deep: [String] = []
        var seen = false
        for cpu in hotCores.cpus {
            let dir = "/sys/devices/system/cpu/cpu\(cpu)/cpuidle"
            guard let states = SystemFile.list(root + dir) else { continue }
            for state in states where state.hasPrefix("state") {
                guard let name = read("\(dir)/\(state)/name") else { continue }
                seen = true
                let disabled = read("\(dir)/\(state)/disable") == "1"
                let latency = Int(read("\(dir)/\(state)/latency") ?? "") ?? 0
                if !disabled && latency > 2 && name != "POLL" && name != "C1" { deep.append("cpu\(cpu):\(name)") }
            }
        }
        if !seen {
            let driver = read("/sys/devices/system/cpu/cpuidle/current_driver") ?? "none"
            return Knob(
                name: "c_states", value: "no cpuidle states exposed (driver \(driver))", recommended: recommended,
                verdict: .unknown, hint: hint)
        }
        return Knob(
            name: "c_states",
            value: deep.isEmpty
                ? "only POLL/C1 enabled" : "enabled: " + Array(Set(deep)).sorted().joined(separator: ","),
            recommended: recommended, verdict: deep.isEmpty ? .pass : .warn, hint: hint)
    }

    func transparentHugePages() -> Knob {
        let hint = "echo never > /sys/kernel/mm/transparent_hugepage/enabled (or transparent_hugepage=never at boot)"
        guard let text = read("/sys/kernel/mm/transparent_hugepage/enabled") else {
            return Knob(
                name: "transparent_hugepages", value: "unknown", recommended: "never or madvise", verdict: .unknown,
                hint: hint)
        }
        let selected = Self.bracketed(text) ?? text
        return Knob(
            name: "transparent_hugepages", value: selected, recommended: "never or madvise",
            verdict: selected == "always" ? .warn : .pass, hint: hint)
    }

    func hugePages() -> Knob {
        let hint = "sysctl vm.nr_hugepages=512 (1 GiB of 2 MiB pages) for arenas"
        guard let n = read("/proc/sys/vm/nr_hugepages").flatMap({ Int($0) }) else {
            return Knob(name: "hugepages", value: "unknown", recommended: "> 0 reserved", verdict: .unknown, hint: hint)
        }
        return Knob(
            name: "hugepages", value: "\(n) reserved", recommended: "> 0 reserved", verdict: n > 0 ? .pass : .warn,
            hint: hint)
    }

    func swap() -> Knob {
        let hint = "swapoff -a and remove swap from /etc/fstab; or vm.swappiness=0 with locked arenas"
        guard let text = SystemFile.read(root + "/proc/swaps") else {
            return Knob(name: "swap", value: "unknown", recommended: "off", verdict: .unknown, hint: hint)
        }
        let devices = text.split(separator: "\n").dropFirst().count
        let swappiness = read("/proc/sys/vm/swappiness") ?? "?"
        if devices == 0 { return Knob(name: "swap", value: "off", recommended: "off", verdict: .pass, hint: hint) }
        return Knob(
            name: "swap", value: "\(devices) device(s), swappiness \(swappiness)", recommended: "off",
            verdict: swappiness == "0" ? .warn : .fail, hint: hint)
    }

    func sysctl(
        _ name: String, _ path: String, recommended: String, severity: Verdict, hint: String,
        ok: (String) -> Bool
    ) -> Knob {
        guard let v = read(path) else {
            return Knob(name: name, value: "unknown", recommended: recommended, verdict: .unknown, hint: hint)
        }
        return Knob(name: name, value: v, recommended: recommended, verdict: ok(v) ? .pass : severity, hint: hint)
    }

    func workqueueMask() -> Knob {
        let recommended = "excludes \(hotCores)"
        let hint = "echo <housekeeping mask> > /sys/devices/virtual/workqueue/cpumask"
        guard let mask = read("/sys/devices/virtual/workqueue/cpumask").flatMap({ CPUList(mask: $0) }) else {
            return Knob(
                name: "workqueue_cpumask", value: "unknown", recommended: recommended, verdict: .unknown, hint: hint)
        }
        return Knob(
            name: "workqueue_cpumask", value: mask.description, recommended: recommended,
            verdict: mask.intersection(hotCores).isEmpty ? .pass : .warn, hint: hint)
    }

    func smtSiblings() -> Knob {
        let recommended = "no online sibling thread on a hot core"
        let hint = "offline the sibling (echo 0 > /sys/devices/system/cpu/cpuN/online) or boot with nosmt"
        var shared: [String] = []
        var seen = false
        for cpu in hotCores.cpus {
            guard
                let siblings = read("/sys/devices/system/cpu/cpu\(cpu)/topology/thread_siblings_list").flatMap({
                    CPUList(parsing: $0)
                })
            else { continue }
            seen = true
            let others = siblings.cpus.filter { $0 != cpu }
            if !others.isEmpty { shared.append("cpu\(cpu)~\(CPUList(others))") }
        }
        if !seen {
            return Knob(name: "smt_siblings", value: "unknown", recommended: recommended, verdict: .unknown, hint: hint)
        }
        let control = read("/sys/devices/system/cpu/smt/control").map { " (smt \($0))" } ?? ""
        return Knob(
            name: "smt_siblings", value: (shared.isEmpty ? "none" : shared.joined(separator: " ")) + control,
            recommended: recommended, verdict: shared.isEmpty ? .pass : .warn, hint: hint)
    }

    func clocksource() -> Knob {
        let hint = "boot with clocksource=tsc tsc=reliable when the TSC is invariant"
        guard let v = read("/sys/devices/system/clocksource/clocksource0/current_clocksource") else {
            return Knob(name: "clocksource", value: "unknown", recommended: "tsc", verdict: .unknown, hint: hint)
        }
        return Knob(name: "clocksource", value: v, recommended: "tsc", verdict: v == "tsc" ? .pass : .warn, hint: hint)
    }

    func invariantTSC() -> Knob {
        let hint = "without an invariant TSC HotPath falls back to clock_gettime (slower stamps)"
        guard let info = SystemFile.read(root + "/proc/cpuinfo", limit: 1 << 16) else {
            return Knob(
                name: "invariant_tsc", value: "unknown", recommended: "constant_tsc nonstop_tsc", verdict: .unknown,
                hint: hint)
        }
        let ok = Clock.cpuHasInvariantTSC(cpuinfo: info)
        return Knob(
            name: "invariant_tsc", value: ok ? "yes" : "no", recommended: "constant_tsc nonstop_tsc",
            verdict: ok ? .pass : .warn, hint: hint)
    }

    /// "always [madvise] never" → "madvise".
    static func bracketed(_ text: String) -> String? {
        guard let open = text.firstIndex(of: "["), let close = text.firstIndex(of: "]"), open < close else {
            return nil
        }
        return String(text[text.index(after: open)..<close])
    }

    // MARK: - Output

    public static func json(_ knobs: [Knob], hotCores: CPUList) -> String {
        let rows = knobs.map { k in
            JSONText.object([
                ("name", JSONText.quote(k.name)), ("value", JSONText.quote(k.value)),
                ("recommended", JSONText.quote(k.recommended)), ("verdict", JSONText.quote(k.verdict.rawValue)),
                ("hint", JSONText.quote(k.hint)),
            ])
        }
        return "{\"hot_cores\":\(JSONText.quote(hotCores.description)),\"knobs\":[" + rows.joined(separator: ",") + "]}"
    }

    public static func table(_ knobs: [Knob], hotCores: CPUList) -> String {
        let w0 = max(4, knobs.map(\.name.count).max() ?? 0)
        let w1 = min(48, max(5, knobs.map(\.value.count).max() ?? 0))
        func pad(_ s: String, _ w: Int) -> String { s.count >= w ? s : s + String(repeating: " ", count: w - s.count) }
        var out = "Host audit for hot cores \(hotCores) (read-only; see tuning/README.md)\n"
        out += pad("knob", w0) + "  " + pad("value", w1) + "  verdict  recommended\n"
        for k in knobs {
            out +=
                pad(k.name, w0) + "  " + pad(k.value, w1) + "  " + pad(k.verdict.rawValue, 7) + "  " + k.recommended
                + "\n"
        }
        let counts = Dictionary(grouping: knobs, by: \.verdict).mapValues(\.count)
        out +=
            "\(counts[.pass] ?? 0) pass, \(counts[.warn] ?? 0) warn, \(counts[.fail] ?? 0) fail, \(counts[.unknown] ?? 0) unknown"
        return out
    }
}
