import Foundation

/// Finds and runs the built `normbench` executable (the CLI tests exercise the real binary).
///
/// Lookup: `$NORMBENCH_BIN`, else a `normbench` next to the test executable
/// (SwiftPM puts both in `.build/<triple>/<configuration>/`), walking up a few levels
/// for bundle layouts.
enum BuiltBinary {
    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
        /// Ended by a signal (a trap, an abort, a crash), not by exiting.
        var signaled = false
        var stderrLines: [String] { stderr.split(separator: "\n").map(String.init) }
    }

    struct NotFound: Error, CustomStringConvertible {
        var description: String
    }

    /// Starts the binary in the background with its output discarded (for tests that
    /// kill it or race a second process against it); the caller waits or kills.
    static func launch(_ arguments: [String]) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try locate())
        p.arguments = arguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    static func locate() throws -> String {
        if let env = ProcessInfo.processInfo.environment["NORMBENCH_BIN"], FileManager.default.isExecutableFile(atPath: env) {
            return env
        }
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = URL(fileURLWithPath: me).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("normbench").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        throw NotFound(description: "built normbench not found next to \(me); build it (swift build -c release) or set NORMBENCH_BIN")
    }

    /// Runs `normbench <args>`; kills it after `timeout` seconds (a hang is a failure, not a stuck suite).
    /// `environment` is added to this process's own.
    /// `directory`: the working directory (default: this process's).
    static func run(_ args: [String], environment: [String: String] = [:], timeout: Double = 120, directory: String? = nil) throws -> Output {
        try runProcess(try locate(), args, environment: environment, timeout: timeout, directory: directory)
    }

    /// Runs any executable (e.g. `/usr/bin/env mpirun ... normbench ...`) the same way.
    static func runProcess(
        _ executable: String, _ args: [String], environment: [String: String] = [:], timeout: Double = 120, directory: String? = nil
    ) throws -> Output {
        let p = Process()
        if let directory { p.currentDirectoryURL = URL(fileURLWithPath: directory) }
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let collected = Collected()
        let group = DispatchGroup()
        for (pipe, isOut) in [(out, true), (err, false)] {
            group.enter()
            DispatchQueue.global().async {
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                collected.set(data, isOut: isOut)
                group.leave()
            }
        }
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(2000) }
        if p.isRunning { p.terminate() }
        p.waitUntilExit()
        group.wait()
        return Output(status: p.terminationStatus, stdout: String(decoding: collected.out, as: UTF8.self),
                      stderr: String(decoding: collected.err, as: UTF8.self), signaled: p.terminationReason == .uncaughtSignal)
    }

    private final class Collected: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var out = Data(), err = Data()
        func set(_ d: Data, isOut: Bool) {
            lock.lock(); defer { lock.unlock() }
            if isOut { out = d } else { err = d }
        }
    }
}
