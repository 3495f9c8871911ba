import XCTest

@testable import HotPath

#if canImport(Glibc)
import Glibc
#endif

/// Every configuration mistake is one error naming its key, raised before anything starts.
final class EngineConfigTests: XCTestCase {
    func load(_ text: String) throws(ConfigError) -> EngineConfig {
        let path = temporaryFile(Array(text.utf8), suffix: ".toml")
        defer { unlink(path) }
        return try EngineConfig.load(path: path)
    }

    func assertError(_ text: String, key: String, mentions: String, file: StaticString = #filePath, line: UInt = #line)
    {
        do {
            _ = try load(text)
            XCTFail("expected an error at \(key)", file: file, line: line)
        } catch {
            XCTAssertEqual(error.key, key, "\(error)", file: file, line: line)
            XCTAssertTrue(error.reason.contains(mentions), "\(error)", file: file, line: line)
            XCTAssertFalse("\(error)".contains("\n"), file: file, line: line)
        }
    }

    func testTheDemoConfigurationLoadsWithItsModels() throws {
        let c = try EngineConfig.load(path: TestPaths.root + "/demo/config.toml")
        XCTAssertEqual(c.models.count, 2)
        XCTAssertEqual(c.featureNames.count, 16)
        let ensemble = try XCTUnwrap(c.loadEnsemble())
        XCTAssertEqual(ensemble.outputs, 3)
        XCTAssertEqual(c.budgets.first { $0.stage == .tickToSignal && $0.percentile == .p99 }?.limitNs, 3000)
    }

    /// `[regimes]`: the demo's loads; an HMM that does not fit the inputs, a weight per model
    /// missing, a state table no state names, each an error naming its key.
    func testRegimeMistakesAreNamed() throws {
        let demo = TestPaths.root + "/demo"
        let c = try EngineConfig.load(path: demo + "/config-regimes.toml")
        XCTAssertEqual(c.regimes?.names, ["calm", "normal", "volatile"])
        XCTAssertEqual(c.regimes?.settings[2].weights, [0.3, 0.7])
        XCTAssertEqual(c.regimes?.settings[0].maxPosition, c.limits.maxPosition)
        let models = "[[models]]\npath = \"\(demo)/model-lgb.txt\"\n"
        let hmm = "[regimes]\nhmm = \"\(demo)/regime-hmm.json\"\n"
        assertError(hmm + "inputs = [\"range\"]\n", key: "regimes.inputs", mentions: "2 features for 1 inputs")
        assertError(hmm + "inputs = [\"spread\"]\n", key: "regimes.inputs[0]", mentions: "unknown input")
        assertError(hmm + "states = [\"a\", \"b\"]\n", key: "regimes.states", mentions: "3 distinct names")
        assertError(
            models + hmm + "states = [\"a\", \"b\", \"c\"]\n[regimes.a]\nweights = [1, 2]\n", key: "regimes.a.weights",
            mentions: "2 weights for 1 models")
        assertError(
            hmm + "states = [\"a\", \"b\", \"c\"]\n[regimes.d]\nmax_position = 1\n", key: "regimes.d",
            mentions: "unknown key")
        assertError("[regimes]\nhmm = \"/nonexistent.json\"\n", key: "regimes.hmm", mentions: "not a readable")
    }

    /// Found by scripts/fuzz.sh when the files were read by toml++, which aborted the process on
    /// them: each is a located syntax error of our own parser.
    func testTheShapesTomlPlusPlusAbortedOnAreLocatedErrors() {
        for text in [
            "[+]\nx = 1\n", "[ é]\n", "[[é]]\n", "[a]\nx = 1\n[\u{FFFD}b]\n", "s = '[x'\n[=]\n", "\u{FEFF}[+]\n",
            "x = [1, }]\n", "x = {a = [1}\n", "x = [[\u{85}]]\n", "x =2003-03-r= 5\n", "x = [1979-05-27 7]\n",
            "eco= 4326-05-20tail_tol_t8ole=09:09:08\n", "x = 1979-05-27T7:32:00\n",
        ] {
            assertError(text, key: "", mentions: "line ")
        }
        assertError("x = [1, }]\n", key: "", mentions: "line 1, column 9: expected a value")
    }

    func testUnknownKeyIsNamed() {
        assertError("[risk]\nmax_postion = 3\n", key: "risk.max_postion", mentions: "unknown key")
        assertError("[riks]\n", key: "riks", mentions: "unknown key")
    }

    func testWrongTypeIsNamed() {
        assertError(
            "[risk]\nmax_position = \"ten\"\n", key: "risk.max_position",
            mentions: "expected an integer, found a string")
        assertError("[features]\nnames = [\"mid\", 3]\n", key: "features.names[1]", mentions: "expected a string")
    }

    func testCoreOutOfRangeIsNamed() {
        assertError("[threads]\nengine_core = 4000\n", key: "threads.engine_core", mentions: "4000")
        assertError("[threads]\nfeed_core = 99999\n", key: "threads.feed_core", mentions: "outside")
    }

    func testBadValuesAreNamed() {
        assertError("[rings]\nevents = 1000\n", key: "rings.events", mentions: "power of two")
        assertError("[rings]\nevents_full = \"block\"\n", key: "rings.events_full", mentions: "not one of")
        assertError("[features]\nnames = [\"mid\", \"alpha\"]\n", key: "features.names[1]", mentions: "unknown feature")
        assertError("[budgets.parse]\np99 = 10\n", key: "budgets.parse", mentions: "unknown stage")
        assertError("[signal]\nstrong = 0.1\nmedium = 0.2\n", key: "signal.medium", mentions: "above")
    }

    func testSyntaxErrorNamesItsLine() {
        assertError("[engine]\nmax_orders = = 3\n", key: "", mentions: "line 2")
    }

    func testModelWhoseFeaturesDoNotMatchTheSchemaIsNamed() throws {
        let text = """
            [features]
            names = ["mid", "spread"]
            [[models]]
            path = "\(TestPaths.root)/demo/model-lgb.txt"
            """
        let c = try load(text)
        XCTAssertThrowsError(try c.loadEnsemble()) { error in
            let e = error as! ConfigError
            XCTAssertEqual(e.key, "models[0].path")
            XCTAssertTrue(e.reason.contains("16 features but the schema has 2"), "\(e)")
        }
    }

    func testModelWithTheSchemasCountButOtherNamesIsNamed() throws {
        let names = [
            "mid", "spread", "spread_bps", "imbalance_l1", "imbalance_l5", "weighted_mid", "microprice", "bid_depth_5",
            "ask_depth_5", "ofi", "ofi_1s", "ofi_5s", "trade_imbalance_5s", "signed_volume_5s", "vwap_session",
            "vwap_60s",
        ]
        let text = """
            [features]
            names = [\(names.map { "\"\($0)\"" }.joined(separator: ", "))]
            [[models]]
            path = "\(TestPaths.root)/demo/model-lgb.txt"
            """
        XCTAssertThrowsError(try load(text).loadEnsemble()) { error in
            let e = error as! ConfigError
            XCTAssertEqual(e.key, "models[0].path")
            XCTAssertTrue(
                e.reason.contains("feature 0 is \"spread_bps\" in the model but \"mid\" in the schema"), "\(e)")
        }
    }

    func testSizesBeyondThisHostsMemoryAreNamedBeforeAllocating() throws {
        let c = try load("[engine]\nmax_instruments = 65536\nmax_orders = 268435456\n")
        XCTAssertThrowsError(try Engine(config: c)) { error in
            guard case let .config(e) = error as? EngineError else { return XCTFail("\(error)") }
            XCTAssertEqual(e.key, "engine.max_instruments", "\(error)")
        }
    }

    /// `[calibration] path` calibrates the ensemble; a calibration of the wrong width is named.
    func testCalibrationIsAnEnsembleStage() throws {
        let demo = TestPaths.root + "/demo/"
        let text = try XCTUnwrap(readText(demo + "config.toml")).replacingOccurrences(
            of: "path = \"model-", with: "path = \"\(demo)model-")
        func config(_ calibration: String) throws -> EngineConfig {
            try load(text + "\n[calibration]\npath = \"\(TestPaths.fixtures)/models/calibration/\(calibration)\"\n")
        }
        XCTAssertEqual(try XCTUnwrap(config("isotonic-3.json").loadEnsemble()).calibration?.classes, 3)
        XCTAssertThrowsError(try config("sigmoid-2.json").loadEnsemble()) { error in
            XCTAssertEqual((error as! ConfigError).key, "calibration.path")
            XCTAssertTrue("\(error)".contains("calibrates 2 classes"), "\(error)")
        }
    }

    func testMissingModelFileIsNamed() throws {
        XCTAssertThrowsError(try load("[[models]]\npath = \"nowhere.txt\"\n").loadEnsemble()) { error in
            XCTAssertEqual((error as! ConfigError).key, "models[0].path")
        }
    }
}

/// `gate` and `report`: budgets against a report, a baseline, and reports that cannot be read.
final class GateTests: XCTestCase {
    func report(p50: UInt64, p99: UInt64) -> RunReport {
        var h = HistogramSnapshot()
        for _ in 0..<98 { h.record(p50) }
        h.record(p99); h.record(p99)
        var r = RunReport()
        r.stages = [("tick_to_signal", LatencySummary(h, ladder: true))]
        return r
    }

