import ArgumentParser
import Foundation
import NormBenchWorkloads

/// Misuse of a command: a bad option value, an impossible combination, a missing
/// or invalid workload. `NormBench.main` prints it as one line on stderr
/// (`normbench <command>: <message>`) and exits 2, on every command.
struct UsageError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }

    init(message: String) { self.message = message }

    /// Any error found while checking the options or the files they name.
    init(_ error: any Error) {
        message = (error as? UsageError)?.message ?? "\(error)"
    }
}

/// A failure after the options were accepted (a clip, a cell, an output):
/// one line on stderr, exit `code` (1 unless a command documents another).
struct CommandFailure: Error, CustomStringConvertible {
    let message: String
    var code: Int32 = 1
    var description: String { message }

    init(_ error: any Error, code: Int32 = 1) {
        message = "\(error)"
        self.code = code
    }

    init(message: String, code: Int32 = 1) {
        self.message = message
        self.code = code
    }
}

/// Writes one line to standard error.
func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// A deprecated spelling of an option, accepted with a one-line notice on stderr.
/// Returns the value to use; giving both spellings is a usage error.
func deprecatedAlias<T>(_ old: T?, _ new: T?, old oldName: String, new newName: String) throws -> T? {
    guard let old else { return new }
    if new != nil {
        throw UsageError(message: "\(oldName) is the old spelling of \(newName); give \(newName) only")
    }
    Deprecation.notices.append("\(NormBench.commandPath()): note: \(oldName) is deprecated; use \(newName)")
    return old
}

/// Notices about deprecated spellings, printed once the command has checked its
/// options and files (misuse prints its one error line only): by the command
/// when its checks pass, else when it ends.
enum Deprecation {
    nonisolated(unsafe) static var notices: [String] = []

    static func flush() {
        notices.forEach(printError)
        notices = []
    }
}

/// Prints `value` as one JSON object on stdout (sorted keys, so output is stable).
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    FileHandle.standardOutput.write(try encoder.encode(value) + Data("\n".utf8))
}

/// Parses a comma-separated list of thread counts in `Limits.threads`, the one
/// grammar of `--threads` on every command ("2" or "1,2").
func threadList(_ text: String) throws -> [Int] {
    try list(text, "--threads", expected: "a thread count in \(Limits.threads) (4 × this machine's CPUs), e.g. --threads 2 or --threads 1,2") {
        Int($0).flatMap { Limits.threads.contains($0) ? $0 : nil }
    }
}

extension UsageError {
    /// The message of the last `UsageError` that `validate()` passed to the parser
    /// (as a `ValidationError`, the only kind it reports as misuse), so
    /// `NormBench.main` prints it as written, without the parser's help hint.
    nonisolated(unsafe) static var fromValidate: String?
}

/// Runs `validate()`'s checks: a `UsageError` reaches the parser as a `ValidationError` (exit 2).
func validating(_ checks: () throws -> Void) throws {
    do { try checks() } catch let error as UsageError {
        UsageError.fromValidate = error.message
        throw ValidationError(error.message)
    }
}
