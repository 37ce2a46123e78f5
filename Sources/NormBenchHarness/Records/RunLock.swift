import Foundation
import NormBenchWorkloads

/// One writer per run folder: an exclusive `flock` on `<run>/.normbench-run.lock`,
/// held from before `run.json` is read or written until the sweep ends (the
/// kernel drops it when the process exits, however it exits, so a killed run
/// leaves no stale lock). The file holds the holder's pid, host and start time
/// for the message a second writer gets; it is never read as a record
/// (`RecordStore` reads `cells/*.json` only) and git ignores it.
public final class RunLock {
    /// The lock file's name inside a run folder.
    public static let fileName = ".normbench-run.lock"

    private let fd: Int32
    public let path: String

    private init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    /// Takes the run folder's lock, creating the folder; fails at once if another
    /// process holds it.
    /// - Throws: `HarnessError.mismatch` naming the holder; `.write` when the lock
    ///   file cannot be created.
    public static func acquire(_ folder: String) throws -> RunLock {
        let path = try OutputPath.resolve(fileName, under: folder)
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw HarnessError.write(path: folder, reason: "cannot create the run folder")
        }
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw HarnessError.write(path: path, reason: String(cString: strerror(errno))) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let reason = errno
            var buffer = [UInt8](repeating: 0, count: 512)
            let n = pread(fd, &buffer, buffer.count, 0)
            close(fd)
            guard reason == EWOULDBLOCK else {
                throw HarnessError.write(path: path, reason: "cannot lock: \(String(cString: strerror(reason)))")
            }
            let holder = n > 0 ? String(decoding: buffer[..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "another process"
            throw HarnessError.mismatch(
                "\(folder): another normbench run is writing this folder (\(holder)); wait for it to finish, or pass --out <another folder>")
        }
        let host = ProcessInfo.processInfo.hostName
        let started = ISO8601DateFormatter().string(from: Date())
        let text = Array("pid \(getpid()) on \(host), started \(started)\n".utf8)
        _ = ftruncate(fd, 0)
        _ = text.withUnsafeBufferPointer { pwrite(fd, $0.baseAddress, $0.count, 0) }
        return RunLock(fd: fd, path: path)
    }
}