    func testBudgetsHoldAndBreachesAreNamed() {
        let budgets = [
            LatencyBudget(stage: .tickToSignal, percentile: .p50, limitNs: 1500),
            LatencyBudget(stage: .tickToSignal, percentile: .p99, limitNs: 3000),
        ]
        XCTAssertEqual(report(p50: 1000, p99: 2000).breaches(budgets), [])
        let breaches = report(p50: 1000, p99: 5000).breaches(budgets)
        XCTAssertEqual(breaches.count, 1)
        guard case let .overBudget(budget, value) = breaches.first else { return XCTFail("\(breaches)") }
        XCTAssertEqual(budget, budgets[1])
        XCTAssertEqual(value / 1000, 5, "\(value)")
    }

    func testAStageWithoutSamplesFailsItsBudget() {
        let b = [LatencyBudget(stage: .inference, percentile: .p99, limitNs: 3000)]
        XCTAssertEqual(report(p50: 1, p99: 1).breaches(b), [.noSamples(b[0])])
    }

    func testBaselineRegressionBeyondToleranceIsABreach() {
        let base = report(p50: 1000, p99: 2000)
        XCTAssertEqual(report(p50: 1100, p99: 2100).breaches([], baseline: base, tolerance: 20), [])
        let b = report(p50: 2000, p99: 2100).breaches([], baseline: base, tolerance: 20)
        XCTAssertEqual(b.count, 1)
        guard case let .regression(stage, percentile, _, _, _) = b.first else { return XCTFail("\(b)") }
        XCTAssertEqual(stage, "tick_to_signal")
        XCTAssertEqual(percentile, .p50)
    }

