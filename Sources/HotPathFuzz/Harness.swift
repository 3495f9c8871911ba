import HotPath

#if canImport(Glibc)
import Glibc
#endif

/// Coverage-guided fuzzing (libFuzzer) of every parser a user or a peer feeds, through the
/// entry points the product uses. scripts/fuzz.sh builds this with `--sanitize=fuzzer
/// --sanitize=address -DHOTPATH_FUZZ`: SwiftPM then builds the executable as a library, the
/// `@main` below is left out, and libFuzzer's own `main` drives `LLVMFuzzerTestOneInput`.
/// `HOTPATH_FUZZ_TARGET` picks the parser:
///
/// | target | entry point | input |
/// |---|---|---|
/// | `feed` | `FeedFile.open` + `forEachEvent` + `L3Book.apply` | DBN (plain, zstd), ITCH (binary, MoldUDP64 stream, pcap) |
/// | `lightgbm`, `xgboost`, `onnx` | `ModelFile.load`, then `predict` on a NaN row and a zero row | the model file |
/// | `config` | `EngineConfig.load` | the engine TOML |
/// | `budgets` | `GateBudgets.load` | the budgets TOML |
///
/// The file-based entry points read a file: each input is written to /dev/shm first. A thrown
/// error is the expected answer to a bad input; a crash or an AddressSanitizer report is a
/// finding. Built without fuzzing, the binary says how to build it and exits 2.
enum Fuzz {
    static let target: String = getenv("HOTPATH_FUZZ_TARGET").map { String(cString: $0) } ?? ""
    static let path: String = {
        let suffix = ["lightgbm": ".txt", "xgboost": ".json", "onnx": ".onnx", "config": ".toml", "budgets": ".toml"]
        return "/dev/shm/hotpath-fuzz-\(getpid())" + (suffix[target] ?? ".bin")
    }()
    static let arena = try! Arena(bytes: 64 << 20, lock: false)
    static let book: L3Book = {
        var c = L3Book.Config()
        (c.maxInstruments, c.maxOrders, c.levelsPerSide, c.ladderSlots) = (16, 4096, 256, 256)
        return try! L3Book(config: c, arena: arena)
    }()
    static let targets = ["feed", "lightgbm", "xgboost", "onnx", "config", "budgets"]

    static func write(_ data: UnsafePointer<UInt8>, _ size: Int) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { say("hotpath-fuzz: cannot write \(path)"); exit(3) }
        _ = SystemFile.writeAll(fd, UnsafeRawBufferPointer(start: data, count: size))
        close(fd)
    }

    static func run() {
        switch target {
        case "feed":
            guard let file = try? FeedFile.open(path) else { return }
            book.clearAll()
            try? file.forEachEvent { e in _ = book.apply(e) }
        case "lightgbm", "xgboost", "onnx":
            guard let model = try? ModelFile.load(path: path), model.features <= 1 << 16 else { return }
            let row = UnsafeMutablePointer<Double>.allocate(capacity: model.features + 1)
            let out = UnsafeMutablePointer<Double>.allocate(capacity: model.outputs + 1)
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: model.features + model.outputs + 1)
            defer { row.deallocate(); out.deallocate(); scratch.deallocate() }
            for fill in [Double.nan, 0] {
                row.initialize(repeating: fill, count: model.features + 1)
                model.predict(row, into: out, scratch: scratch)
            }
        case "config": _ = try? EngineConfig.load(path: path)
        case "budgets": _ = try? GateBudgets.load(path: path)
        default: break
        }
    }
}

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
) -> CInt {
    guard Fuzz.targets.contains(Fuzz.target) else {
        say("hotpath-fuzz: set HOTPATH_FUZZ_TARGET to one of \(Fuzz.targets.joined(separator: ", "))")
        exit(2)
    }
    _ = Fuzz.book
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    Fuzz.write(data, size)
    Fuzz.run()
    return 0
}

func say(_ line: String) { _ = SystemFile.writeAll(2, line + "\n") }

#if !HOTPATH_FUZZ
/// Built without fuzzing: says how to build it.
@main
enum NotAFuzzBuild {
    static func main() {
        say("hotpath-fuzz: a libFuzzer harness; build and run it with scripts/fuzz.sh [TARGET] [SECONDS]")
        exit(2)
    }
}
#endif
