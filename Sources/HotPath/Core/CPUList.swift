/// A set of CPU ids in the kernel's list syntax ("0-3,8,10-11"), as used by
/// /sys/devices/system/cpu/online, isolcpus= and `--cores`.
public struct CPUList: Equatable, Sendable, CustomStringConvertible {
    public private(set) var cpus: [Int]

    public init(_ cpus: [Int]) { self.cpus = Array(Set(cpus)).sorted() }

    /// Parses "0-3,8". Returns nil on anything else (a flag word such as "domain," is skipped
    /// so that isolcpus=domain,managed_irq,2-3 parses).
    public init?(parsing text: String) {
        var out: [Int] = []
        for part in text.trimmingSpaces().split(separator: ",") {
            let piece = part.trimmingSpaces()
            if piece.isEmpty { continue }
            if piece.first!.isLetter { continue }  // isolcpus flags: nohz, domain, managed_irq
            let ends = piece.split(separator: "-", omittingEmptySubsequences: false)
            if ends.count == 1, let one = Int(ends[0]), one >= 0 {
                out.append(one)
            } else if ends.count == 2, let lo = Int(ends[0]), let hi = Int(ends[1]), lo >= 0, lo <= hi, hi < 1 << 16 {
                out.append(contentsOf: lo...hi)
            } else {
                return nil
            }
        }
        self.init(out)
    }

    /// Parses a hexadecimal CPU mask as in /proc/irq/N/smp_affinity ("ff,ffffffff").
    public init?(mask: String) {
        let digits = mask.trimmingSpaces().replacingComma()
        guard !digits.isEmpty else { return nil }
        var out: [Int] = []
        for (i, ch) in digits.reversed().enumerated() {
            guard let nibble = ch.hexDigitValue else { return nil }
            for bit in 0..<4 where nibble & (1 << bit) != 0 { out.append(i * 4 + bit) }
        }
        self.init(out)
    }

    public var isEmpty: Bool { cpus.isEmpty }
    public func contains(_ cpu: Int) -> Bool { cpus.contains(cpu) }
    public func intersection(_ other: CPUList) -> CPUList { CPUList(cpus.filter { other.contains($0) }) }
    public func isSuperset(of other: CPUList) -> Bool { other.cpus.allSatisfy { contains($0) } }

    /// Compact kernel syntax: [0,1,2,5] → "0-2,5"; empty → "(none)".
    public var description: String {
        if cpus.isEmpty { return "(none)" }
        var parts: [String] = []
        var start = cpus[0], prev = cpus[0]
        for c in cpus.dropFirst() + [Int.min] {
            if c == prev + 1 { prev = c; continue }
            parts.append(start == prev ? "\(start)" : "\(start)-\(prev)")
            start = c; prev = c
        }
        return parts.joined(separator: ",")
    }

    /// CPUs the kernel reports online (/sys/devices/system/cpu/online), or nil if unreadable.
    public static func online(root: String = "") -> CPUList? {
        SystemFile.readLine(root + "/sys/devices/system/cpu/online").flatMap { CPUList(parsing: $0) }
    }
}

extension String {
    fileprivate func replacingComma() -> String { String(filter { $0 != "," }) }
}
