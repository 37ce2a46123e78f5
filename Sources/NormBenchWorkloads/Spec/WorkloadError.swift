/// Problems with a workload file or a sweep setting. Each description is one
/// line naming the file, the key, what is wrong and an example of a valid value.
public enum WorkloadError: Error, Equatable, CustomStringConvertible {
    /// The file could not be read.
    case unreadable(file: String, reason: String)
    /// The file is not valid YAML.
    case syntax(file: String, line: Int?, reason: String)
    /// A key's value is wrong, or a key is unknown.
    case invalid(file: String, line: Int?, key: String, problem: String, example: String)

    public var description: String {
        switch self {
        case let .unreadable(file, reason):
            return "\(file): cannot read workload (\(reason)); pass a YAML file from Workloads/ or a workload name (normbench list)"
        case let .syntax(file, line, reason):
            return "\(Self.place(file, line)): not valid YAML (\(reason)); check indentation and `key: value` pairs"
        case let .invalid(file, line, key, problem, example):
            return "\(Self.place(file, line)): `\(key)` \(problem), e.g. `\(example)`"
        }
    }

    private static func place(_ file: String, _ line: Int?) -> String {
        line.map { "\(file):\($0)" } ?? file
    }
}
