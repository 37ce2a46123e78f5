import Foundation
import Testing
import NormBenchTestSupport

/// scripts/study.sh with a stand-in for normbench that logs its arguments and
/// makes the run folder's run.json, as `normbench run` does: the order of the
/// runs, --resume exactly when a folder holds a run, a failed run reported at
/// the end without stopping the others, and bad arguments refused.
@Suite struct StudyScriptCLITests {
    let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// Runs the script in a fresh folder; returns (exit status, stderr, the logged runs).
    private func study(_ args: [String], in dir: String, failing: String = "") throws -> (status: Int32, stderr: String, runs: [String]) {
        let fake = "\(dir)/fake-normbench"
        if !FileManager.default.fileExists(atPath: fake) {
            let script = """
            #!/usr/bin/env bash
            echo "$*" >> "$FAKE_LOG"
            while [ $# -gt 0 ]; do [ "$1" = --out ] && { mkdir -p "$2"; touch "$2/run.json"; }; shift; done
            [ -n "$FAKE_FAIL" ] && grep -q -- "$FAKE_FAIL" <(tail -n 1 "$FAKE_LOG") && exit 1
            exit 0
            """
            try script.write(toFile: fake, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: fake)
        }
        let log = "\(dir)/log"
        try? FileManager.default.removeItem(atPath: log)
        let r = try BuiltBinary.runProcess("/bin/bash", ["\(repository)/scripts/study.sh"] + args,
                                           environment: ["NORMBENCH": fake, "FAKE_LOG": log, "FAKE_FAIL": failing], directory: dir)
        let runs = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        return (r.status, r.stderr, runs)
    }

    @Test func runsEachSeedInItsFolderAndResumesWhatStarted() throws {
        let dir = scratchDirectory("study-script")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try study(["--out", "out", "video-det", "transfer"], in: dir)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.runs == [
            "run video-det --seeds 0 --out out/video-det/workers-1/seed-0",
            "run video-det --workers 2 --norms bn,syncbn --seeds 0 --out out/video-det/workers-2/seed-0",
            "run video-det --seeds 1 --out out/video-det/workers-1/seed-1",
            "run video-det --workers 2 --norms bn,syncbn --seeds 1 --out out/video-det/workers-2/seed-1",
            "run video-det --seeds 2 --out out/video-det/workers-1/seed-2",
            "run video-det --workers 2 --norms bn,syncbn --seeds 2 --out out/video-det/workers-2/seed-2",
            "run video-pretrain --seeds 0 --out Results/video-pretrain/seed-0",
            "run video-det-transfer --seeds 0 --out out/video-det-transfer/seed-0",
            "run video-det-transfer --seeds 1 --out out/video-det-transfer/seed-1",
            "run video-det-transfer --seeds 2 --out out/video-det-transfer/seed-2",
        ], "\(first.runs)")
        let longer = try study(["--out", "out", "transfer-2x"], in: dir)
        #expect(longer.status == 0, "\(longer.stderr)")
        #expect(longer.runs == [
            "run video-pretrain --seeds 0 --out Results/video-pretrain/seed-0 --resume",
            "run video-det-transfer-2x --seeds 0 --out out/video-det-transfer-2x/seed-0",
            "run video-det-transfer-2x-long --seeds 0 --out out/video-det-transfer-2x-long/seed-0",
            "run video-det-transfer-2x --seeds 1 --out out/video-det-transfer-2x/seed-1",
            "run video-det-transfer-2x-long --seeds 1 --out out/video-det-transfer-2x-long/seed-1",
            "run video-det-transfer-2x --seeds 2 --out out/video-det-transfer-2x/seed-2",
            "run video-det-transfer-2x-long --seeds 2 --out out/video-det-transfer-2x-long/seed-2",
        ], "\(longer.runs)")
        let again = try study(["--out", "out", "video-det", "transfer"], in: dir)
        #expect(again.status == 0)
        #expect(again.runs.count == 10 && again.runs.allSatisfy { $0.hasSuffix(" --resume") }, "\(again.runs)")
        let cls = try study(["--out", "out", "video-cls"], in: dir)
        #expect(cls.runs.count == 11 && cls.runs.allSatisfy { !$0.hasSuffix(" --resume") }, "\(cls.runs)")
        #expect(cls.runs[0] == "run video-cls --seeds 0 --out out/video-cls/seed-0" && cls.runs[2] == "run video-cls-ghost --seeds 0 --out out/video-cls-ghost/seed-0")
        #expect(cls.runs.last == "run video-cls --seeds 4 --out out/video-cls/seed-4")
    }

    @Test func aFailedRunIsReportedAndTheRestStillRuns() throws {
        let dir = scratchDirectory("study-script")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try study(["--out", "out", "groups"], in: dir, failing: "--seeds 1 ")
        #expect(r.status == 1)
        #expect(r.runs.count == 3, "\(r.runs)")
        #expect(r.stderr.contains("these runs exited non-zero (see above); rerun the same command to retry their missing cells: out/groups/seed-1\n"), "\(r.stderr)")
    }

    @Test func unknownPartIsRefused() throws {
        let dir = scratchDirectory("study-script")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try study(["video-clss"], in: dir)
        #expect(r.status == 64)
        #expect(r.stderr == "scripts/study.sh: unknown argument 'video-clss'; parts are video-cls, groups, video-det, transfer, transfer-2x\n")
        #expect(r.runs.isEmpty)
    }
}
