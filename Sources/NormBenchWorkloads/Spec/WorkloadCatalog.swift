import Foundation

/// Finds workload files: a path, or a name looked up in a `Workloads/` folder.
public struct WorkloadCatalog: Sendable {
    /// The folder that holds `<name>.yaml` files.
    public let directory: String

    public init(directory: String = "Workloads") { self.directory = directory }

    /// Names of the workloads in the folder, sorted.
    public func names() -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return files.filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }.sorted()
    }

    /// The file for `nameOrPath`: an existing path as given, else `<directory>/<name>.yaml`.
    /// - Throws: `WorkloadError.unreadable` listing the known names when neither exists.
    public func path(for nameOrPath: String) throws -> String {
        guard !nameOrPath.isEmpty else { throw WorkloadError.unreadable(file: "\"\"", reason: "the workload name is empty") }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: nameOrPath, isDirectory: &isDirectory), !isDirectory.boolValue {
            return nameOrPath
        }
        let candidate = "\(directory)/\(nameOrPath).yaml"
        if FileManager.default.fileExists(atPath: candidate) { return candidate }
        let known = names()
        throw WorkloadError.unreadable(
            file: nameOrPath,
            reason: known.isEmpty
                ? "no such file, and no \(directory)/ folder here (run from the repository root or pass a path)"
                : "no such file or workload; known workloads: \(known.joined(separator: ", "))")
    }

    /// Loads a workload by name or path.
    public func load(_ nameOrPath: String) throws -> WorkloadSpec {
        try WorkloadSpec.load(path: path(for: nameOrPath))
    }
}
