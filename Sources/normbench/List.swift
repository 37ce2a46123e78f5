import ArgumentParser
import Foundation
import NormBenchWorkloads

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the workloads and the normalization methods.",
        discussion: "Exit codes: 0 listed (an invalid workload is listed with its problem); 2 the --workloads folder does not exist, or bad options.")

    @Option(help: "Folder of workload files (relative to the working directory).") var workloads = "Workloads"
    @Flag(help: "Print one JSON object on stdout (docs/cli.md).") var json = false

    struct Entry: Encodable { var name: String, description: String?, problem: String? }
    struct ListJSON: Encodable { var workloadsFolder: String, workloads: [Entry], norms: [String] }

    func validate() throws {
        try validating { try Self.checkFolder(workloads) }
    }

    /// Refuses a `--workloads` that is not a folder, saying where it looked and how to point elsewhere.
    static func checkFolder(_ workloads: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: workloads, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw UsageError(message: "--workloads \(workloads): no folder at \(absolute(workloads)) (workloads are read relative to the working directory); run from the repository root, or pass --workloads <folder of workload YAML files>")
        }
    }

    func run() throws {
        let catalog = WorkloadCatalog(directory: workloads)
        let entries = catalog.names().map { name in
            do { return Entry(name: name, description: try catalog.load(name).description, problem: nil) } catch {
                return Entry(name: name, description: nil, problem: "\(error)")
            }
        }
        if json { return try printJSON(ListJSON(workloadsFolder: absolute(workloads), workloads: entries, norms: WorkloadSpec.knownNorms)) }
        print("Workloads (\(workloads)/):")
        let width = entries.map(\.name.count).max() ?? 0  // names are never cut
        for e in entries {
            print("  \(e.name.padding(toLength: width, withPad: " ", startingAt: 0)) \(e.description ?? "(invalid: \(e.problem ?? ""))")")
        }
        print("\nNormalization methods:")
        print("  " + WorkloadSpec.knownNorms.joined(separator: ", "))
    }
}
