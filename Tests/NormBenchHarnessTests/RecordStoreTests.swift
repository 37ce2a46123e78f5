import Foundation
import Testing
import NormBenchHarness
import NormBenchTestSupport

/// A record with made-up numbers, for tests of storage and rendering only.
func sampleRecord(norm: String = "gn", batch: Int = 2, seed: Int = 0, top1Error: Double = 0.25) -> ResultRecord {
    ResultRecord(
        cell: CellKey(workload: "smoke", norm: norm, batch: batch, workers: 1, groups: norm == "gn" ? "4" : "-", seed: seed, threads: 2),
        status: .completed, task: "classification",
        accuracy: Accuracy(top1Error: top1Error, evalLoss: 1.2),
        training: TrainingSummary(steps: 10, epochs: 2, samplesPerStep: batch, learningRate: 0.01, lossCurve: [LossPoint(step: 1, loss: 1.4)]),
        throughput: Throughput(trainClipsPerSecond: 20, stepSecondsMedian: Double(batch) / 20, stepSecondsP90: 0.12, evalClipsPerSecond: 60),
        timeShare: TimeShare(convolution: 0.6, normalization: 0.2, other: 0.2),
        memory: Memory(ledgerPeakBytes: 1 << 20, ledgerAtPeakBytes: ["activations": 1 << 19, "parameters": 1 << 19]),
        calibration: Calibration(convGFLOPS: 100, bandwidthGBps: 15),
        data: DataSummary(description: "synthetic", trainClips: 48, evalClips: 32, digest: "abc"),
        environment: Environment(
            cpuModel: "test", cpuFeatures: [], buildTargetFeatures: [], logicalCPUs: 2, normbenchVersion: "0",
            swiftVersion: "6", ffmpegVersion: "5.1", oneDNNVersion: "2.6", gitCommit: "0", date: "2026-01-01T00:00:00Z"))
}


@Suite struct RecordStoreTests {
    @Test func roundTripIsByteStable() throws {
        let run = scratchDirectory("harness")
        let records = [sampleRecord(norm: "gn"), sampleRecord(norm: "bn", batch: 8)]
        for r in records { try RecordStore.write(r, in: run) }
        let read = try RecordStore.readAll(run)
        #expect(read == records.sorted { $0.cell < $1.cell })
        let path = RecordStore.path(of: records[0].cell, in: run)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        try RecordStore.write(records[0], in: run)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        // No temporary files left behind.
        let files = try FileManager.default.contentsOfDirectory(atPath: "\(run)/cells")
        #expect(files.sorted() == ["bn_b8_w1_g-_s0_t2.json", "gn_b2_w1_g4_s0_t2.json"])
    }

    /// Records written before the evaluation section (a fixture from an earlier
    /// version) read as they are, without it; a record with it writes and reads
    /// back in the documented shape.
    @Test func evaluationSectionIsOptionalAndRoundTrips() throws {
        let committed = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Tests/Fixtures/legacy-records/groups/20261125T175512/cells/gn_b8_w1_g1_s0_t2.json").path
        let old = try RecordStore.read(path: committed)
        #expect(old.evaluation == nil && old.channelsPerGroup == nil && old.accuracy?.top1Error != nil)

        var record = sampleRecord()
        let plain = String(decoding: try RecordStore.encode(record), as: UTF8.self)
        #expect(!plain.contains("\"evaluation\"") && !plain.contains("channelsPerGroup"))
        record.channelsPerGroup = [4, 4, 8, 16]
        record.evaluation = EvaluationSection(
            protocol: "median of last 2 of 2 evaluations",
            runs: [.init(step: 8, epoch: 1.5, metrics: ["top1Error": 0.5, "evalLoss": 1.1], precise: ["top1Error": 0.25, "evalLoss": 0.9]),
                   .init(step: 10, epoch: 2, metrics: ["top1Error": 0.25, "evalLoss": 1.0])],
            precise: ["top1Error": 0.25], labels: [0, 1, 1], predictions: [0, 1, 0], confusion: [[1, 0], [1, 1]])
        let run = scratchDirectory("harness")
        try RecordStore.write(record, in: run)
        let path = RecordStore.path(of: record.cell, in: run)
        #expect(try RecordStore.read(path: path) == record)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        let e = try #require(json["evaluation"] as? [String: Any])
        #expect(Set(e.keys) == ["protocol", "runs", "precise", "labels", "predictions", "confusion"])
        #expect(e["protocol"] as? String == "median of last 2 of 2 evaluations")
        let runs = try #require(e["runs"] as? [[String: Any]])
        #expect(Set(runs[0].keys) == ["step", "epoch", "metrics", "precise"] && Set(runs[1].keys) == ["step", "epoch", "metrics"])
        #expect(e["confusion"] as? [[Int]] == [[1, 0], [1, 1]])
        #expect(json["channelsPerGroup"] as? [Int] == [4, 4, 8, 16])
    }

