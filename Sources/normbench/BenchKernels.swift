import ArgumentParser

// Placeholder while the subcommand is being written; replaced in the same change.
struct BenchKernels: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "kernels")
    func run() throws { throw ValidationError("not implemented yet") }
}
