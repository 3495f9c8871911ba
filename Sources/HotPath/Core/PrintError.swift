/// One line to stderr, unbuffered (cold path).
public func printError(_ line: String) {
    SystemFile.writeAll(2, line + "\n")
}
