import ArgumentParser
import NormBenchWorkloads

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the workloads and the normalization methods.")

    @Option(help: "Folder of workload files.") var workloads = "Workloads"

    func run() throws {
        let catalog = WorkloadCatalog(directory: workloads)
        print("Workloads (\(workloads)/):")
        for name in catalog.names() {
            do {
                let spec = try catalog.load(name)
                print("  \(name.padding(toLength: 12, withPad: " ", startingAt: 0)) \(spec.description)")
            } catch {
                print("  \(name.padding(toLength: 12, withPad: " ", startingAt: 0)) (invalid: \(error))")
            }
        }
        print("\nNormalization methods:")
        print("  " + WorkloadSpec.knownNorms.joined(separator: ", "))
    }
}
