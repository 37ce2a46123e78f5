import ArgumentParser

// Placeholder while the subcommand is being written; replaced in the same change.
struct Decode: ParsableCommand {
    func run() throws { throw ValidationError("not implemented yet") }
}
