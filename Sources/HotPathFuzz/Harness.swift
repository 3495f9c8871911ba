import HotPath

#if canImport(Glibc)
import Glibc
#endif

/// Coverage-guided fuzzing (libFuzzer) of every parser a user or a peer feeds, through the
/// entry points the product uses (`ParserExercise` lists them). scripts/fuzz.sh builds this
/// with `--sanitize=fuzzer --sanitize=address -DHOTPATH_FUZZ`: SwiftPM then builds the
/// executable as a library, the `@main` below is left out, and libFuzzer's own `main` drives
/// `LLVMFuzzerTestOneInput`. `HOTPATH_FUZZ_TARGET` picks the parser. Each input is written to
/// /dev/shm first: the entry points read files.
enum Fuzz {
    static let exercise = ParserExercise(
        target: getenv("HOTPATH_FUZZ_TARGET").map { String(cString: $0) } ?? "")
    static let path = "/dev/shm/hotpath-fuzz-\(getpid())" + (exercise?.suffix ?? "")
}

func say(_ line: String) { _ = SystemFile.writeAll(2, line + "\n") }

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
) -> CInt {
    guard Fuzz.exercise != nil else {
        say("hotpath-fuzz: set HOTPATH_FUZZ_TARGET to one of \(ParserExercise.targets.joined(separator: ", "))")
        exit(2)
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let fd = open(Fuzz.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    guard fd >= 0 else {
        say("hotpath-fuzz: cannot write \(Fuzz.path)")
        exit(3)
    }
    if let data { _ = SystemFile.writeAll(fd, UnsafeRawBufferPointer(start: data, count: size)) }
    close(fd)
    Fuzz.exercise!.run(path: Fuzz.path)
    return 0
}

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
