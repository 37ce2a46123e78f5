import Foundation

/// Writes files so that a reader sees the old content or the whole new content,
/// never a part: write to a temporary file in the same folder, flush it to disk,
/// rename it over the target. A failed write (disk full, no permission) removes
/// the temporary file and leaves the target as it was. The one implementation:
/// records, pages, baselines and checkpoints are all written through it.
public enum AtomicWrite {
    /// Why a write failed, in the system's words.
    public struct Failure: Error, Sendable {
        public let reason: String
    }

    /// Writes `data` to `path` atomically, creating parent folders.
    public static func write(_ data: Data, to path: String) throws(Failure) {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } catch {
            let reason = (error as NSError).localizedFailureReason ?? (error as NSError).localizedDescription
            throw Failure(reason: "cannot create folder \(dir): \(reason)")
        }
        let tmp = "\(dir)/.\(url.lastPathComponent).\(getpid()).tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw Failure(reason: String(cString: strerror(errno))) }
        var failure: String?
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = String(cString: strerror(errno))
                    return
                }
                offset += n
            }
        }
        if failure == nil && fsync(fd) != 0 { failure = String(cString: strerror(errno)) }
        if close(fd) != 0 && failure == nil { failure = String(cString: strerror(errno)) }
        if failure == nil && rename(tmp, path) != 0 { failure = String(cString: strerror(errno)) }
        if let failure {
            unlink(tmp)
            throw Failure(reason: failure)
        }
    }
}
