/// Instrument id → symbol, as the official Transcoder maps it when it prints `"symbol"`:
/// from the metadata's mappings by the UTC date of the record's index timestamp (ts_recv, or
/// ts_event for records without one), and from symbol-mapping records as they stream by.
/// Cold path (JSON output).
public struct DBNSymbolMap {
    var byDate: [UInt32: [DBNMetadata.Interval]] = [:]
    var live: [UInt32: String] = [:]

    public init(metadata: DBNMetadata) {
        for (raw, intervals) in metadata.mappings {
            for interval in intervals where !interval.symbol.isEmpty {
                guard let iid = UInt32(interval.symbol) else { continue }
                byDate[iid, default: []].append(
                    .init(startDate: interval.startDate, endDate: interval.endDate, symbol: raw))
            }
        }
    }

    public mutating func learn(instrumentId: UInt32, symbol: String) { live[instrumentId] = symbol }

    public func symbol(instrumentId: UInt32, timestamp: UInt64) -> String? {
        if let s = live[instrumentId] { return s }
        guard timestamp != UInt64.max, let intervals = byDate[instrumentId] else { return nil }
        let date = CivilTime(nanoseconds: timestamp).yyyymmdd
        return intervals.first { $0.startDate <= date && date < $0.endDate }?.symbol
    }
}

/// UTC calendar fields of a nanosecond Unix timestamp (Howard Hinnant's days-to-civil).
public struct CivilTime {
    public var year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, nanosecond: Int

    public init(nanoseconds ns: UInt64) {
        let secs = Int(ns / 1_000_000_000)
        nanosecond = Int(ns % 1_000_000_000)
        let days = secs / 86400
        let rem = secs % 86400
        hour = rem / 3600; minute = rem % 3600 / 60; second = rem % 60
        let z = days + 719_468
        let era = z / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        day = doy - (153 * mp + 2) / 5 + 1
        month = mp < 10 ? mp + 3 : mp - 9
        year = yoe + era * 400 + (month <= 2 ? 1 : 0)
    }

    public var yyyymmdd: UInt32 { UInt32(year * 10000 + month * 100 + day) }

    /// "2023-12-25T00:00:00.000000000Z".
    public var iso8601: String {
        func pad(_ v: Int, _ w: Int) -> String {
            let s = String(v)
            return s.count >= w ? s : String(repeating: "0", count: w - s.count) + s
        }
        return
            "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2)).\(pad(nanosecond, 9))Z"
    }
}
