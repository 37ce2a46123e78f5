import ArgumentParser
import Foundation
import NormBenchEngine

@main
struct NormBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "normbench",
        abstract: "Measure the BatchNorm / GroupNorm trade-off on video models, on your own CPU.",
        version: BuildInfo.versionLine,
        subcommands: [Run.self, Plan.self, Decode.self, Publish.self, Check.self, List.self, Show.self, Bench.self, Info.self])

    /// Runs the command line: the one place errors become a stderr line and an
    /// exit code. Misuse (an unknown option, a missing or malformed value, a
    /// `validate()` failure, a `UsageError` from a check that needs the files)
    /// exits 2 with one line on every command, not the parser's 64 with a usage
    /// block; a `CommandFailure` exits with its code (1 unless documented).
    /// Under mpirun every rank parses the same options: rank 0 speaks for all.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
            Deprecation.flush()
        } catch let error as UsageError {
            report(error.message, code: 2)
        } catch let error as CommandFailure {
            Deprecation.flush()
            report(error.message, code: error.code)
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure { report(usageLine(for: error), code: 2) }
            Deprecation.flush()
            // ExitCode (the command printed its own lines), --help and --version: as the parser does.
            if error is ExitCode || code == .success { exit(withError: error) }
            // Any other error: one line, exit 1.
            var text = message(for: error).split(separator: "\n").joined(separator: "; ")
            if text.hasPrefix("Error: ") { text.removeFirst(7) }
            report(text, code: 1)
        }
    }

    /// Prints `normbench <command>: <message>` on stderr (rank 0 only under mpirun) and exits.
    static func report(_ message: String, code: Int32) -> Never {
        if (MPILaunch.current?.rank ?? 0) == 0 {
            printError("\(commandPath()): \(message)")
        } else {
            usleep(500_000)  // mpirun stops the job when a rank exits: give rank 0 time to print
        }
        Foundation.exit(code)
    }

    /// "normbench run", "normbench bench kernels": the subcommands named on the command line.
    static func commandPath() -> String {
        var path = ["normbench"]
        var commands: [ParsableCommand.Type] = configuration.subcommands
        for arg in CommandLine.arguments.dropFirst() {
            guard let sub = commands.first(where: { $0._commandName == arg }) else { break }
            path.append(arg)
            commands = sub.configuration.subcommands
        }
        return path.joined(separator: " ")
    }

    /// The parser's message on one line, with a hint when a negative number was read as an option.
    static func usageLine(for error: Error) -> String {
        var text = message(for: error).split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }.joined(separator: "; ")
        if text.hasPrefix("Error: ") { text.removeFirst(7) }
        if let own = UsageError.fromValidate, text.hasPrefix(own) { return own }
        if let negative = CommandLine.arguments.first(where: { $0.count > 1 && $0.hasPrefix("-") && $0.dropFirst().allSatisfy { $0.isNumber || $0 == "." || $0 == "," } }) {
            return "\(text) (\"\(negative)\" reads as an option: negative values are not valid; every count is at least 1 and a seed at least 0)"
        }
        return "\(text); see \(commandPath()) --help"
    }
}

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks: release builds, medians, ratios measured in the same run.",
        subcommands: [BenchDecode.self, BenchKernels.self, BenchNorms.self, BenchCalibrate.self, BenchTrain.self])
}
