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

    /// Runs the command line. Misuse the argument parser finds (an unknown option, a
    /// missing or malformed value, a `validate()` failure) exits 2 with one line, as
    /// every command documents, not the parser's 64 with a usage block.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            guard exitCode(for: error) == .validationFailure else { exit(withError: error) }
            printError("\(commandPath()): \(usageLine(for: error))")
            Foundation.exit(2)
        }
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
        if let negative = CommandLine.arguments.first(where: { $0.count > 1 && $0.hasPrefix("-") && $0.dropFirst().allSatisfy { $0.isNumber || $0 == "." || $0 == "," } }) {
            return "\(text) (\"\(negative)\" reads as an option: negative values are not valid; every count is at least 1 and a seed at least 0)"
        }
        return "\(text); see \(commandPath()) --help"
    }
}

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks: release builds, medians, ratios measured in the same run.",
        subcommands: [BenchDecode.self, BenchKernels.self, BenchNorms.self, BenchCalibrate.self])
}
