import XCTest

@testable import HotPath

/// Every input scripts/fuzz.sh found crashing HotPath, through the same entry point
/// (`ParserExercise`): each must now be a clean refusal. The files are the fuzzer's findings,
/// named for what they found (Tests/Fixtures/fuzz-regressions/<target>/).
final class FuzzRegressionTests: XCTestCase {
    func testEveryFindingIsRefusedCleanly() throws {
        let root = TestPaths.fixtures + "/fuzz-regressions"
        var ran = 0
        for target in ParserExercise.targets {
            let exercise = try XCTUnwrap(ParserExercise(target: target))
            let dir = root + "/" + target
            for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] {
                let bytes = try XCTUnwrap(FileManager.default.contents(atPath: dir + "/" + name))
                let path = temporaryFile(Array(bytes), suffix: exercise.suffix)
                defer { unlink(path) }
                exercise.run(path: path)
                ran += 1
            }
        }
        XCTAssertGreaterThanOrEqual(ran, 4)
    }

    /// Every committed seed runs through its target's entry point (the fuzzer starts from
    /// them; a seed that crashed would stop it at once).
    func testEverySeedRunsCleanly() throws {
        let root = TestPaths.fixtures + "/fuzz"
        var ran = 0
        for target in ParserExercise.targets {
            let exercise = try XCTUnwrap(ParserExercise(target: target))
            for name in try FileManager.default.contentsOfDirectory(atPath: root + "/" + target) {
                let bytes = try XCTUnwrap(FileManager.default.contents(atPath: root + "/" + target + "/" + name))
                let path = temporaryFile(Array(bytes), suffix: exercise.suffix)
                defer { unlink(path) }
                let reached = exercise.run(path: path)
                // The live targets' seeds that a peer would send whole get past the framing.
                if ["text.bin", "fragments.bin", "close.bin", "session.bin"].contains(name) {
                    XCTAssertGreaterThan(reached, 0, "\(target)/\(name) reaches no message or record")
                }
                ran += 1
            }
        }
        XCTAssertGreaterThanOrEqual(ran, 24)
    }

    /// The LightGBM findings are refusals with a reason, not models: each names a value a
    /// prediction would have trapped on or read past a table with.
    func testEveryLightGBMFindingIsARefusal() throws {
        let dir = TestPaths.fixtures + "/fuzz-regressions/lightgbm"
        for name in try FileManager.default.contentsOfDirectory(atPath: dir) {
            let bytes = try XCTUnwrap(FileManager.default.contents(atPath: dir + "/" + name))
            let text = String(decoding: bytes, as: UTF8.self)
            XCTAssertThrowsError(try LightGBMLoader.parse(text, file: name), name)
        }
    }
}
