#if canImport(Glibc)
import Glibc
#endif

/// An allocation-free JSON scanner for venue messages: it walks one message's bytes in place
/// and hands an adapter the members and elements it asks for; nothing is built, copied or
/// allocated (no String, no Array, no Double).
///
/// A scan is a cursor (`at`) over the bytes. `members` steps through an object, handing the
/// body each key (a `JSONScanner.Text`, a slice of the message) with the cursor on its value;
/// a body that leaves the value unread has it skipped. `elements` does the same for arrays.
/// Values are read with `text()` (a string's bytes between its quotes, escapes left as they
/// are: venues send none in the fields read), `fixedPoint(_:)` (a decimal string or a JSON
/// number, exactly, as an integer scaled by 10^scale) and `integer()`. Anything malformed sets
/// `failure` (with its offset) and every later call returns nil or false, so an adapter
/// checks once at the end. Nesting is bounded (`maxDepth`), so no input recurses deeply.
public struct JSONScanner {
    public let bytes: UnsafeRawBufferPointer
    public private(set) var at = 0
    public private(set) var failure: Failure?
    static let maxDepth = 32

    public struct Failure: Error, Equatable, CustomStringConvertible {
        public var offset: Int
        public var reason: StaticString
        public var description: String { "byte \(offset): \(reason)" }
        public static func == (a: Failure, b: Failure) -> Bool {
            a.offset == b.offset && a.reason.description == b.reason.description
        }
    }

    /// A slice of the message: a key, a string's contents, or a number's text.
    public struct Text {
        public let start: UnsafePointer<UInt8>
        public let count: Int

        /// Whether the bytes are exactly `literal`'s (ASCII).
        @inline(__always)
        public func equals(_ literal: StaticString) -> Bool {
            count == literal.utf8CodeUnitCount && memcmp(start, literal.utf8Start, count) == 0
        }

        /// The index of the first of `names` (start-up byte arrays) with exactly these bytes,
        /// or -1: a venue's market by its id, without building a String.
        public func index(in names: [[UInt8]]) -> Int {
            for (i, name) in names.enumerated() where name.count == count {
                if name.withUnsafeBytes({ memcmp($0.baseAddress!, start, count) }) == 0 { return i }
            }
            return -1
        }

        /// The bytes as a String (cold paths: errors, symbols at start-up).
        public var string: String { String(decoding: UnsafeBufferPointer(start: start, count: count), as: UTF8.self) }
    }

    public init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// A scanner of the same message from `offset` (a value's start noted on a first pass,
    /// for members that must wait for others: Coinbase's events after its sequence number).
    public init(_ bytes: UnsafeRawBufferPointer, at offset: Int) {
        self.bytes = bytes
        at = offset
    }

    /// Where the cursor is (a value's start, inside a `members` body).
    public var offset: Int {
        mutating get {
            skipSpace()
            return at
        }
    }

    @inline(__always) var ok: Bool { failure == nil }

    @inline(__always)
    func byte(_ i: Int) -> UInt8 { bytes.load(fromByteOffset: i, as: UInt8.self) }

    mutating func fail(_ reason: StaticString) {
        if failure == nil { failure = Failure(offset: at, reason: reason) }
    }

    @inline(__always)
    mutating func skipSpace() {
        while at < bytes.count {
            let b = byte(at)
            guard b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 else { return }
            at += 1
        }
    }

    /// The first byte of the next value (after white space), or 0 at the end.
    @inline(__always)
    public mutating func peek() -> UInt8 {
        skipSpace()
        return at < bytes.count ? byte(at) : 0
    }

    /// The whole message is one value and nothing after it.
    public mutating func finish() -> Bool {
        guard ok else { return false }
        if peek() != 0 { fail("text after the message's value") }
        return ok
    }

