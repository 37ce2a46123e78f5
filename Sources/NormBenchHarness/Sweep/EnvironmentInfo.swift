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

    /// `git -C directory args...`'s output, trimmed; nil when git is missing or fails.
    static func git(_ args: [String], in directory: String = FileManager.default.currentDirectoryPath) -> String? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["git", "-C", directory] + args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func gitCommit() -> String {
        guard let head = git(["rev-parse", "--short=12", "HEAD"]) else { return "unknown" }
        let dirty = git(["status", "--porcelain", "--untracked-files=no"]).map { !$0.isEmpty } ?? false
        return dirty ? "\(head)+dirty" : head
    }

    /// The running program's file (Linux: /proc/self/exe).
    public static var executablePath: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// Why the commit that records name (`directory`'s checkout, see `gitCommit`) may not be
    /// the code of `executable`: the binary lies outside that checkout, or one of the
    /// checkout's tracked files under Sources or Package.swift is newer than it (edited or
    /// checked out after the build: what `make` would call out of date).
    /// Nil outside a checkout (records then say "unknown") and when neither holds.
    public static func commitCaveat(executable: String = executablePath, directory: String = FileManager.default.currentDirectoryPath) -> String? {
        guard let top = git(["rev-parse", "--show-toplevel"], in: directory) else { return nil }
        let root = URL(fileURLWithPath: top).resolvingSymlinksInPath().path
        let binary = URL(fileURLWithPath: executable).resolvingSymlinksInPath().path
        guard binary.hasPrefix(root + "/") else {
            return "this binary (\(binary)) was not built in \(root), whose commit the records name; run the one built there (swift build -c release)"
        }
        func modified(_ path: String) -> Date? { (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date }
        guard let built = modified(binary), let files = git(["ls-files", "--", "Sources", "Package.swift"], in: root),
              let newer = files.split(separator: "\n").first(where: { modified("\(root)/\($0)").map { $0 > built } ?? false }) else { return nil }
        return "\(newer) is newer than this binary, so the commit the records name (of \(root)) may not be its code; rebuild it (swift build -c release)"
    }
}