    func testReportJSONRoundTrips() throws {
        var r = report(p50: 1000, p99: 2000)
        r.counters = [("engine.emitted", 12)]
        r.budgets = r.verdicts([LatencyBudget(stage: .tickToSignal, percentile: .p999, limitNs: 10_000)])
        r.models = [ModelIdentity(name: "lgb", path: "/m/lgb.txt", sha256: String(repeating: "0f", count: 32))]
        let path = temporaryFile(Array(r.json.utf8), suffix: ".json")
        defer { unlink(path) }
        let back = try RunReport.load(path: path)
        XCTAssertEqual(back.stage("tick_to_signal"), r.stage("tick_to_signal"))
        XCTAssertEqual(back.counter("engine.emitted"), 12)
        XCTAssertEqual(back.budgets, r.budgets)
        XCTAssertTrue(PercentilePlot.svg(back).contains("<polyline"))
        XCTAssertTrue(back.intervals.isEmpty)
        XCTAssertEqual(back.models, r.models)
        XCTAssertTrue(back.text.contains("lgb                      sha256 0f0f0f0f0f0f  /m/lgb.txt"), back.text)
    }

    /// A soak's intervals (`--snapshot-every`) load back, and the table ends with them and
    /// the RSS spread after the first interval.
    func testSoakIntervalsRoundTripAndShowTheRSSSpread() throws {
        var r = report(p50: 1000, p99: 2000)
        let s = r.stage("tick_to_signal")!
        r.intervals = [
            .init(seconds: 10, rssBytes: 100 << 20, events: 5, dropped: 0, stages: [("tick_to_signal", s)]),
            .init(seconds: 20, rssBytes: 101 << 20, events: 9, dropped: 1, stages: [("tick_to_signal", s)]),
            .init(seconds: 30, rssBytes: (101 << 20) + 8192, events: 12, dropped: 1, stages: [("tick_to_signal", s)]),
        ]
        let path = temporaryFile(Array(r.json.utf8), suffix: ".json")
        defer { unlink(path) }
        let back = try RunReport.load(path: path)
        XCTAssertEqual(back.intervals.map(\.rssBytes), r.intervals.map(\.rssBytes))
        XCTAssertEqual(back.intervals.map(\.dropped), [0, 1, 1])
        XCTAssertEqual(back.intervals.last?.stages.first?.1.p99, s.p99)
        XCTAssertTrue(
            back.text.contains("RSS after the first interval: 101.00 to 101.01 MiB, a spread of 8 KiB"), back.text)
    }

