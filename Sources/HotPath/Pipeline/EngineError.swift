/// Why an engine could not start, as what it is: a configuration it cannot run, start-up
/// memory it could not get, or an output (file or socket, by its configuration key) it
/// could not open.
public enum EngineError: Error, CustomStringConvertible {
    case config(ConfigError)
    case memory(file: String, ArenaError)
    case output(key: String, SystemError)
    /// A signals file the sink will not write to: its path and why.
    case signalsFile(path: String, String)

    public var description: String {
        switch self {
        case let .config(error): "\(error)"
        case let .memory(file, error): "\(file): start-up memory: \(error)"
        case let .output(key, error): "\(key): \(error)"
        case let .signalsFile(path, reason): "\(path): \(reason)"
        }
    }
}
