/// Replays a feed file through the book and the microstructure feature vector: the same code
/// the engine serves models with, for `hotpath features` (training sets) and
/// `hotpath bench features`. Trades (DBN action T, ITCH trade messages) update the trade
/// state; every published book view yields a feature row.
public enum FeatureReplay {
    public struct Row {
        public var ts: UInt64
        public var instrument: UInt32
        public var features: [Double]
    }

    /// Calls `emit` for every published view with its feature row (reused buffer).
    public static func run(_ file: FeedFile, config: MicrostructureFeatures.Config = .init(),
                           emit: (UInt64, UInt32, UnsafeBufferPointer<Double>) -> Void) throws -> (events: Int, undefined: Int, badInputs: Int) {
        var bookConfig = L3Book.Config()
        bookConfig.maxInstruments = 64
        let arena = try Arena(bytes: L3Book.arenaBytes(bookConfig), lock: false)
        defer { withExtendedLifetime(arena) {} }
        let book = try L3Book(config: bookConfig, arena: arena)
        var features = [Int: MicrostructureFeatures]()
        let row = UnsafeMutableBufferPointer<Double>.allocate(capacity: MicrostructureFeatures.count)
        defer { row.deallocate() }
        var events = 0
        func handle(_ e: Event) {
            events += 1
            let isTrade = e.action == Event.Action.trade
            if isTrade {
                if let b = book.instruments.lookup(e.instrumentId) {
                    features[b, default: MicrostructureFeatures(config: config)].trade(e)
                }
                return
            }
            guard e.kind == .order else { return }
            let b = book.apply(e)
            if b < 0 { return }
            features[b, default: MicrostructureFeatures(config: config)].book(book.view(book: b), event: e, into: row.baseAddress!)
            emit(MicrostructureFeatures.time(e), e.instrumentId, UnsafeBufferPointer(row))
        }
        try file.forEachEvent(handle)
        let undefined = features.values.reduce(0) { $0 + $1.undefined }, bad = features.values.reduce(0) { $0 + $1.badInputs }
        features.values.forEach { $0.release() }
        return (events, undefined, bad)
    }
}
