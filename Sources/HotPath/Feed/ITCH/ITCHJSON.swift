/// ITCH messages as JSON lines: `message_type` and every field of the specification in
/// snake_case, in the specification's order; integers as numbers (the timestamp in ns since
/// midnight), alpha fields as strings without their space padding, prices as decimal
/// strings; `sequence` (MoldUDP64) last. Cold path.
public enum ITCHJSON {
    /// The JSON line, or nil for an unknown type or a message shorter than its type.
    public static func line(_ m: ITCHReader.Message) -> String? {
        let p = m.pointer
        guard let layout = ITCHLayout.forType(p.load(as: UInt8.self)), m.length >= layout.length else { return nil }
        var out = "{\"message_type\":\"\(String(UnicodeScalar(layout.type)))\""
        for f in layout.fields {
            out += ",\"\(f.name)\":"
            switch f.kind {
            case .integer:
                out += String(integer(p, f.offset, f.size))
            case .alpha:
                let bytes = UnsafeRawBufferPointer(start: p + f.offset, count: f.size)
                var text = String(decoding: bytes, as: UTF8.self)
                if f.size > 1 { while text.hasSuffix(" ") { text.removeLast() } }
                out += JSONText.quote(text)
            case .price4:
                out += "\"" + decimal(integer(p, f.offset, 4), places: 4) + "\""
            case .price8:
                out += "\"" + decimal(integer(p, f.offset, 8), places: 8) + "\""
            }
        }
        return out + ",\"sequence\":\(m.sequence)}"
    }

    static func integer(_ p: UnsafeRawPointer, _ offset: Int, _ size: Int) -> UInt64 {
        var v: UInt64 = 0
        for i in 0..<size { v = v << 8 | UInt64(p.load(fromByteOffset: offset + i, as: UInt8.self)) }
        return v
    }

    static func decimal(_ v: UInt64, places: Int) -> String {
        var scale: UInt64 = 1
        for _ in 0..<places { scale *= 10 }
        let frac = String(v % scale)
        return String(v / scale) + "." + String(repeating: "0", count: places - frac.count) + frac
    }
}
