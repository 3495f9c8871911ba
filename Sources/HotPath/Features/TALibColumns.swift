/// The indicator columns `hotpath indicators` prints, in the order and with the parameters of
/// ../shared/tools/peers/talib_reference.py (TA-Lib's defaults otherwise), each updated once
/// per bar. NaN marks a bar inside an indicator's lookback.
public struct TALibColumns {
    public static let names = [
        "sma_20", "ema_12", "ema_26", "wma_30", "dema_30", "tema_30", "trima_30", "kama_30", "rsi_14",
        "macd", "macd_signal", "macd_hist", "bb_upper", "bb_middle", "bb_lower", "stddev_5", "var_5",
        "atr_14", "natr_14", "trange", "obv", "ad", "adosc_3_10", "stoch_k", "stoch_d", "stochf_k", "stochf_d",
        "cci_20", "mfi_14", "willr_14", "adx_14", "plus_di_14", "minus_di_14", "roc_10", "mom_10", "cmo_14",
        "aroon_down_14", "aroon_up_14", "trix_30",
    ]

    var sma20 = SMA(period: 20), ema12 = EMA(period: 12), ema26 = EMA(period: 26), wma30 = WMA(period: 30)
    var dema30 = DEMA(period: 30), tema30 = TEMA(period: 30), trima30 = TRIMA(period: 30), kama30 = KAMA(period: 30)
    var rsi14 = RSI(period: 14), macd = MACD(), bbands = BBANDS(), stddev5 = STDDEV(period: 5), var5 = VAR(period: 5)
    var atr14 = ATR(period: 14), natr14 = NATR(period: 14), trange = TRANGE(), obv = OBV(), ad = AD(), adosc = ADOSC()
    var stoch = STOCH(), stochf = STOCHF(), cci20 = CCI(period: 20), mfi14 = MFI(period: 14),
        willr14 = WILLR(period: 14)
    var adx14 = ADX(period: 14), plusDI = PLUS_DI(period: 14), minusDI = MINUS_DI(period: 14)
    var roc10 = ROC(period: 10), mom10 = MOM(period: 10), cmo14 = CMO(period: 14), aroon = AROON(period: 14),
        trix30 = TRIX(period: 30)

    /// Bars skipped because a price or the volume was NaN or infinite (their rows are all
    /// undefined; the indicators' state is untouched).
    public private(set) var rejectedBars = 0

    public init() {}

    /// Updates every indicator with `bar` and writes the row (`names.count` values) to `out`.
    public mutating func update(_ b: Bar, into out: UnsafeMutablePointer<Double>) {
        guard b.open.isFinite, b.high.isFinite, b.low.isFinite, b.close.isFinite, b.volume.isFinite else {
            rejectedBars += 1
            for i in 0..<Self.names.count { out[i] = .nan }
            return
        }
        let c = b.close
        let m = macd.update(c), bb = bbands.update(c), st = stoch.update(b), sf = stochf.update(b), ar = aroon.update(b)
        let row: [Double] = [
            sma20.update(c), ema12.update(c), ema26.update(c), wma30.update(c), dema30.update(c), tema30.update(c),
            trima30.update(c), kama30.update(c), rsi14.update(c), m.macd, m.signal, m.histogram,
            bb.upper, bb.middle, bb.lower, stddev5.update(c), var5.update(c), atr14.update(b), natr14.update(b),
            trange.update(b), obv.update(b), ad.update(b), adosc.update(b), st.k, st.d, sf.k, sf.d,
            cci20.update(b), mfi14.update(b), willr14.update(b), adx14.update(b), plusDI.update(b), minusDI.update(b),
            roc10.update(c), mom10.update(c), cmo14.update(c), ar.down, ar.up, trix30.update(c),
        ]
        for (i, v) in row.enumerated() { out[i] = v }
    }
}

/// OHLCV CSV input (Yahoo style: Date,Open,High,Low,Close[,Adj Close],Volume; the unadjusted
/// columns are used). Rows with one field more than the header and a time in the second field
/// (Date,Time,Open,… files whose header omits Time) are read with the time joined to the date.
public enum OHLCVFile {
    public static func read(path: String) throws(ModelError) -> [(date: String, bar: Bar)] {
        guard let text = SystemFile.read(path, limit: 1 << 30) else {
            throw ModelError(file: path, place: "", reason: "cannot read the file")
        }
        var lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingSpaces() }.filter { !$0.isEmpty }
        guard !lines.isEmpty else { throw ModelError(file: path, place: "1", reason: "empty file") }
        let header = lines.removeFirst().split(separator: ",").map { $0.trimmingSpaces() }
        func column(_ name: String) throws(ModelError) -> Int {
            guard let i = header.firstIndex(where: { $0.caseInsensitiveEquals(name) }) else {
                throw ModelError(
                    file: path, place: "1", reason: "no \(name) column in the header (\(header.joined(separator: ",")))"
                )
            }
            return i
        }
        let (d, o, h, l, c, v) = (
            try column("Date"), try column("Open"), try column("High"), try column("Low"), try column("Close"),
            try column("Volume")
        )
        var out: [(String, Bar)] = []
        out.reserveCapacity(lines.count)
        for (n, line) in lines.enumerated() {
            var f = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingSpaces() }
            if f.count == header.count + 1 && f[d + 1].contains(":") {
                f[d] += " " + f[d + 1]
                f.remove(at: d + 1)
            }
            guard f.count >= header.count else {
                throw ModelError(file: path, place: "\(n + 2)", reason: "\(f.count) fields for \(header.count) columns")
            }
            func num(_ i: Int) throws(ModelError) -> Double {
                guard let x = Double(f[i]) else {
                    throw ModelError(file: path, place: "\(n + 2)", reason: "\(header[i]) \"\(f[i])\" is not a number")
                }
                return x
            }
            out.append(
                (f[d], Bar(open: try num(o), high: try num(h), low: try num(l), close: try num(c), volume: try num(v))))
        }
        return out
    }
}

extension String {
    func caseInsensitiveEquals(_ other: String) -> Bool { lowercased() == other.lowercased() }
}
