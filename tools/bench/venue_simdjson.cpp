// The simdjson On-Demand side of `hotpath bench venue`: the same messages (a venue session,
// one JSON message per line), the same fields extracted, the same exact decimal arithmetic
// (1e-9 fixed point, refusing what is not exact), and the same checksum over the events the
// adapters emit, so the two rates compare equal work. Build and run: scripts/bench_venues.sh.
//
//   venue_simdjson VENUE SESSION LOOPS MARKET,MARKET,...
//
// prints one JSON line: {"venue","messages","seconds","messages_per_second","checksum"}.
#include <simdjson.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#define VENUE_STR2(x) #x
#define VENUE_STR(x) VENUE_STR2(x)

using namespace simdjson;

namespace {

constexpr int64_t kOne = 1000000000;

// A decimal ("0.6700", "-12.50", "192.3", "1.5e2") as an integer scaled by 1e9, exactly;
// false when it is not a decimal or not exact at that scale (as JSONScanner.decimal).
bool decimal(std::string_view t, int64_t &out) {
    size_t i = 0, n = t.size();
    if (n == 0) return false;
    bool negative = false;
    if (t[0] == '-') { negative = true; i = 1; }
    uint64_t mantissa = 0;
    int digits = 0, fraction = 0;
    bool point = false;
    for (; i < n; i++) {
        char c = t[i];
        if (c >= '0' && c <= '9') {
            if (mantissa > (UINT64_MAX - 9) / 10) return false;
            mantissa = mantissa * 10 + uint64_t(c - '0');
            digits++;
            if (point) fraction++;
        } else if (c == '.' && !point) {
            point = true;
        } else {
            break;
        }
    }
    if (digits == 0) return false;
    int exponent = 0;
    if (i < n) {
        if ((t[i] != 'e' && t[i] != 'E') || i + 1 >= n) return false;
        i++;
        bool en = false;
        if (t[i] == '-' || t[i] == '+') { en = t[i] == '-'; i++; }
        if (i >= n) return false;
        for (; i < n; i++) {
            if (t[i] < '0' || t[i] > '9' || exponent >= 1000) return false;
            exponent = exponent * 10 + (t[i] - '0');
        }
        if (en) exponent = -exponent;
    }
    int shift = exponent - fraction + 9;
    for (; shift < 0; shift++) {
        if (mantissa % 10) return false;
        mantissa /= 10;
    }
    for (; shift > 0; shift--) {
        if (mantissa > UINT64_MAX / 10) return false;
        mantissa *= 10;
    }
    if (mantissa > uint64_t(INT64_MAX)) return false;
    out = negative ? -int64_t(mantissa) : int64_t(mantissa);
    return true;
}

// A value's decimal: a string's contents or a number's text.
bool decimalOf(simdjson_result<ondemand::value> result, int64_t &out) {
    ondemand::value v;
    if (result.get(v)) return false;
    ondemand::json_type type;
    if (v.type().get(type)) return false;
    std::string_view text;
    if (type == ondemand::json_type::string) {
        if (v.get_string().get(text)) return false;
    } else {
        text = v.raw_json_token();
    }
    return decimal(text, out);
}

enum Kind : uint64_t { kClear = 0, kLevel = 1, kChange = 2, kTrade = 3, kUpdated = 4 };
enum Side : uint64_t { kBid = 0, kAsk = 1, kNone = 2 };

// The checksum `hotpath bench venue` computes over VenueEvents.
struct Sink {
    uint64_t sum = 0;
    void emit(uint64_t kind, int market, uint64_t side, int64_t price, int64_t size, int64_t seq) {
        sum += kind * 7 + uint64_t(market) * 11 + side * 13 + uint64_t(price) * 3 + uint64_t(size) * 5 + uint64_t(seq);
    }
};

struct Venue {
    std::vector<std::string> markets;
    int market(std::string_view s) const {
        for (size_t i = 0; i < markets.size(); i++)
            if (markets[i] == s) return int(i);
        return -1;
    }
};

void coinbase(ondemand::document &doc, const Venue &venue, Sink &sink) {
    std::string_view channel;
    int64_t seq = -1;
    ondemand::object obj;
    if (doc.get_object().get(obj)) return;
    for (auto field : obj) {
        ondemand::raw_json_string key;
        if (field.key().get(key)) return;
        if (key == "channel") {
            if (field.value().get_string().get(channel)) return;
        } else if (key == "sequence_num") {
            if (field.value().get_int64().get(seq)) return;
        } else if (key == "events") {
            // sequence_num precedes events in Coinbase's messages; channel precedes both.
            ondemand::array events;
            if (field.value().get_array().get(events)) return;
            bool l2 = channel == "l2_data", trades = channel == "market_trades";
            for (auto e : events) {
                ondemand::object event;
                if (e.get_object().get(event)) return;
                bool snapshot = false;
                int m = -1;
                for (auto f : event) {
                    ondemand::raw_json_string k;
                    if (f.key().get(k)) return;
                    if (l2 && k == "type") {
                        std::string_view t;
                        if (f.value().get_string().get(t)) return;
                        snapshot = t == "snapshot";
                    } else if (l2 && k == "product_id") {
                        std::string_view p;
                        if (f.value().get_string().get(p)) return;
                        m = venue.market(p);
                        if (m >= 0 && snapshot) sink.emit(kClear, m, kNone, 0, 0, seq);
                    } else if (l2 && k == "updates" && m >= 0) {
                        ondemand::array updates;
                        if (f.value().get_array().get(updates)) return;
                        for (auto u : updates) {
                            ondemand::object update;
                            if (u.get_object().get(update)) return;
                            uint64_t side = kNone;
                            int64_t price = 0, quantity = -1;
                            bool okPrice = false, okQuantity = false;
                            for (auto uf : update) {
                                ondemand::raw_json_string uk;
                                if (uf.key().get(uk)) return;
                                if (uk == "side") {
                                    std::string_view s;
                                    if (uf.value().get_string().get(s)) return;
                                    side = s == "bid" ? kBid : s == "offer" ? kAsk : kNone;
                                } else if (uk == "price_level") {
                                    okPrice = decimalOf(uf.value(), price);
                                } else if (uk == "new_quantity") {
                                    okQuantity = decimalOf(uf.value(), quantity);
                                }
                            }
                            if (side != kNone && okPrice && okQuantity && quantity >= 0)
                                sink.emit(kLevel, m, side, price, quantity, seq);
                        }
                        sink.emit(kUpdated, m, kNone, 0, 0, seq);
                    } else if (trades && k == "trades") {
                        ondemand::array list;
                        if (f.value().get_array().get(list)) return;
                        for (auto t : list) {
                            ondemand::object trade;
                            if (t.get_object().get(trade)) return;
                            int tm = -1;
                            uint64_t side = kNone;
                            int64_t price = 0, size = -1;
                            bool okPrice = false, okSize = false;
                            for (auto tf : trade) {
                                ondemand::raw_json_string tk;
                                if (tf.key().get(tk)) return;
                                if (tk == "product_id") {
                                    std::string_view p;
                                    if (tf.value().get_string().get(p)) return;
                                    tm = venue.market(p);
                                } else if (tk == "price") {
                                    okPrice = decimalOf(tf.value(), price);
                                } else if (tk == "size") {
                                    okSize = decimalOf(tf.value(), size);
                                } else if (tk == "side") {
                                    std::string_view s;
                                    if (tf.value().get_string().get(s)) return;
                                    side = s == "BUY" ? kBid : s == "SELL" ? kAsk : kNone;
                                }
                            }
                            if (tm >= 0 && okPrice && okSize && size >= 0) sink.emit(kTrade, tm, side, price, size, seq);
                        }
                    }
                }
            }
        }
    }
}

void ladder(ondemand::value v, int m, bool yes, int64_t seq, Sink &sink) {
    ondemand::array levels;
    if (v.get_array().get(levels)) return;
    for (auto l : levels) {
        ondemand::array pair;
        if (l.get_array().get(pair)) return;
        int64_t values[2] = {-1, -1};
        int k = 0;
        for (auto x : pair) {
            int64_t d;
            if (k < 2) values[k] = decimalOf(x, d) ? d : -1;
            k++;
        }
        if (k == 2 && values[0] >= 0 && values[0] <= kOne && values[1] >= 0)
            sink.emit(kLevel, m, yes ? kBid : kAsk, yes ? values[0] : kOne - values[0], values[1], seq);
    }
}

void kalshi(ondemand::document &doc, const Venue &venue, Sink &sink) {
    std::string_view type;
    int64_t seq = -1;
    ondemand::object obj;
    if (doc.get_object().get(obj)) return;
    for (auto field : obj) {
        ondemand::raw_json_string key;
        if (field.key().get(key)) return;
        if (key == "type") {
            if (field.value().get_string().get(type)) return;
        } else if (key == "seq") {
            if (field.value().get_int64().get(seq)) return;
        } else if (key == "msg") {
            bool snapshot = type == "orderbook_snapshot", delta = type == "orderbook_delta", trade = type == "trade";
            ondemand::object msg;
            if (field.value().get_object().get(msg)) return;
            int m = -1;
            int64_t price = 0, amount = 0;
            bool okPrice = false, okAmount = false;
            uint64_t side = kNone;
            for (auto f : msg) {
                ondemand::raw_json_string k;
                if (f.key().get(k)) return;
                if (k == "market_ticker") {
                    std::string_view t;
                    if (f.value().get_string().get(t)) return;
                    m = venue.market(t);
                    if (m >= 0 && snapshot) sink.emit(kClear, m, kNone, 0, 0, seq);
                } else if (snapshot && m >= 0 && (k == "yes_dollars_fp" || k == "no_dollars_fp")) {
                    ladder(f.value(), m, k == "yes_dollars_fp", seq, sink);
                } else if (k == "price_dollars" || k == "yes_price_dollars") {
                    okPrice = decimalOf(f.value(), price);
                } else if (k == "delta_fp" || k == "count_fp") {
                    okAmount = decimalOf(f.value(), amount);
                } else if (k == "side" || k == "taker_side") {
                    std::string_view s;
                    if (f.value().get_string().get(s)) return;
                    side = s == "yes" ? kBid : s == "no" ? kAsk : kNone;
                }
            }
            if (m < 0) return;
            if (snapshot) {
                sink.emit(kUpdated, m, kNone, 0, 0, seq);
            } else if ((delta || trade) && okPrice && okAmount && side != kNone && price >= 0 && price <= kOne &&
                       (delta || amount >= 0)) {
                if (trade) {
                    sink.emit(kTrade, m, side, price, amount, seq);
                } else {
                    sink.emit(kChange, m, side, side == kBid ? price : kOne - price, amount, seq);
                    sink.emit(kUpdated, m, kNone, 0, 0, seq);
                }
            }
        }
    }
}

void polygon(ondemand::document &doc, const Venue &venue, Sink &sink) {
    ondemand::array list;
    if (doc.get_array().get(list)) return;
    for (auto e : list) {
        ondemand::object event;
        if (e.get_object().get(event)) return;
        std::string_view ev;
        int m = -1;
        int64_t bp = 0, bs = 0, ap = 0, as = 0, q = -1;
        bool okBp = false, okBs = false, okAp = false, okAs = false;
        for (auto f : event) {
            ondemand::raw_json_string k;
            if (f.key().get(k)) return;
            if (k == "ev") {
                if (f.value().get_string().get(ev)) return;
            } else if (k == "sym") {
                std::string_view s;
                if (f.value().get_string().get(s)) return;
                m = venue.market(s);
            } else if (k == "bp" || k == "p") {
                okBp = decimalOf(f.value(), bp);
            } else if (k == "bs" || k == "s") {
                okBs = decimalOf(f.value(), bs);
            } else if (k == "ap") {
                okAp = decimalOf(f.value(), ap);
            } else if (k == "as") {
                okAs = decimalOf(f.value(), as);
            } else if (k == "q") {
                if (f.value().get_int64().get(q)) return;
            }
        }
        if (m < 0) continue;
        if (ev == "T" && okBp && okBs && bp >= 0 && bs >= 0) {
            sink.emit(kTrade, m, kNone, bp, bs, q);
        } else if (ev == "Q" && okBp && okBs && okAp && okAs && bp >= 0 && bs >= 0 && ap >= 0 && as >= 0) {
            sink.emit(kClear, m, kNone, 0, 0, q);
            sink.emit(kLevel, m, kBid, bp, bs, q);
            sink.emit(kLevel, m, kAsk, ap, as, q);
            sink.emit(kUpdated, m, kNone, 0, 0, q);
        }
    }
}

}  // namespace

