/// The fixed workload whose instructions `hotpath bench instructions` counts, stage by stage:
/// an ITCH session through decode → L3 book → features → inference → signal on one thread,
/// with the engine's own stage functions (`EngineCore.updateFeatures`, `infer`, `decide`).
///
/// Each stage runs inside one `@inline(never)` function with a plain symbol name
/// (`hp_stage_*`), so callgrind, started with collection off and
/// `--toggle-collect=hp_stage_*`, counts exactly the instructions inside the stages and
/// none of the set-up. No clock is read inside a stage, so the counts are the same for the
/// same binary and input on any host; `HOTPATH_PORTABLE=1` pins the model kernels' ISA path.
///
/// Units: `records` for decode + book (ITCH messages), `updates` for features (book events
/// and trades), `evaluations` for inference and for signal.
public enum InstructionWork {
    public struct Units: Sendable, Equatable {
        public var records = 0, updates = 0, evaluations = 0
    }

    /// The stages counted, with each one's symbol and unit.
    public enum Stage: String, CaseIterable, Sendable {
        case decodeBook = "decode_book", features, inference, signal

        public var symbol: String { "hp_stage_" + rawValue }

        public func units(_ u: Units) -> Int {
            switch self {
            case .decodeBook: u.records
            case .features: u.updates
            case .inference, .signal: u.evaluations
            }
        }
    }

    /// Runs the session in `file` through `engine`'s core on the calling thread. The engine's
    /// threads are never started; emitted signals are drained from its ring as they come.
    public static func run(file: ITCHFile, engine: Engine) throws(FeedError) -> Units {
        let core = engine.core, signals = engine.signals.consumer
        var reader = try file.reader()
        var decoder = ITCHDecoder()
        let events = UnsafeMutablePointer<Event>.allocate(capacity: 2)
        let books = UnsafeMutablePointer<Int>.allocate(capacity: 2)
        defer { events.deallocate(); books.deallocate() }
        var units = Units()
        _ = reader.walk { message in
            units.records += 1
            let n = hp_stage_decode_book(&decoder, message, events, books, core)
            for i in 0..<n where books[i] >= 0 || events[i].action == Event.Action.trade {
                units.updates += 1
                hp_stage_features(core, events[i], books[i])
                guard books[i] >= 0, core.ensemble != nil else { continue }
                units.evaluations += 1
                let finite = hp_stage_inference(core, books[i])
                hp_stage_signal(core, books[i], events[i], finite)
                while signals.pop() != nil {}
            }
            return true
        }
        return units
    }
}

// The stage functions: plain symbols for callgrind's --toggle-collect.

/// Decodes one message into `events` and applies each order event to the book (`books[i]`:
/// the book it published, or -1). Returns the number of events.
@inline(never) @_silgen_name("hp_stage_decode_book")
func hp_stage_decode_book(
    _ decoder: inout ITCHDecoder, _ message: ITCHReader.Message, _ events: UnsafeMutablePointer<Event>,
    _ books: UnsafeMutablePointer<Int>, _ core: EngineCore
) -> Int {
    let n = decoder.decode(message, into: events)
    for i in 0..<n { books[i] = events[i].kind == .order ? core.book.apply(events[i]) : -1 }
    return n
}

/// A trade's or a published book event's feature update.
@inline(never) @_silgen_name("hp_stage_features")
func hp_stage_features(_ core: EngineCore, _ e: Event, _ book: Int) {
    if book >= 0 { core.updateFeatures(book: book, event: e) } else { core.tradeFeatures(e) }
}

@inline(never) @_silgen_name("hp_stage_inference")
func hp_stage_inference(_ core: EngineCore, _ book: Int) -> Bool { core.infer(book: book) }

@inline(never) @_silgen_name("hp_stage_signal")
func hp_stage_signal(_ core: EngineCore, _ book: Int, _ e: Event, _ finite: Bool) {
    core.decide(book: book, event: e, finite: finite)
}
