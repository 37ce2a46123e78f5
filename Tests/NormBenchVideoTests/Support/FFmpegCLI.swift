import Foundation
import NormBenchTestSupport

/// Runs the ffmpeg CLI (the reference) and makes fixtures in a temporary directory.
enum FFmpegCLI {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Runs `ffmpeg -v error -y <args>` and returns stdout; throws with stderr on failure.
    @discardableResult
    static func run(_ args: [String]) throws -> Data {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-y"] + args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Read both pipes concurrently so a full stderr cannot block the child.
        nonisolated(unsafe) var errData = Data()
        let errThread = Thread { errData = err.fileHandleForReading.readDataToEndOfFile() }
        errThread.start()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        while !errThread.isFinished { usleep(1000) }
        if p.terminationStatus != 0 {
            throw Failure(description: "ffmpeg \(args.joined(separator: " ")) failed: \(String(decoding: errData, as: UTF8.self))")
        }
        return data
    }

    /// The CLI's frames of `file` scaled to `width`×`height` RGB24 (bilinear, no autorotate, every frame).
    static func referenceFrames(_ file: String, width: Int, height: Int) throws -> [UInt8] {
        let data = try run(["-noautorotate", "-i", file, "-map", "0:v:0", "-vf", "scale=\(width):\(height):flags=bilinear",
                            "-pix_fmt", "rgb24", "-fps_mode", "passthrough", "-f", "rawvideo", "-"])
        return [UInt8](data)
    }

    /// A fresh temporary directory.
    static func temporaryDirectory(_ label: String) -> String { scratchDirectory(label) }
}

/// Fixtures shared by the suites: made once per test process, on first use.
final class Fixtures: @unchecked Sendable {
    static let shared = Fixtures()
    let dir = FFmpegCLI.temporaryDirectory("video-fixtures")
    private let lock = NSLock()
    private var made: [String: String] = [:]

    /// The path of fixture `name`, made with `ffmpeg <args> <path>` on first use.
    func file(_ name: String, _ args: [String]) throws -> String {
        try make(name) { path in try FFmpegCLI.run(args + [path]) }
    }

    /// The path of fixture `name`, made by `body(path)` on first use.
    func make(_ name: String, _ body: (String) throws -> Void) throws -> String {
        lock.lock()
        defer { lock.unlock() }
        if let p = made[name] { return p }
        let path = "\(dir)/\(name)"
        try body(path)
        made[name] = path
        return path
    }
}
