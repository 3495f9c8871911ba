/// Prints DBN records as JSON lines with the same keys, order and values as Databento's
/// official Transcoder (JSON encoding, `pretty_px`/`pretty_ts`/`map_symbols` on, or all off
/// for `raw`). Cold path: used by `hotpath decode`, allocates freely.
///
/// The rules, each checked against the Transcoder's output in the tests: the header fields
/// go in `"hd"`; book levels in `"levels":[{…}]`; 8-byte integers print as strings; prices
/// print with 9 decimals and timestamps as ISO 8601 with nanoseconds, UNDEF ones as null (raw
/// mode: integer strings); a 0 char prints null; `"ts_out"` follows the fields when the
/// metadata says so; `"symbol"` comes last (pretty mode only), null when unmapped.
public struct DBNJSONWriter {
    public let metadata: DBNMetadata
    public let pretty: Bool
    var symbols: DBNSymbolMap

    public init(metadata: DBNMetadata, pretty: Bool) {
        self.metadata = metadata
        self.pretty = pretty
        symbols = DBNSymbolMap(metadata: metadata)
    }

    static let headerFields: Set<String> = ["ts_event", "rtype", "publisher_id", "instrument_id"]

    /// One JSON line (without newline) for the record at `rec`, laid out as `layout`.
    public mutating func line(_ rec: UnsafeRawPointer, layout: DBNLayout) -> String {
        var out = "{"
        var first = true
        func key(_ k: String) {
            if !first { out += "," }
            first = false
            out += "\"" + k + "\":"
        }
        let fields = layout.fields
        var i = 0
        var currentLevel = -1
        while i < fields.count {
            let f = fields[i]
            if Self.headerFields.contains(f.name) {
                // The four header fields sit together in "hd", in their own order.
                key("hd")
                var hd = "{"
                var firstHd = true
                for h in fields where Self.headerFields.contains(h.name) {
                    hd += (firstHd ? "" : ",") + "\"\(h.name)\":" + value(rec, h, layout: layout)
                    firstHd = false
                }
                out += hd + "}"
                while i < fields.count && Self.headerFields.contains(fields[i].name) { i += 1 }
                continue
            }
            if f.level >= 0 {
                if currentLevel < 0 {
                    key("levels"); out += "[{"
                } else if f.level != currentLevel {
                    out += "},{"
                } else {
                    out += ","
                }
                if currentLevel >= 0 && f.level == currentLevel {
                    // continuing the same level: separator already written
                }
                currentLevel = f.level
                out += "\"\(f.name)\":" + value(rec, f, layout: layout)
                i += 1
                if i == fields.count || fields[i].level < 0 { out += "}]"; currentLevel = -1 }
                continue
            }
            key(f.name)
            out += value(rec, f, layout: layout)
            i += 1
        }
        if metadata.tsOut {
            key("ts_out")
            out += timestamp(rec.le(layout.size, as: UInt64.self))
        }
        if pretty {
            let iid: UInt32 = rec.le(4)
            if layout.name.hasPrefix("symbolMapping"), let f = fields.first(where: { $0.name == "stype_out_symbol" }) {
                symbols.learn(instrumentId: iid, symbol: text(rec, f))
            }
            let hasRecv = fields.contains { $0.name == "ts_recv" }
            let ts: UInt64 = hasRecv ? rec.le(fields.first { $0.name == "ts_recv" }!.offset) : rec.le(8)
            key("symbol")
            out += symbols.symbol(instrumentId: iid, timestamp: ts).map(JSONText.quote) ?? "null"
        }
        return out + "}"
    }

    /// The field's value read from the record (sign-extended for signed kinds), or its
    /// upgrade default.
    func integer(_ rec: UnsafeRawPointer, _ f: DBNField) -> Int64 {
        if f.offset < 0 { return f.defaultValue }
        let signed: Bool
        switch f.kind {
        case .signed, .signed64, .price: signed = true
        default: signed = false
        }
        switch f.size {
        case 1: return signed ? Int64(rec.le(f.offset, as: Int8.self)) : Int64(rec.le(f.offset, as: UInt8.self))
        case 2: return signed ? Int64(rec.le(f.offset, as: Int16.self)) : Int64(rec.le(f.offset, as: UInt16.self))
        case 4: return signed ? Int64(rec.le(f.offset, as: Int32.self)) : Int64(rec.le(f.offset, as: UInt32.self))
        default: return rec.le(f.offset, as: Int64.self)
        }
    }

    func value(_ rec: UnsafeRawPointer, _ f: DBNField, layout: DBNLayout) -> String {
        if f.derived { return String(Self.systemCode(text(rec, layout.fields.first { $0.name == "msg" }!))) }
        switch f.kind {
        case .unsigned, .signed:
            return String(integer(rec, f))
        case .unsigned64:
            return "\"\(UInt64(bitPattern: integer(rec, f)))\""
        case .signed64:
            var v = integer(rec, f)
            if f.size == 4 && v == Int64(Int32.max) { v = Int64.max }  // UNDEF widens with the field
            return "\"\(v)\""
        case .price:
            return price(integer(rec, f))
        case .timestamp:
            return timestamp(UInt64(bitPattern: integer(rec, f)))
        case .char:
            let c = UInt8(truncatingIfNeeded: integer(rec, f))
            return c == 0 ? "null" : JSONText.quote(String(UnicodeScalar(c)))
        case .text:
            return JSONText.quote(text(rec, f))
        }
    }

    func text(_ rec: UnsafeRawPointer, _ f: DBNField) -> String {
        f.offset < 0 ? "" : DBNMetadata.cString(rec + f.offset, max: f.size)
    }

    func price(_ v: Int64) -> String {
        if !pretty { return "\"\(v)\"" }
        if v == Int64.max { return "null" }
        return "\"" + Self.decimal(v) + "\""
    }

    func timestamp(_ v: UInt64) -> String {
        if !pretty { return "\"\(v)\"" }
        if v == UInt64.max { return "null" }
        return "\"" + CivilTime(nanoseconds: v).iso8601 + "\""
    }

    /// A 1e-9 fixed-point integer with 9 decimals: -2500000000 → "-2.500000000".
    public static func decimal(_ v: Int64, places: Int = 9) -> String {
        var scale: UInt64 = 1
        for _ in 0..<places { scale *= 10 }
        let mag = v.magnitude
        let frac = String(mag % scale)
        return (v < 0 ? "-" : "") + String(mag / scale) + "." + String(repeating: "0", count: places - frac.count)
            + frac
    }

    /// The code the official v1 → v2 upgrade derives from a system message's text.
    static func systemCode(_ msg: String) -> Int {
        if msg == "Heartbeat" { return 0 }
        if msg.hasPrefix("Subscription request") && msg.hasSuffix("succeeded") { return 1 }
        if msg.hasPrefix("Finished") && msg.hasSuffix("replay") { return 3 }
        if msg.hasPrefix("End of interval for ") { return 4 }
        return 255
    }
}
