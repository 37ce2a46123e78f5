import ArgumentParser

// Placeholder while the subcommand is being written; replaced in the same change.
struct BenchNorms: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "norms")
    func run() throws { throw ValidationError("not implemented yet") }
}
