import Foundation
import NormBenchEngine

/// The harness's atomic writes (`AtomicWrite`), failing with `HarnessError.write`.
public enum AtomicFile {
    /// Writes `data` to `path` atomically, creating parent folders.
    /// - Throws: `HarnessError.write` naming the path and the system's reason.
    public static func write(_ data: Data, to path: String) throws {
        do { try AtomicWrite.write(data, to: path) } catch { throw HarnessError.write(path: path, reason: error.reason) }
    }
}