    /// A string value's contents (without quotes); nil (and `failure`) when the value is no
    /// string. Escapes are validated and left in the slice.
    public mutating func text() -> Text? {
        guard ok, peek() == UInt8(ascii: "\"") else {
            fail("expected a string")
            return nil
        }
        let start = at + 1
        var i = start
        let n = bytes.count
        while i < n {
            // Eight bytes at a time up to the first that needs a look (see `special`).
            while i + 8 <= n {
                let m = Self.special(UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)))
                if m != 0 {
                    i += m.trailingZeroBitCount >> 3
                    break
                }
                i += 8
            }
            guard i < n else { break }
            let b = byte(i)
            if b == UInt8(ascii: "\"") {
                at = i + 1
                return Text(start: bytes.baseAddress!.assumingMemoryBound(to: UInt8.self) + start, count: i - start)
            }
            if b == UInt8(ascii: "\\") {
                i += 2
                continue
            }
            if b < 0x20 {
                at = i
                fail("a control character in a string")
                return nil
            }
            i += 1
        }
        at = bytes.count
        fail("a string runs past the end")
        return nil
    }

    /// The high bit of each byte of `x` that ends a string's plain run: '"', '\\' or a
    /// control character (< 0x20). A borrow can mark bytes after a marked one, never
    /// before it, so the lowest mark is exact.
    @inline(__always)
    static func special(_ x: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let quote = x ^ (ones &* 0x22), backslash = x ^ (ones &* 0x5C)
        let marks = ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | ((x &- ones &* 0x20) & ~x)
        return marks & (ones &* 0x80)
    }

    /// A JSON number's text; nil (and `failure`) when the value is no number.
    mutating func numberText() -> Text? {
        guard ok else { return nil }
        let c = peek()
        guard c == UInt8(ascii: "-") || (c >= 0x30 && c <= 0x39) else {
            fail("expected a number")
            return nil
        }
        let start = at
        while at < bytes.count {
            let b = byte(at)
            guard (b >= 0x30 && b <= 0x39) || b == 0x2D || b == 0x2B || b == 0x2E || b == 0x65 || b == 0x45 else {
                break
            }
            at += 1
        }
        return Text(start: bytes.baseAddress!.assumingMemoryBound(to: UInt8.self) + start, count: at - start)
    }

    /// A decimal string (`"0.6700"`) or a JSON number (`114.125`, `1.5e2`) as an integer
    /// scaled by 10^`scale`, exactly: nil when the value is neither (a scan failure), or is
    /// not a well-formed decimal, has non-zero digits below 10^-scale, or overflows Int64
    /// (no failure: the JSON is sound, the caller counts the value). Never through Double.
    public mutating func fixedPoint(scale: Int = 9) -> Int64? {
        guard ok else { return nil }
        // One pass over the digits where the value is a plain decimal (nearly always);
        // anything else (escapes, bad or inexact numbers) takes the two-step way below,
        // which gives the same value and the same failures.
        let base = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let n = bytes.count
        let c = peek()
        if c == UInt8(ascii: "\"") {
            if let (v, used) = Self.decimalPrefix(base + at + 1, n - at - 1, scale: scale), at + 1 + used < n,
                base[at + 1 + used] == UInt8(ascii: "\"")
            {
                at += used + 2
                return v
            }
        } else if let (v, used) = Self.decimalPrefix(base + at, n - at, scale: scale),
            at + used == n || !Self.inNumber(base[at + used])
        {
            at += used
            return v
        }
        let t = c == UInt8(ascii: "\"") ? text() : numberText()
        guard let t else { return nil }
        // A well-formed value that is no exact decimal ("NaN", too fine) is the caller's to
        // count: the message's JSON is still fine, so the scan goes on.
        return Self.decimal(t, scale: scale)
    }

    /// 10^k for k in 0..<20 (a table the compiler lays out; no array, no lazy global).
    @inline(__always)
    static func pow10(_ k: Int) -> UInt64 {
        switch k {
        case 0: 1
        case 1: 10
        case 2: 100
        case 3: 1_000
        case 4: 10_000
        case 5: 100_000
        case 6: 1_000_000
        case 7: 10_000_000
        case 8: 100_000_000
        case 9: 1_000_000_000
        case 10: 10_000_000_000
        case 11: 100_000_000_000
        case 12: 1_000_000_000_000
        case 13: 10_000_000_000_000
        case 14: 100_000_000_000_000
        case 15: 1_000_000_000_000_000
        case 16: 10_000_000_000_000_000
        case 17: 100_000_000_000_000_000
        case 18: 1_000_000_000_000_000_000
        default: 10_000_000_000_000_000_000
        }
    }

    /// A byte a JSON number's text may hold.
    @inline(__always)
    static func inNumber(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || b == 0x2D || b == 0x2B || b == 0x2E || b == 0x65 || b == 0x45
    }

    /// An integer (a JSON number or a string of digits), exactly; nil otherwise.
    public mutating func integer() -> Int64? { fixedPoint(scale: 0) }

    /// `text` as a decimal scaled by 10^scale (see `fixedPoint`).
    public static func decimal(_ t: Text, scale: Int) -> Int64? {
        guard let (v, used) = decimalPrefix(t.start, t.count, scale: scale), used == t.count else { return nil }
        return v
    }

    /// The decimal at the start of `p` (up to `n` bytes: a sign, digits with at most one
    /// point, an optional exponent) scaled by 10^scale, and the bytes it took; nil when it is
    /// malformed, has non-zero digits below 10^-scale, or overflows Int64. Never through
    /// Double.
    @inline(__always)
    static func decimalPrefix(_ p: UnsafePointer<UInt8>, _ n: Int, scale: Int) -> (Int64, Int)? {
        var i = 0
        guard n > 0 else { return nil }
        var negative = false
        if p[0] == UInt8(ascii: "-") {
            negative = true
            i = 1
        }
        var mantissa: UInt64 = 0
        var digits = 0, fraction = 0
        var sawPoint = false
        var dropped = false  // a non-zero digit beyond what fits
        var overflow = false
        while i < n {
            let b = p[i]
            let d = UInt64(b &- 0x30)
            if d < 10 && digits < 18 {
                // 18 digits cannot overflow: the common case, without checks.
                mantissa = mantissa &* 10 &+ d
                digits &+= 1
                if sawPoint { fraction &+= 1 }
            } else if d < 10 {
                digits += 1
                if sawPoint { fraction += 1 }
                let (m1, o1) = mantissa.multipliedReportingOverflow(by: 10)
                let (m2, o2) = m1.addingReportingOverflow(d)
                if o1 || o2 {
                    // Past 19 digits: only exact if the rest are fraction zeros, checked below.
                    if !sawPoint { overflow = true }
                    if d != 0 { dropped = true }
                    if sawPoint { fraction -= 1 }
                } else {
                    mantissa = m2
                }
            } else if b == UInt8(ascii: ".") && !sawPoint {
                sawPoint = true
            } else {
                break
            }
            i += 1
        }
        guard digits > 0, !overflow else { return nil }
        var exponent = 0
        if i < n && (p[i] == UInt8(ascii: "e") || p[i] == UInt8(ascii: "E")) {
            i += 1
            var expNegative = false
            if i < n && (p[i] == UInt8(ascii: "-") || p[i] == UInt8(ascii: "+")) {
                expNegative = p[i] == UInt8(ascii: "-")
                i += 1
            }
            let first = i
            while i < n && p[i] >= 0x30 && p[i] <= 0x39 {
                guard exponent < 1_000 else { return nil }
                exponent = exponent * 10 + Int(p[i] - 0x30)
                i += 1
            }
            guard i > first else { return nil }
            if expNegative { exponent = -exponent }
        }
        if dropped { return nil }
        // value = mantissa × 10^(exponent − fraction); scaled: × 10^scale, in one step.
        let shift = exponent - fraction + scale
        if shift > 0 && mantissa != 0 {
            guard shift < 20 else { return nil }
            let (m, o) = mantissa.multipliedReportingOverflow(by: pow10(shift))
            guard !o else { return nil }
            mantissa = m
        } else if shift < 0 && mantissa != 0 {
            guard shift > -20 else { return nil }  // precision below 10^-scale
            let d = pow10(-shift)
            guard mantissa % d == 0 else { return nil }
            mantissa /= d
        }
        if negative {
            guard mantissa <= UInt64(Int64.max) + 1 else { return nil }
            return (mantissa == UInt64(Int64.max) + 1 ? Int64.min : -Int64(mantissa), i)
        }
        guard mantissa <= UInt64(Int64.max) else { return nil }
        return (Int64(mantissa), i)
    }

    /// Steps through an object's members. `body` gets each key with the cursor on its value
    /// and returns false to stop; a value it leaves unread is skipped.
    @discardableResult
    public mutating func members(_ body: (inout JSONScanner, Text) -> Bool) -> Bool {
        guard ok, peek() == UInt8(ascii: "{") else {
            fail("expected an object")
            return false
        }
        at += 1
        if peek() == UInt8(ascii: "}") {
            at += 1
            return true
        }
        while ok {
            guard let key = text() else { return false }
            guard peek() == UInt8(ascii: ":") else {
                fail("expected ':' after a key")
                return false
            }
            at += 1
            skipSpace()
            let valueAt = at
            if !body(&self, key) { return ok }
            if ok && at == valueAt { skipUnread() }
            switch peek() {
            case UInt8(ascii: ","): at += 1
            case UInt8(ascii: "}"):
                at += 1
                return ok
            default:
                fail("expected ',' or '}' in an object")
            }
        }
        return false
    }

    /// Steps through an array's elements, as `members` does an object's.
    @discardableResult
    public mutating func elements(_ body: (inout JSONScanner) -> Bool) -> Bool {
        guard ok, peek() == UInt8(ascii: "[") else {
            fail("expected an array")
            return false
        }
        at += 1
        if peek() == UInt8(ascii: "]") {
            at += 1
            return true
        }
        while ok {
            skipSpace()
            let valueAt = at
            if !body(&self) { return ok }
            if ok && at == valueAt { skipUnread() }
            switch peek() {
            case UInt8(ascii: ","): at += 1
            case UInt8(ascii: "]"):
                at += 1
                return ok
            default:
                fail("expected ',' or ']' in an array")
            }
        }
        return false
    }

    /// Whether the bytes at the cursor are exactly `literal` (no white space skipped); if so,
    /// the cursor moves past them. For a venue's fixed layout: `#"{"ev":"Q","sym":"#`.
    @inline(__always)
    public mutating func consume(_ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard ok, at + n <= bytes.count, memcmp(bytes.baseAddress! + at, literal.utf8Start, n) == 0 else {
            return false
        }
        at += n
        return true
    }

    /// Skips a value the body left unread: a string or a number at once, anything else by
    /// `skipValue`.
    @inline(__always)
    public mutating func skipUnread() {
        let c = at < bytes.count ? byte(at) : 0
        if c == UInt8(ascii: "\"") {
            _ = text()
        } else if (c >= 0x30 && c <= 0x39) || c == UInt8(ascii: "-") {
            _ = numberText()
        } else {
            skipValue()
        }
    }

    /// Skips one value of any kind, nesting included: iteratively, with a bit per open
    /// container (1: object), up to `maxDepth`.
    public mutating func skipValue() {
        var objects: UInt64 = 0
        var depth = 0
        values: while ok {
            switch peek() {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                let object = byte(at) == UInt8(ascii: "{")
                depth += 1
                guard depth <= Self.maxDepth else { return fail("nested too deeply") }
                objects = objects << 1 | (object ? 1 : 0)
                at += 1
                if peek() == (object ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                    at += 1
                    depth -= 1
                    objects >>= 1
                } else {
                    if object { key() }
                    continue values
                }
            case UInt8(ascii: "\""): _ = text()
            case UInt8(ascii: "t"): literal("true")
            case UInt8(ascii: "f"): literal("false")
            case UInt8(ascii: "n"): literal("null")
            case 0: return fail("a value runs past the end")
            default: _ = numberText()
            }
            // A value is done: a ',' leads to the next (after its key, in an object), a close
            // ends its container.
            while depth > 0 && ok {
                let inObject = objects & 1 == 1
                let c = peek()
                if c == UInt8(ascii: ",") {
                    at += 1
                    if inObject { key() }
                    continue values
                }
                guard c == (inObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) else {
                    return fail("expected ',' or the container's close")
                }
                at += 1
                depth -= 1
                objects >>= 1
            }
            return
        }
    }

    /// A member's key and its ':'.
    mutating func key() {
        guard text() != nil else { return }
        guard peek() == UInt8(ascii: ":") else { return fail("expected ':' after a key") }
        at += 1
    }

    mutating func literal(_ word: StaticString) {
        let n = word.utf8CodeUnitCount
        guard at + n <= bytes.count, memcmp(bytes.baseAddress! + at, word.utf8Start, n) == 0 else {
            return fail("not a JSON literal")
        }
        at += n
    }
}
