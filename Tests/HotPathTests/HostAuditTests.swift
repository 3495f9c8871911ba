import XCTest

@testable import HotPath

#if canImport(Glibc)
import Glibc
#endif

/// The audit against fabricated /proc and /sys trees, plus a run on this host.
final class HostAuditTests: XCTestCase {
    var root = ""

    override func setUpWithError() throws {
        var template = Array("/tmp/hotpath-audit-XXXXXX".utf8CString)
        root = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    }

    override func tearDown() {
        _ = system("rm -rf '\(root)'")
    }

    func put(_ path: String, _ text: String) {
        let full = root + path
        let dir = String(full[..<full.lastIndex(of: "/")!])
        _ = system("mkdir -p '\(dir)'")
        let f = fopen(full, "w")!
        fputs(text + "\n", f)
        fclose(f)
    }

    func knob(_ knobs: [HostAudit.Knob], _ name: String) -> HostAudit.Knob {
        knobs.first { $0.name == name }!
    }

    func testEveryKnobIsReportedOnATunedHost() {
        put(
            "/proc/cmdline", "BOOT_IMAGE=/vmlinuz isolcpus=managed_irq,domain,2-3 nohz_full=2-3 rcu_nocbs=2-3 idle=poll"
        )
        put("/sys/devices/system/cpu/online", "0-3")
        put("/sys/devices/system/cpu/isolated", "2-3")
        put("/proc/irq/default_smp_affinity", "3")
        put("/proc/irq/24/smp_affinity_list", "0-1")
        put("/proc/1/comm", "systemd")
        for cpu in 2...3 {
            put("/sys/devices/system/cpu/cpu\(cpu)/cpufreq/scaling_governor", "performance")
            put("/sys/devices/system/cpu/cpu\(cpu)/topology/thread_siblings_list", "\(cpu)")
        }
        put("/sys/kernel/mm/transparent_hugepage/enabled", "always madvise [never]")
        put("/proc/sys/vm/nr_hugepages", "512")
        put("/proc/swaps", "Filename\tType\tSize\tUsed\tPriority")
        put("/proc/sys/kernel/timer_migration", "0")
        put("/proc/sys/kernel/numa_balancing", "0")
        put("/proc/sys/vm/stat_interval", "10")
        put("/sys/devices/virtual/workqueue/cpumask", "3")
        put("/proc/sys/net/core/busy_poll", "50")
        put("/proc/sys/net/core/busy_read", "50")
        put("/sys/devices/system/clocksource/clocksource0/current_clocksource", "tsc")
        put("/proc/cpuinfo", "flags\t\t: fpu tsc constant_tsc nonstop_tsc")

        let audit = HostAudit(root: root)
        XCTAssertEqual(audit.hotCores.cpus, [2, 3], "isolated CPUs are the default hot cores")
        let knobs = audit.run()
        XCTAssertEqual(
            knobs.map(\.name),
            [
                "isolcpus", "nohz_full", "rcu_nocbs", "irq_affinity", "irqbalance", "cpu_governor", "c_states",
                "transparent_hugepages", "hugepages", "swap", "timer_migration", "numa_balancing", "vm.stat_interval",
                "workqueue_cpumask", "busy_poll", "busy_read", "smt_siblings", "clocksource", "invariant_tsc",
            ])
        for k in knobs { XCTAssertEqual(k.verdict, .pass, "\(k)") }
    }

    func testAnUntunedHostFailsTheKnobsThatPutWorkOnHotCores() {
        put("/proc/cmdline", "BOOT_IMAGE=/vmlinuz quiet")
        put("/sys/devices/system/cpu/online", "0-3")
        put("/proc/irq/24/smp_affinity_list", "0-3")
        put("/proc/77/comm", "irqbalance")
        put("/sys/devices/system/cpu/cpu2/cpufreq/scaling_governor", "powersave")
        put("/sys/devices/system/cpu/cpu2/topology/thread_siblings_list", "2,6")
        put("/sys/devices/system/cpu/cpu2/cpuidle/state2/name", "C6")
        put("/sys/devices/system/cpu/cpu2/cpuidle/state2/disable", "0")
        put("/sys/devices/system/cpu/cpu2/cpuidle/state2/latency", "133")
        put("/proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n/swapfile file 1024 0 -2")
        put("/proc/sys/vm/swappiness", "60")
        put("/sys/kernel/mm/transparent_hugepage/enabled", "[always] madvise never")
        let knobs = HostAudit(root: root, hotCores: CPUList([2])).run()
        XCTAssertEqual(knob(knobs, "isolcpus").verdict, .fail)
        XCTAssertEqual(knob(knobs, "isolcpus").value, "not set")
        XCTAssertEqual(knob(knobs, "irq_affinity").verdict, .fail)
        XCTAssertEqual(knob(knobs, "irqbalance").value, "running")
        XCTAssertEqual(knob(knobs, "cpu_governor").verdict, .fail)
        XCTAssertEqual(knob(knobs, "c_states").verdict, .warn)
        XCTAssertEqual(knob(knobs, "smt_siblings").value, "cpu2~6")
        XCTAssertEqual(knob(knobs, "swap").verdict, .fail)
        XCTAssertEqual(knob(knobs, "transparent_hugepages").value, "always")
    }

    func testUnreadableKnobsAreUnknownNotACrash() {
        let knobs = HostAudit(root: root + "/nothing-here", hotCores: CPUList([1])).run()
        XCTAssertEqual(knobs.count, 19)
        XCTAssertTrue(knobs.allSatisfy { $0.verdict == .unknown }, "\(knobs.filter { $0.verdict != .unknown })")
    }

    func testJSONHasTheDocumentedShape() throws {
        let knobs = HostAudit(hotCores: CPUList([0])).run()
        let text = HostAudit.json(knobs, hotCores: CPUList([0]))
        XCTAssertTrue(text.hasPrefix("{\"hot_cores\":\"0\",\"knobs\":[{\"name\":\"isolcpus\",\"value\":"), text)
        for k in knobs {
            XCTAssertTrue(text.contains("\"name\":\"\(k.name)\""))
            XCTAssertTrue(["pass", "warn", "fail", "unknown"].contains(k.verdict.rawValue))
        }
    }
}
