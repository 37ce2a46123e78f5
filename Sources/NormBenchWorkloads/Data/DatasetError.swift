/// Data set problems: one line naming the file, the problem and a fix.
public enum DatasetError: Error, Equatable, CustomStringConvertible {
    case manifest(path: String, problem: String, fix: String)
    case clip(path: String, problem: String)
    case generation(path: String, problem: String)
    /// The file that holds decoded clips (`--data-bank file`) cannot be made or written.
    case bankFile(folder: String, problem: String)

    public var description: String {
        switch self {
        case let .manifest(path, problem, fix): return "\(path): \(problem); \(fix)"
        case let .clip(path, problem): return "\(path): \(problem); fix or remove the clip, or pass --skip-bad-clips to count and skip it"
        case let .generation(path, problem): return "\(path): cannot generate synthetic clip (\(problem)); check free space and permissions of the cache folder (data.cache)"
        case let .bankFile(folder, problem): return "\(folder): cannot keep the decoded clips in a file there: \(problem); free space there, or pass --data-bank memory"
        }
    }
}
