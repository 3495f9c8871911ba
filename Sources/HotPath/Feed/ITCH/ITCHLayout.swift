/// Nasdaq TotalView-ITCH 5.0 message layouts, from the specification: every message starts
/// with type (1), stock locate (2), tracking number (2) and a 6-byte timestamp (ns since
/// midnight); integers are big-endian; alpha fields are ASCII, space padded; Price(4) has 4
/// implied decimals and Price(8) 8.
public struct ITCHField: Sendable {
    public enum Kind: Sendable {
        case integer  // big-endian unsigned of `size` bytes (2, 4, 6 or 8)
        case alpha  // ASCII, space padded (trailing spaces trimmed in JSON)
        case price4  // u32 with 4 implied decimals
        case price8  // u64 with 8 implied decimals
    }

    public let name: String
    public let offset: Int
    public let size: Int
    public let kind: Kind

    init(_ name: String, _ offset: Int, _ size: Int, _ kind: Kind) {
        self.name = name
        self.offset = offset
        self.size = size
        self.kind = kind
    }
}

public struct ITCHLayout: Sendable {
    public let type: UInt8
    public let name: String
    public let length: Int
    public let fields: [ITCHField]

    static let header: [ITCHField] = [
        .init("stock_locate", 1, 2, .integer), .init("tracking_number", 3, 2, .integer),
        .init("timestamp", 5, 6, .integer),
    ]

    init(_ type: Character, _ name: String, _ length: Int, _ fields: [ITCHField]) {
        self.type = type.asciiValue!
        self.name = name
        self.length = length
        self.fields = ITCHLayout.header + fields
    }

    /// Layouts by message type byte (nil where the specification defines none).
    public static let byType: [ITCHLayout?] = {
        var table = [ITCHLayout?](repeating: nil, count: 256)
        for l in all { table[Int(l.type)] = l }
        return table
    }()

    public static func forType(_ t: UInt8) -> ITCHLayout? { byType[Int(t)] }

