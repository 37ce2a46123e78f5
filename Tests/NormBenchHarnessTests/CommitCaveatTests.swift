import Foundation
import Testing
import NormBenchHarness
import NormBenchTestSupport

/// Records name the working directory's commit; `Environment.commitCaveat` says when
/// that may not be the running binary's code.
@Suite struct CommitCaveatTests {
    private func git(_ repo: String, _ args: String...) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["git", "-C", repo, "-c", "user.name=t", "-c", "user.email=t@example.com"] + args
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "git \(args)")
    }

    private func touch(_ path: String, _ date: Date) throws {
        try FileManager.default.setAttributes([.modificationDate: date], ofItemAtPath: path)
    }

    @Test func namesABinaryFromElsewhereOrOlderThanTheSources() throws {
        let repo = scratchDirectory("caveat-repo"), source = "\(repo)/Sources/a/a.swift"
        try FileManager.default.createDirectory(atPath: "\(repo)/Sources/a", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "\(repo)/.build/release", withIntermediateDirectories: true)
        try Data("let a = 1\n".utf8).write(to: URL(fileURLWithPath: source))
        try git(repo, "init", "-q")
        try git(repo, "add", "Sources")
        try git(repo, "commit", "-q", "-m", "a")
        let binary = "\(repo)/.build/release/tool"
        try Data("binary".utf8).write(to: URL(fileURLWithPath: binary))
        // Built after its sources were written, then committed: nothing to say.
        try touch(source, Date(timeIntervalSinceNow: -3600))
        #expect(Environment.commitCaveat(executable: binary, directory: repo) == nil)
        #expect(Environment.commitCaveat(executable: binary, directory: "\(repo)/Sources") == nil)
        // A source edited or checked out after the build.
        try touch(source, Date(timeIntervalSinceNow: 60))
        let stale = Environment.commitCaveat(executable: binary, directory: repo)
        #expect(stale?.hasPrefix("Sources/a/a.swift is newer than this binary") == true, "\(stale ?? "nil")")
        // A binary built elsewhere.
        let elsewhere = scratchDirectory("caveat-bin") + "/tool"
        try Data("binary".utf8).write(to: URL(fileURLWithPath: elsewhere))
        let foreign = Environment.commitCaveat(executable: elsewhere, directory: repo)
        #expect(foreign?.contains("was not built in") == true, "\(foreign ?? "nil")")
        // Outside any checkout, records say "unknown" and there is no caveat.
        #expect(Environment.commitCaveat(executable: elsewhere, directory: scratchDirectory("caveat-none")) == nil)
    }
}
