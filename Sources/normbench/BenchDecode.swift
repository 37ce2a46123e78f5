import ArgumentParser

// Placeholder while the subcommand is being written; replaced in the same change.
struct BenchDecode: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "decode")
    func run() throws { throw ValidationError("not implemented yet") }
}