    /// Counts of 0 and 1 load (Foundation on Linux bridges them to values that also cast to
    /// Bool); negative or unrepresentable numbers are errors, never traps.
    func testReportNumbersAreCheckedNotTrusted() throws {
        let good = temporaryFile(
            Array(
                #"{"stages":{"inference":{"count":0,"p50_ns":0,"p99_ns":0,"p999_ns":0,"max_ns":0},"book":{"count":1,"p50_ns":1,"p99_ns":1,"p999_ns":1,"max_ns":1}},"counters":{"x":1}}"#
                    .utf8), suffix: ".json")
        defer { unlink(good) }
        let report = try RunReport.load(path: good)
        XCTAssertEqual(report.stage("inference")?.count, 0)
        XCTAssertEqual(report.stage("book")?.count, 1)
        XCTAssertEqual(report.counter("x"), 1)
        for bad in [
            #"{"stages":{"book":{"count":-1,"p50_ns":1,"p99_ns":1,"p999_ns":1,"max_ns":1}}}"#,
            #"{"stages":{"book":{"count":1,"p50_ns":1e300,"p99_ns":1,"p999_ns":1,"max_ns":1}}}"#,
            #"{"stages":{},"budgets":[{"stage":"book","percentile":500,"limit_ns":1}]}"#,
        ] {
            let path = temporaryFile(Array(bad.utf8), suffix: ".json")
            defer { unlink(path) }
            XCTAssertThrowsError(try RunReport.load(path: path), bad)
        }
    }

    func testCorruptReportIsAnErrorNamingTheFile() {
        let path = temporaryFile(Array("{\"stages\":{\"book\":{\"count\":\"x\"}}".utf8), suffix: ".json")
        defer { unlink(path) }
        XCTAssertThrowsError(try RunReport.load(path: path)) { error in
            XCTAssertTrue("\(error)".hasPrefix(path), "\(error)")
        }
        let garbage = temporaryFile(Array("not json".utf8), suffix: ".json")
        defer { unlink(garbage) }
        XCTAssertThrowsError(try RunReport.load(path: garbage))
    }
}
