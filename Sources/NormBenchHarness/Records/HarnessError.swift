/// Failures of the harness: results that cannot be written or read, runs that
/// do not match. Each description is one line: the path, the problem, a fix.
public enum HarnessError: Error, Equatable, CustomStringConvertible {
    case write(path: String, reason: String)
    case read(path: String, reason: String)
    case mismatch(String)

    public var description: String {
        switch self {
        case let .write(path, reason):
            return "\(path): cannot write (\(reason)); check free space and permissions, or pass --out to another folder; earlier results are unchanged"
        case let .read(path, reason):
            return "\(path): cannot read result record (\(reason)); delete or fix the file, or re-run the cell with --resume"
        case let .mismatch(text):
            return text
        }
    }
}