int main(int argc, char **argv) {
    if (argc != 5) {
        std::fprintf(stderr, "usage: venue_simdjson VENUE SESSION LOOPS MARKET,MARKET,...\n");
        return 2;
    }
    std::string name = argv[1];
    Venue venue;
    for (std::string_view rest = argv[4]; !rest.empty();) {
        size_t comma = rest.find(',');
        venue.markets.emplace_back(rest.substr(0, comma));
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
    void (*handle)(ondemand::document &, const Venue &, Sink &) =
        name == "coinbase" ? coinbase : name == "kalshi" ? kalshi : name == "polygon" ? polygon : nullptr;
    if (!handle) {
        std::fprintf(stderr, "venue_simdjson: unknown venue %s\n", name.c_str());
        return 2;
    }
    // Every message in one buffer, each followed by simdjson's padding: loaded before timing.
    std::ifstream in(argv[2]);
    std::string line, all;
    std::vector<std::pair<size_t, size_t>> spans;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        spans.emplace_back(all.size(), line.size());
        all += line;
        all.append(SIMDJSON_PADDING, ' ');
    }
    long loops = std::atol(argv[3]);
    ondemand::parser parser;
    Sink sink;
    auto start = std::chrono::steady_clock::now();
    for (long l = 0; l < loops; l++) {
        for (auto [at, n] : spans) {
            ondemand::document doc;
            if (parser.iterate(padded_string_view(all.data() + at, n, n + SIMDJSON_PADDING)).get(doc)) continue;
            handle(doc, venue, sink);
        }
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    double messages = double(spans.size()) * double(loops);
    std::printf("{\"venue\":\"%s\",\"parser\":\"simdjson %s ondemand (%s)\",\"messages\":%.0f,\"seconds\":%.6f,"
                "\"messages_per_second\":%.0f,\"checksum\":%llu}\n",
                name.c_str(), VENUE_STR(SIMDJSON_VERSION), simdjson::get_active_implementation()->name().data(), messages,
                seconds, messages / seconds, (unsigned long long)sink.sum);
    return 0;
}