    @Test func longLossCurvesAreAveragedIntoAtMostMaximumPoints() {
        let short = (0..<10).map { (step: $0, loss: Double($0)) }
        #expect(LossPoint.curve(short) == short.map { LossPoint(step: $0.step, loss: $0.loss) })
        let long = (0..<3000).map { (step: $0, loss: Double($0 % 3)) }
        let curve = LossPoint.curve(long, maximumPoints: 1000)
        #expect(curve.count == 1000)
        #expect(curve.first == LossPoint(step: 2, loss: 1) && curve.last == LossPoint(step: 2999, loss: 1))
        let uneven = LossPoint.curve((0..<10).map { (step: $0, loss: Double($0)) }, maximumPoints: 4)
        #expect(uneven == [LossPoint(step: 1, loss: 0.5), LossPoint(step: 4, loss: 3), LossPoint(step: 6, loss: 5.5), LossPoint(step: 9, loss: 8)])
    }

    @Test func corruptRecordIsNamed() throws {
        let run = scratchDirectory("harness")
        try RecordStore.write(sampleRecord(), in: run)
        let bad = "\(run)/cells/bad.json"
        try Data("{\"schema\": 1, \"cell\": ".utf8).write(to: URL(fileURLWithPath: bad))
        #expect(throws: HarnessError.read(path: "\(run)/./cells/bad.json".replacingOccurrences(of: "/./", with: "/"), reason: "not a normbench result record: invalid JSON")) {
            try RecordStore.readAll(run)
        }
    }

    /// A write that fails midway (disk full as root on a tiny tmpfs; a read-only
    /// folder otherwise) throws, keeps the old record and leaves no temporary file.
    @Test func failedWriteKeepsTheOldFile() throws {
        let run = scratchDirectory("harness")
        let mounted = getuid() == 0 && shell("mount -t tmpfs -o size=64k tmpfs \(run)") == 0
        defer { if mounted { _ = shell("umount \(run)") } }
        let record = sampleRecord()
        try RecordStore.write(record, in: run)
        let path = RecordStore.path(of: record.cell, in: run)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        if mounted {
            _ = shell("dd if=/dev/zero of=\(run)/filler bs=4k count=64 2>/dev/null")
        } else {
            chmod("\(run)/cells", 0o500)
        }
        defer { chmod("\(run)/cells", 0o755) }
        var big = sampleRecord(top1Error: 0.5)
        big.training?.lossCurve = (0..<2000).map { LossPoint(step: $0, loss: 1) }
        do {
            try RecordStore.write(big, in: run)
            Issue.record("write to a full or read-only folder succeeded")
        } catch let error as HarnessError {
            #expect("\(error)".contains(mounted ? "No space left on device" : "Permission denied"), "\(error)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(run)/cells") == [URL(fileURLWithPath: path).lastPathComponent])
    }
}

/// Runs a shell command, returns its exit status.
func shell(_ command: String) -> Int32 {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = ["-c", command]
    do { try p.run() } catch { return -1 }
    p.waitUntilExit()
    return p.terminationStatus
}