    static let all: [ITCHLayout] = [
        .init("S", "system_event", 12, [.init("event_code", 11, 1, .alpha)]),
        .init(
            "R", "stock_directory", 39,
            [
                .init("stock", 11, 8, .alpha), .init("market_category", 19, 1, .alpha),
                .init("financial_status_indicator", 20, 1, .alpha), .init("round_lot_size", 21, 4, .integer),
                .init("round_lots_only", 25, 1, .alpha), .init("issue_classification", 26, 1, .alpha),
                .init("issue_sub_type", 27, 2, .alpha), .init("authenticity", 29, 1, .alpha),
                .init("short_sale_threshold_indicator", 30, 1, .alpha), .init("ipo_flag", 31, 1, .alpha),
                .init("luld_reference_price_tier", 32, 1, .alpha), .init("etp_flag", 33, 1, .alpha),
                .init("etp_leverage_factor", 34, 4, .integer), .init("inverse_indicator", 38, 1, .alpha),
            ]),
        .init(
            "H", "stock_trading_action", 25,
            [
                .init("stock", 11, 8, .alpha), .init("trading_state", 19, 1, .alpha),
                .init("reserved", 20, 1, .alpha), .init("reason", 21, 4, .alpha),
            ]),
        .init("Y", "reg_sho_restriction", 20, [.init("stock", 11, 8, .alpha), .init("reg_sho_action", 19, 1, .alpha)]),
        .init(
            "L", "market_participant_position", 26,
            [
                .init("mpid", 11, 4, .alpha), .init("stock", 15, 8, .alpha),
                .init("primary_market_maker", 23, 1, .alpha),
                .init("market_maker_mode", 24, 1, .alpha), .init("market_participant_state", 25, 1, .alpha),
            ]),
        .init(
            "V", "mwcb_decline_level", 35,
            [
                .init("level_1", 11, 8, .price8), .init("level_2", 19, 8, .price8), .init("level_3", 27, 8, .price8),
            ]),
        .init("W", "mwcb_status", 12, [.init("breached_level", 11, 1, .alpha)]),
        .init(
            "K", "ipo_quoting_period_update", 28,
            [
                .init("stock", 11, 8, .alpha), .init("ipo_quotation_release_time", 19, 4, .integer),
                .init("ipo_quotation_release_qualifier", 23, 1, .alpha), .init("ipo_price", 24, 4, .price4),
            ]),
        .init(
            "J", "luld_auction_collar", 35,
            [
                .init("stock", 11, 8, .alpha), .init("auction_collar_reference_price", 19, 4, .price4),
                .init("upper_auction_collar_price", 23, 4, .price4),
                .init("lower_auction_collar_price", 27, 4, .price4),
                .init("auction_collar_extension", 31, 4, .integer),
            ]),
        .init(
            "h", "operational_halt", 21,
            [
                .init("stock", 11, 8, .alpha), .init("market_code", 19, 1, .alpha),
                .init("operational_halt_action", 20, 1, .alpha),
            ]),
        .init(
            "A", "add_order", 36,
            [
                .init("order_reference_number", 11, 8, .integer), .init("buy_sell_indicator", 19, 1, .alpha),
                .init("shares", 20, 4, .integer), .init("stock", 24, 8, .alpha), .init("price", 32, 4, .price4),
            ]),
        .init(
            "F", "add_order_mpid", 40,
            [
                .init("order_reference_number", 11, 8, .integer), .init("buy_sell_indicator", 19, 1, .alpha),
                .init("shares", 20, 4, .integer), .init("stock", 24, 8, .alpha), .init("price", 32, 4, .price4),
                .init("attribution", 36, 4, .alpha),
            ]),
        .init(
            "E", "order_executed", 31,
            [
                .init("order_reference_number", 11, 8, .integer), .init("executed_shares", 19, 4, .integer),
                .init("match_number", 23, 8, .integer),
            ]),
        .init(
            "C", "order_executed_with_price", 36,
            [
                .init("order_reference_number", 11, 8, .integer), .init("executed_shares", 19, 4, .integer),
                .init("match_number", 23, 8, .integer), .init("printable", 31, 1, .alpha),
                .init("execution_price", 32, 4, .price4),
            ]),
        .init(
            "X", "order_cancel", 23,
            [
                .init("order_reference_number", 11, 8, .integer), .init("cancelled_shares", 19, 4, .integer),
            ]),
        .init("D", "order_delete", 19, [.init("order_reference_number", 11, 8, .integer)]),
        .init(
            "U", "order_replace", 35,
            [
                .init("original_order_reference_number", 11, 8, .integer),
                .init("new_order_reference_number", 19, 8, .integer),
                .init("shares", 27, 4, .integer), .init("price", 31, 4, .price4),
            ]),
        .init(
            "P", "trade", 44,
            [
                .init("order_reference_number", 11, 8, .integer), .init("buy_sell_indicator", 19, 1, .alpha),
                .init("shares", 20, 4, .integer), .init("stock", 24, 8, .alpha), .init("price", 32, 4, .price4),
                .init("match_number", 36, 8, .integer),
            ]),
        .init(
            "Q", "cross_trade", 40,
            [
                .init("shares", 11, 8, .integer), .init("stock", 19, 8, .alpha), .init("cross_price", 27, 4, .price4),
                .init("match_number", 31, 8, .integer), .init("cross_type", 39, 1, .alpha),
            ]),
        .init("B", "broken_trade", 19, [.init("match_number", 11, 8, .integer)]),
        .init(
            "I", "noii", 50,
            [
                .init("paired_shares", 11, 8, .integer), .init("imbalance_shares", 19, 8, .integer),
                .init("imbalance_direction", 27, 1, .alpha), .init("stock", 28, 8, .alpha),
                .init("far_price", 36, 4, .price4),
                .init("near_price", 40, 4, .price4), .init("current_reference_price", 44, 4, .price4),
                .init("cross_type", 48, 1, .alpha), .init("price_variation_indicator", 49, 1, .alpha),
            ]),
        .init(
            "N", "retail_price_improvement_indicator", 20,
            [.init("stock", 11, 8, .alpha), .init("interest_flag", 19, 1, .alpha)]),
        .init(
            "O", "direct_listing_with_capital_raise_price_discovery", 48,
            [
                .init("stock", 11, 8, .alpha), .init("open_eligibility_status", 19, 1, .alpha),
                .init("minimum_allowable_price", 20, 4, .price4), .init("maximum_allowable_price", 24, 4, .price4),
                .init("near_execution_price", 28, 4, .price4), .init("near_execution_time", 32, 8, .integer),
                .init("lower_price_range_collar", 40, 4, .price4), .init("upper_price_range_collar", 44, 4, .price4),
            ]),
    ]
}
