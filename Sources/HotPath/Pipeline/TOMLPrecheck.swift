/// The TOML shapes toml++ (under TOMLKit 0.6.0) asserts on, and so aborts the process on,
/// instead of reporting them (found by scripts/fuzz.sh); `TOMLReader.parse` refuses them first,
/// with their line and column (1-based):
/// - a table header (`[name]`, `[[name]]`) whose name starts with anything but a bare-key
///   character or a quote;
/// - a `]` or `}` that closes the other kind of bracket (`x = [1, }]`);
/// - a character that is not ASCII outside a string or a comment (TOML allows none there, and
///   toml++ reads some, U+0085 among them, as a value's end where its parser asserts none is);
/// - ten characters shaped like a date (`-` fifth and eighth) then a space and one digit not
///   followed by another (`x =2003-03-r= 5`), or a `T` not followed by two digits and a colon
///   (`x = 4326-05-20tail`): toml++ reads on for a time and asserts at the value's end, or at
///   its first character. A date and a time need HH:MM:SS, so no valid file has either.
///
/// A small scanner, not a parser: a header is a `[` that opens a line outside any string,
/// array or inline table, so it follows strings (basic, literal, multi-line, with escapes),
/// comments and the brackets open, and nothing else.
enum TOMLPrecheck {
    static func firstAbort(_ text: String) -> (line: Int, column: Int, reason: String)? {
        let b = Array(text.utf8)
        let quote = UInt8(ascii: "\""), apostrophe = UInt8(ascii: "'"), newline = UInt8(ascii: "\n")
        // A UTF-8 byte order mark opens the text, as toml++ skips it.
        let bom = b.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        var i = bom, line = 1, lineStart = bom, atLineStart = true
        var open: [UInt8] = []  // the brackets open, innermost last
        func at(_ k: Int) -> UInt8 { k < b.count ? b[k] : 0 }
        func tripled(_ c: UInt8, _ k: Int) -> Bool { at(k) == c && at(k + 1) == c && at(k + 2) == c }
        func startsName(_ c: UInt8) -> Bool {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "_"), UInt8(ascii: "-"), quote, apostrophe:
                true
            default: false
            }
        }
        let terminators: Set<UInt8> = [32, 9, 10, 13, 44, 93, 125, 35]  // space tab LF CR , ] } #
        /// Where a value starting at `k` is a date-like token, a space and a lone digit.
        func halfDateTime(at k: Int) -> Int? {
            guard
                k == 0 || terminators.contains(b[k - 1]) || b[k - 1] == UInt8(ascii: "=")
                    || b[k - 1] == UInt8(ascii: "[")
                    || b[k - 1] == UInt8(ascii: "{")
            else { return nil }
            var chars: [UInt8] = []
            var e = k
            while e < b.count && !terminators.contains(b[e]) && chars.count < 14 {
                if b[e] != UInt8(ascii: "_") { chars.append(b[e]) }
                e += 1
            }
            let digit = { (c: UInt8) in (48...57).contains(c) }
            guard chars.count >= 10, chars[4] == UInt8(ascii: "-"), chars[7] == UInt8(ascii: "-") else { return nil }
            if chars.count == 10 {  // the token ended: a space and a lone digit
                return at(e) == 32 && digit(at(e + 1)) && !digit(at(e + 2)) ? e + 1 : nil
            }
            // A `T` (or `t`) after the date: toml++ then takes two digits and a colon for granted.
            guard chars[10] == UInt8(ascii: "T") || chars[10] == UInt8(ascii: "t") else { return nil }
            let whole = chars.count >= 14 && digit(chars[11]) && digit(chars[12]) && chars[13] == UInt8(ascii: ":")
            return whole ? nil : k
        }
        while i < b.count {
            let c = b[i]
            switch c {
            case newline:
                (line, lineStart, atLineStart) = (line + 1, i + 1, true)
                i += 1
                continue
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"):
                i += 1
                continue
            case UInt8(ascii: "#"):
                while i < b.count && b[i] != newline { i += 1 }
                continue
            case quote, apostrophe:
                let triple = tripled(c, i)
                i += triple ? 3 : 1
                while i < b.count {
                    if c == quote && b[i] == UInt8(ascii: "\\") {
                        i += 2
                        continue
                    }
                    if b[i] == newline {
                        if !triple { break }  // an unclosed string: toml++ reports it
                        (line, lineStart) = (line + 1, i + 1)
                    }
                    if triple ? tripled(c, i) : b[i] == c {
                        i += triple ? 3 : 1
                        break
                    }
                    i += 1
                }
            case UInt8(ascii: "[") where open.isEmpty && atLineStart:
                var k = i + 1
                if at(k) == UInt8(ascii: "[") { k += 1 }
                while at(k) == UInt8(ascii: " ") || at(k) == UInt8(ascii: "\t") { k += 1 }
                if !startsName(at(k)) {
                    return (line, k - lineStart + 1, "a table name starts with a letter, a digit, _, - or a quote")
                }
                // The rest of the header: its name may hold quoted brackets, which toml++ reads.
                i = k
                while i < b.count && b[i] != newline && b[i] != UInt8(ascii: "#") { i += 1 }
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                open.append(c)
                i += 1
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                let opener = c == UInt8(ascii: "]") ? UInt8(ascii: "[") : UInt8(ascii: "{")
                if let innermost = open.last, innermost != opener {
                    let (closing, opened) = (Character(UnicodeScalar(c)), Character(UnicodeScalar(innermost)))
                    return (line, i - lineStart + 1, "'\(closing)' where a '\(opened)' is open")
                }
                _ = open.popLast()
                i += 1
            case 0x80...:
                return (line, i - lineStart + 1, "a character that is not ASCII outside a string or a comment")
            default:
                if let column = halfDateTime(at: i) {
                    return (line, column - lineStart + 1, "a date and a time need HH:MM:SS")
                }
                i += 1
            }
            atLineStart = false
        }
        return nil
    }
}
