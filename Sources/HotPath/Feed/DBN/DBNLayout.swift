/// One field of a DBN record as the official JSON prints it.
public struct DBNField: Sendable {
    public enum Kind: Sendable {
        /// Up to 4-byte integers print as JSON numbers; 8-byte ones as strings (as the
        /// official encoder does, since JSON numbers lose precision past 2^53).
        case unsigned, signed, unsigned64, signed64
        /// Fixed-point 1e-9 i64; UNDEF (i64.max) prints null in pretty mode.
        case price
        /// u64 nanoseconds since the epoch; UNDEF (u64.max) prints null in pretty mode.
        case timestamp
        /// One ASCII character; 0 prints null.
        case char
        /// NUL-terminated text in a fixed-size array.
        case text
    }

    public let name: String
    /// Byte offset in the record, or -1 when this version's layout lacks the field and
    /// `defaultValue` stands in (the official upgrade's default).
    public let offset: Int
    public let size: Int
    public let kind: Kind
    /// Index into "levels" for book-level fields (bid_px_00 …), else -1.
    public let level: Int
    public let defaultValue: Int64
    /// The value is derived from other fields (SystemMsg v1 `code`, from the message text).
    public let derived: Bool

    init(
        _ name: String, _ offset: Int, _ size: Int, _ kind: Kind, level: Int,
        defaultValue: Int64 = 0, derived: Bool = false
    ) {
        self.name = name
        self.offset = offset
        self.size = size
        self.kind = kind
        self.level = level
        self.defaultValue = defaultValue
        self.derived = derived
    }
}

/// A record layout: its minimum size and its fields in JSON order. The tables themselves are
/// generated (DBNLayouts.swift) from the reference decoder's definitions.
public struct DBNLayout: Sendable {
    public let name: String
    public let size: Int
    public let fields: [DBNField]

    /// The layout of record type `rtype` in a file of DBN `version` (1…3), or nil for an
    /// rtype HotPath does not know (skipped by its length and counted).
    public static func forRecord(rtype: UInt8, version: UInt8) -> DBNLayout? {
        switch rtype {
        case DBNRType.mbo: return mbo
        case DBNRType.mbp0: return trade
        case DBNRType.mbp1: return mbp1
        case DBNRType.mbp10: return mbp10
        case DBNRType.bbo1s, DBNRType.bbo1m: return bbo
        case DBNRType.cmbp1: return cmbp1
        case DBNRType.cbbo1s, DBNRType.cbbo1m, DBNRType.tcbbo: return cbbo
        case DBNRType.ohlcvDeprecated, DBNRType.ohlcv1s, DBNRType.ohlcv1m, DBNRType.ohlcv1h,
            DBNRType.ohlcv1d, DBNRType.ohlcvEod:
            return ohlcv
        case DBNRType.status: return status
        case DBNRType.imbalance: return imbalance
        case DBNRType.statistics: return version < 3 ? statV1 : stat
        case DBNRType.error: return version == 1 ? errorV1 : error
        case DBNRType.system: return version == 1 ? systemV1 : system
        case DBNRType.symbolMapping: return version == 1 ? symbolMappingV1 : symbolMapping
        case DBNRType.instrumentDef: return version == 1 ? definitionV1 : version == 2 ? definitionV2 : definition
        default: return nil
        }
    }
}

/// DBN record types (the header's rtype byte).
public enum DBNRType {
    public static let mbp0: UInt8 = 0x00
    public static let mbp1: UInt8 = 0x01
    public static let mbp10: UInt8 = 0x0A
    public static let ohlcvDeprecated: UInt8 = 0x11
    public static let status: UInt8 = 0x12
    public static let instrumentDef: UInt8 = 0x13
    public static let imbalance: UInt8 = 0x14
    public static let error: UInt8 = 0x15
    public static let symbolMapping: UInt8 = 0x16
    public static let system: UInt8 = 0x17
    public static let statistics: UInt8 = 0x18
    public static let ohlcv1s: UInt8 = 0x20
    public static let ohlcv1m: UInt8 = 0x21
    public static let ohlcv1h: UInt8 = 0x22
    public static let ohlcv1d: UInt8 = 0x23
    public static let ohlcvEod: UInt8 = 0x24
    public static let mbo: UInt8 = 0xA0
    public static let cmbp1: UInt8 = 0xB1
    public static let cbbo1s: UInt8 = 0xC0
    public static let cbbo1m: UInt8 = 0xC1
    public static let tcbbo: UInt8 = 0xC2
    public static let bbo1s: UInt8 = 0xC3
    public static let bbo1m: UInt8 = 0xC4
}

/// DBN record flags.
public enum DBNFlags {
    public static let last: UInt8 = 0x80
    public static let tob: UInt8 = 0x40
    public static let snapshot: UInt8 = 0x20
    public static let mbp: UInt8 = 0x10
    public static let badTsRecv: UInt8 = 0x08
    public static let maybeBadBook: UInt8 = 0x04
}
