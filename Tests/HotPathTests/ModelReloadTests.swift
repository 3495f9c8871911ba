import CSupport
import Foundation
import MallocCounter
import XCTest

@testable import HotPath

#if canImport(Glibc)
import Glibc
#endif

/// Hot model reload (`ModelReloader`, `ModelSwap`): the swap allocates and retains nothing on
/// the engine thread; under load nothing is dropped; signals after the swap carry the new
/// ensemble's identity; a model with the wrong features is refused and the old one goes on.
final class ModelReloadTests: XCTestCase {
    static let demo = TestPaths.root + "/demo"

    /// The demo configuration and its two models in a directory of their own.
    func demoCopy(extra: String = "") throws -> (dir: String, config: String) {
        let dir = NSTemporaryDirectory() + "hotpath-reload-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for f in ["model-lgb.txt", "model-mlp.onnx"] {
            try FileManager.default.copyItem(atPath: Self.demo + "/" + f, toPath: dir + "/" + f)
        }
        var text = try String(contentsOfFile: Self.demo + "/config.toml", encoding: .utf8)
        text = text.replacingOccurrences(of: "events_full = \"spin\"", with: "events_full = \"drop\"")
            .replacingOccurrences(of: "/tmp/hotpath.kill", with: dir + "/kill")
        try (text + extra).write(toFile: dir + "/config.toml", atomically: true, encoding: .utf8)
        return (dir, dir + "/config.toml")
    }

    /// The demo forest with one leaf changed: the same features, another model.
    func variant(of dir: String, leaf: String = "-0.5") throws -> String {
        let text = try String(contentsOfFile: dir + "/model-lgb.txt", encoding: .utf8)
        return text.replacingOccurrences(of: "leaf_value=-1.0992372762786595 ", with: "leaf_value=\(leaf) ")
    }

    /// Puts `text` in place of `path` at once (a rename, as a deployment would).
    static func install(_ text: String, at path: String) throws {
        try text.write(toFile: path + ".new", atomically: false, encoding: .utf8)
        XCTAssertEqual(rename(path + ".new", path), 0)
    }

    /// Reloads do not grow the heap: an ensemble loaded for the engine frees its forests when
    /// it is released, and a refused model set frees what it had loaded.
    func testReleasedAndRefusedEnsemblesGiveTheirMemoryBack() throws {
        let (dir, path) = try demoCopy()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = try EngineConfig.load(path: path)
        var wrong = config
        wrong.featureNames.swapAt(0, 1)  // the forest's schema no longer matches: refused
        func inUse() -> Int { Int(hp_heap_in_use()) }
        _ = try config.loadEnsemble()
        let before = inUse()
        let held = try config.loadEnsemble()
        let one = inUse() - before
        _ = held
        for _ in 0..<20 {
            _ = try config.loadEnsemble()
            XCTAssertThrowsError(try wrong.loadEnsemble())
        }
        XCTAssertLessThan(inUse() - before, one + one / 2, "20 loads and 20 refusals: about one ensemble held")
    }

    func testTheSwapAllocatesAndRetainsNothingOnTheEngineThread() throws {
        try requireOptimizedBuild()
        let (dir, path) = try demoCopy()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let engine = try Engine(config: try EngineConfig.load(path: path))
        var g = ITCHGenerator.demoSession
        g.seed = 0xD3E1
        let file = temporaryFile(g.generate(messages: 60_000), suffix: ".itch")
        defer { unlink(file) }
        var events: [Event] = []
        try FeedFile.open(file).forEachEvent { events.append($0) }
        // A new ensemble, loaded and flattened here (the reloader's thread), offered.
        try Self.install(try variant(of: dir), at: dir + "/model-lgb.txt")
        let next = try XCTUnwrap(try engine.config.loadEnsemble())
        let core = engine.core
        events.withUnsafeBufferPointer { e in
            for i in 0..<20_000 { core.process(e[i]) }
            core.swap.offered.pointee.store(
                UInt(bitPattern: Unmanaged.passUnretained(next).toOpaque()), ordering: .releasing)
            let (mallocs, retains) = (hp_thread_malloc_count(), hp_thread_retain_count())
            core.pollSwap()
            for i in 20_000..<e.count { core.process(e[i]) }
            XCTAssertEqual(hp_thread_malloc_count() - mallocs, 0, "mallocs on the engine thread at and after the swap")
            XCTAssertEqual(hp_thread_retain_count() - retains, 0, "retains on the engine thread at and after the swap")
        }
        XCTAssertTrue(core.ensemble!.takeUnretainedValue() === next)
        XCTAssertEqual(core.swap.generation.pointee.load(ordering: .relaxed), 1)
        XCTAssertGreaterThan(core.counts[EngineCore.Count.evaluations.rawValue].value, 0)
    }

    /// 500 k events/s offered open loop (the event ring drops and counts when full); during
    /// the run a model with another feature order is refused, then a new forest is swapped in.
    func testAReloadUnderLoadDropsNothingAndSignalsNameTheirModel() throws {
        let (dir, path) = try demoCopy(extra: "\n[reload]\nwatch = true\nsettle_ms = 50\n")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = try EngineConfig.load(path: path)
        let engine = try Engine(config: config)
        var g = ITCHGenerator.demoSession
        g.seed = 0xD3E1
        let file = temporaryFile(g.generate(messages: isOptimizedBuild ? 1_500_000 : 300_000), suffix: ".itch")
        defer { unlink(file) }
        var replay = FileReplay(file: try FeedFile.open(file), clock: engine.clock)
        replay.pace = .rate(eventsPerSecond: isOptimizedBuild ? 500_000 : 100_000)
        let signalsPath = dir + "/signals.csv"
        let sink = try SignalSink(path: signalsPath, format: .csv)
        let lgb = dir + "/model-lgb.txt"
        let original = try String(contentsOfFile: lgb, encoding: .utf8)
        let wrong = original.replacingOccurrences(
            of: "feature_names=spread_bps imbalance_l1", with: "feature_names=imbalance_l1 spread_bps")
        let newer = try variant(of: dir)
        let before = EnsembleIdentity.of(engine.models)
        final class Outcome: @unchecked Sendable { var refused = false, swapped = false }
        let outcome = Outcome()
        let deployer = Thread {
            func wait(_ done: () -> Bool) -> Bool {
                for _ in 0..<300 where !done() { usleep(10_000) }
                return done()
            }
            usleep(500_000)
            guard let reloader = engine.reloader else { return }
            try? Self.install(wrong, at: lgb)
            outcome.refused = wait { reloader.refused.value == 1 }
            try? Self.install(newer, at: lgb)
            outcome.swapped = wait { reloader.swapped.value == 1 }
        }
        deployer.start()
        let (report, _) = try engine.run(feeds: [replay], sink: sink)
        sink.close()
        while !deployer.isFinished { usleep(10_000) }
        XCTAssertTrue(outcome.refused, "the model with the wrong features was not refused in time")
        XCTAssertTrue(outcome.swapped, "the new model was not swapped in before the run ended")
        XCTAssertTrue(
            engine.reloader?.lastRefusal == nil && report.counter("reload.refused") == 1,
            "refused once, then the good one cleared the reason")
        XCTAssertEqual(report.counter("reload.swapped"), 1)
        XCTAssertEqual(report.counter("feed.ring_full_dropped"), 0)
        XCTAssertEqual(report.counter("output.signal_ring_dropped"), 0)

        // Every signal names its ensemble: the old one up to one sequence, the new one after.
        let after = EnsembleIdentity.of(engine.models)
        XCTAssertNotEqual(before, after)
        XCTAssertEqual(engine.models[0].sha256, ModelIdentity.sha256(Array(newer.utf8)))
        let lines = try String(contentsOfFile: signalsPath, encoding: .utf8).split(separator: "\n").dropFirst()
        let models = lines.map { String($0.split(separator: ",").last!) }
        XCTAssertGreaterThan(models.count, 100)
        let cut = models.firstIndex(of: EnsembleIdentity.hex(after)) ?? models.count
        XCTAssertGreaterThan(cut, 0, "signals before the swap")
        XCTAssertLessThan(cut, models.count, "signals after the swap")
        XCTAssertTrue(models[..<cut].allSatisfy { $0 == EnsembleIdentity.hex(before) })
        XCTAssertTrue(models[cut...].allSatisfy { $0 == EnsembleIdentity.hex(after) })
        XCTAssertEqual(
            report.models.map(\.sha256), engine.models.map(\.sha256), "the report lists the models in use at the end")
    }

    /// The identity a signal carries: with one model its file's SHA-256 (the first 16 hex
    /// digits `sha256sum` prints); with several, the SHA-256 of their digests.
    func testTheIdentityIsTheFileHashOrTheHashOfTheHashes() throws {
        let one = ModelIdentity(name: "a", path: "a", digest: ModelIdentity.digest(Array("abc".utf8)))
        XCTAssertEqual(EnsembleIdentity.hex(EnsembleIdentity.of([one])), "ba7816bf8f01cfea")
        let two = ModelIdentity(name: "b", path: "b", digest: ModelIdentity.digest(Array("".utf8)))
        let both = ModelIdentity.digest(hex: one.sha256) + ModelIdentity.digest(hex: two.sha256)
        XCTAssertEqual(
            EnsembleIdentity.hex(EnsembleIdentity.of([one, two])), String(ModelIdentity.sha256(both).prefix(16)))
    }
}
