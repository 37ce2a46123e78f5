import Foundation
import NormBenchEngine
import NormBenchVideo

extension Environment {
    /// The machine, build and libraries this process runs with, and the git commit
    /// of the working directory (or "unknown" outside a checkout; "+dirty" when it has changes).
    public static func current(date: Date = Date()) -> Environment {
        Environment(
            cpuModel: BuildInfo.cpuModel, cpuFeatures: BuildInfo.cpuFeatures,
            buildTargetFeatures: BuildInfo.targetFeatures, logicalCPUs: BuildInfo.logicalCPUs,
            normbenchVersion: "\(BuildInfo.version) (\(BuildInfo.configuration))", swiftVersion: swiftCompilerVersion,
            ffmpegVersion: FFmpegLibraries.version, oneDNNVersion: BuildInfo.oneDNNVersion,
            gitCommit: gitCommit(), date: ISO8601DateFormatter().string(from: date))
    }

    static var swiftCompilerVersion: String {
        #if compiler(>=6.4)
        return "6.4+"
        #elseif compiler(>=6.3)
        return "6.3"
        #elseif compiler(>=6.2)
        return "6.2"
        #elseif compiler(>=6.1)
        return "6.1"
        #else
        return "6.0"
        #endif
    }

    static func gitCommit() -> String {
        func git(_ args: [String]) -> String? {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["git"] + args
            let out = Pipe()
            p.standardOutput = out
            p.standardError = FileHandle.nullDevice
            do { try p.run() } catch { return nil }
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            guard p.terminationStatus == 0 else { return nil }
            return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard let head = git(["rev-parse", "--short=12", "HEAD"]) else { return "unknown" }
        let dirty = git(["status", "--porcelain", "--untracked-files=no"]).map { !$0.isEmpty } ?? false
        return dirty ? "\(head)+dirty" : head
    }
}
