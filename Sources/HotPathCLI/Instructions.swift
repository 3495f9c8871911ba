import ArgumentParser
import Foundation
import HotPath

extension Bench {
    struct Instructions: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Instructions per unit of work for each stage, counted by callgrind: the same on every host.",
            discussion: """
                Runs this binary's fixed workload (the demo ITCH session through decode → book → \
                features → inference → signal on one thread, the engine's own stage functions) \
                under valgrind's callgrind, counting only inside the stages, with the portable \
                model kernels forced (HOTPATH_PORTABLE=1). Prints instructions per record \
                (decode_book), per feature update (features) and per evaluation (inference, \
                signal). The same binary and input give the same counts on any machine, so CI \
                gates them (`hotpath gate --instructions`) where nanoseconds would not hold. \
                Needs valgrind (Debian: apt-get install valgrind); ~30 s for the default session.
                """
        )

        @Option(help: "Engine configuration whose models and features run; default: the bundled demo configuration.")
        var config: String?

        @Option(help: "Messages in the session (the demo market, fixed seed).")
        var messages = 50_000

        @Flag(help: "Print one JSON object.")
        var json = false

        @Flag(help: .hidden)
        var work = false

        func validate() throws {
            guard messages >= 1_000, messages <= 10_000_000 else {
                throw ValidationError("--messages must be within 1000...1e7")
            }
        }

        func run() throws {
            if work { return runWork() }
            let executable =
                (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
                ?? CommandLine.arguments[0]
            do {
                let counts = try InstructionCount.measure(
                    executable: executable, messages: messages, config: config ?? demoFile("config.toml"))
                print(json ? counts.json : counts.text, terminator: json ? "\n" : "")
            } catch {
                fail("bench instructions: \(error)")
            }
        }

        /// The child under callgrind: the workload, then its units as one JSON line.
        func runWork() {
            let c = loadConfig(config ?? demoFile("config.toml"))
            let engine: Engine
            do { engine = try Engine(config: c) } catch { fail("\(error)", code: 2) }
            guard case let .itch(file) = syntheticFeed(messages: messages, generator: ITCHGenerator.demoSession) else {
                fail("bench instructions: the session is not ITCH")
            }
            do {
                let u = try InstructionWork.run(file: file, engine: engine)
                print("{\"records\":\(u.records),\"updates\":\(u.updates),\"evaluations\":\(u.evaluations)}")
            } catch {
                fail("bench instructions: \(error)")
            }
        }
    }
}
