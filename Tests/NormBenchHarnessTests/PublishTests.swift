import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
import NormBenchHarness
import NormBenchTestSupport

/// A small video-cls-like sweep: BN's error rises as the batch shrinks, GN's is flat.
private func sweep() -> [ResultRecord] {
    var records: [ResultRecord] = []
    let errors: [String: [Int: [Double]]] = [
        "bn": [2: [0.30, 0.32, 0.34], 8: [0.20, 0.21, 0.22]],
        "gn": [2: [0.25, 0.25, 0.25], 8: [0.24, 0.26, 0.25]],
    ]
    for (norm, byBatch) in errors.sorted(by: { $0.key < $1.key }) {
        for (batch, seeds) in byBatch.sorted(by: { $0.key < $1.key }) {
            for (seed, e) in seeds.enumerated() {
                var r = sampleRecord(norm: norm, batch: batch, seed: seed, top1Error: e)
                r.cell.workload = "video-cls"
                r.memory = Memory(ledgerPeakBytes: batch << 20, ledgerAtPeakBytes: ["activations": (batch - 1) << 20, "parameters": 1 << 20])
                records.append(r)
            }
        }
    }
    return records
}

private func groupSweep() -> [ResultRecord] {
    ["1", "4", "C"].enumerated().map { i, g in
        var r = sampleRecord(norm: "gn", batch: 8, seed: 0, top1Error: 0.3 + 0.01 * Double(i))
        r.cell.workload = "groups"
        r.cell.groups = g
        return r
    }
}

private func text(_ files: [Publisher.File], _ path: String) -> String {
    String(decoding: files.first { $0.path == path }!.contents, as: UTF8.self)
}

@Suite struct PublishTests {
    @Test func sameRecordsGiveIdenticalBytes() throws {
        let records = sweep() + groupSweep()
        let a = try Publisher.render(records)
        let b = try Publisher.render(records.reversed())
        #expect(a == b)
        #expect(a.map(\.path) == [
            "README.md", "cells.csv", "groups-error.svg", "groups-groups.svg", "groups-memory.svg", "groups-paper.md", "groups-throughput.svg", "groups.md",
            "video-cls-error.svg", "video-cls-memory.svg", "video-cls-paper.md", "video-cls-throughput.svg", "video-cls.md",
        ])
        // Through the disk, too: two publishes of the same run folders (one per workload).
        let runs = [scratchDirectory("harness"), scratchDirectory("harness")], out1 = scratchDirectory("harness"), out2 = scratchDirectory("harness")
        for r in records { try RecordStore.write(r, in: runs[r.cell.workload == "groups" ? 0 : 1]) }
        let written = try Publisher.publish(runs: runs, out: out1)
        try Publisher.publish(runs: runs.reversed(), out: out2)
        #expect(written.count == a.count)
        for file in a {
            let d1 = try Data(contentsOf: URL(fileURLWithPath: "\(out1)/\(file.path)"))
            #expect(d1 == file.contents, "\(file.path)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: "\(out2)/\(file.path)")) == d1, "\(file.path)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: out1).filter { $0.hasPrefix(".") }.isEmpty)
    }

    @Test func docsLinksFollowTheOutputFolder() {
        #expect(Publisher.docsLink(from: "Results") == "../docs")
        #expect(Publisher.docsLink(from: "Results/distributed") == "../../docs")
        #expect(Publisher.docsLink(from: "./Results/x/..") == "../docs")
        #expect(Publisher.docsLink(from: "/nowhere/else") == "../docs")
    }

    @Test func accuracyTableIsMeanAndCIOverSeedsWithBestMarked() throws {
        let files = try Publisher.render(sweep())
        let page = text(files, "video-cls.md")
        // bn b2: 30, 32, 34 → 32.0, s = 2.0, t(0.975, 2) · 2.0 / √3 = 5.0; gn b2: 25.0 ± 0.0 (best); bn b8: 21.0 ± 2.5 (best); gn b8: 25.0 ± 2.5.
        #expect(page.contains("| BN | 32.0 ± 5.0 (n=3) | **21.0 ± 2.5 (n=3)** |"), "\(page)")
        #expect(page.contains("| GN (G=4) | **25.0 ± 0.0 (n=3)** | 25.0 ± 2.5 (n=3) |"), "\(page)")
        // The paper's numbers only on the comparison page, labelled as a reference.
        #expect(!page.contains("23.6") && !page.contains("paper (ImageNet"))
        let paper = text(files, "video-cls-paper.md")
        #expect(paper.contains("| BN | 32.0 ± 5.0 (n=3) | 21.0 ± 2.5 (n=3) | 23.6 |"), "\(paper)")
        #expect(paper.contains("| GN (G=4) | 25.0 ± 0.0 (n=3) | 25.0 ± 2.5 (n=3) | – |"))  // the paper's GN is G = 32
        #expect(paper.contains("| BN | 23.6 | 23.7 | 24.8 | 27.3 | 34.7 |"))
        #expect(paper.contains("| GN | 24.1 | 24.2 | 24.0 | 24.2 | 24.1 |"))
        #expect(paper.contains("paper (ImageNet, reference), batch 32"))
        // Provenance under the tables; memory by category in MiB.
        #expect(page.contains("_Machine: test (2 logical CPUs); threads: 2; normbench 0, Swift 6, FFmpeg 5.1, oneDNN 2.6; data: synthetic (48 train / 32 eval clips, digest abc); commit 0; run 2026-01-01._"))
        #expect(page.contains("| method | batch | ledger peak | activations | parameters | process peak | predicted |"))
        #expect(page.contains("| BN | 8 | 8.0 | 7.0 | 1.0 | – | – |"))
        #expect(page.contains("| BN | 20.0 (100 ms) | 20.0 (400 ms) |"))
        // Throughput is the median over seeds (never the fastest seed).
        let busy = sweep().map { r -> ResultRecord in
            var r = r
            if r.cell.norm == "bn" && r.cell.batch == 2 {
                r.throughput!.trainClipsPerSecond = [0: 10.0, 1: 25.0, 2: 5.0][r.cell.seed]!
                r.throughput!.stepSecondsMedian = 2 / r.throughput!.trainClipsPerSecond
            }
            return r
        }
        let busyPage = text(try Publisher.render(busy), "video-cls.md")
        #expect(busyPage.contains("| BN | 10.0 (200 ms) | 20.0 (400 ms) |"), "\(busyPage)")
        #expect(busyPage.contains("Measured during training (shared machine); speed: `normbench bench`."))
        #expect(page.contains("| BN | 20.0 (conv 60) | 20.0 (conv 60) |"))
        let index = text(try Publisher.render(sweep()), "README.md")
        #expect(index.contains("| [video-cls](video-cls.md) | classification | BN, GN (G=4) | 2, 8 | 3 | 12 | 12 |"))
        #expect(index.contains("![video-cls top-1 error vs batch](video-cls-error.svg)"))
    }

    @Test func groupAblationHasThePaperColumns() throws {
        let files = try Publisher.render(groupSweep())
        #expect(text(files, "groups.md").contains("| 1 (= LN) | 30.0 (n=1) † |"), "\(text(files, "groups.md"))")
        let page = text(files, "groups-paper.md")
        #expect(page.contains("| 1 (= LN) | 30.0 (n=1) † | 25.3 | – |"), "\(page)")
        #expect(page.contains("The paper's G = 1 is LN (25.3); its one channel per group is IN (28.4)."), "\(page)")
        #expect(page.contains("| 4 | 31.0 (n=1) † | 24.6 | – |"))
        #expect(page.contains("| C (= IN) | 32.0 (n=1) † | – | 28.4 |"))
    }

    /// The paper reports some models in more than one table: Table 3's G = 1 is
    /// Table 1's LN, its one channel per group Table 1's IN, its G = 32 and
    /// Table 2's batch 32 Table 1's GN and BN. The transcriptions must agree.
    @Test func paperNumbersAgreeAcrossTables() {
        let t1 = PaperReference.errorAt32
        #expect(PaperReference.errorByGroups[1] == t1["ln"])
        #expect(PaperReference.errorByChannelsPerGroup[1] == t1["in"])
        #expect(PaperReference.errorByGroups[32] == t1["gn"])
        #expect(PaperReference.errorByBatch["gn"]?[32] == t1["gn"])
        #expect(PaperReference.errorByBatch["bn"]?[32] == t1["bn"])
    }

    @Test func overBudgetCellsAreMarked() throws {
        var records = sweep()
        for i in records.indices where records[i].cell.norm == "bn" && records[i].cell.batch == 8 {
            records[i].status = .overBudget
            records[i].accuracy = nil
        }
        let page = text(try Publisher.render(records), "video-cls.md")
        #expect(page.contains("| BN | 32.0 ± 5.0 (n=3) | over budget |"), "\(page)")
        #expect(page.contains("| GN (G=4) | **25.0 ± 0.0 (n=3)** | **25.0 ± 2.5 (n=3)** |"))
        #expect(page.contains("| BN | 8 | 2 | over-budget | – |"))
    }

    @Test func detectionPageShowsMAP() throws {
        let records = [("bn", 0.40), ("gn", 0.50)].map { norm, ap -> ResultRecord in
            var r = sampleRecord(norm: norm, batch: 2)
            r.cell.workload = "video-det"
            r.task = "detection"
            r.accuracy = Accuracy(mAP50: ap, mAP: ap / 2)
            return r
        }
        let files = try Publisher.render(records)
        let page = text(files, "video-det.md")
        #expect(page.contains("| BN | 40.0 (n=1) † |"), "\(page)")
        #expect(page.contains("| GN (G=4) | **50.0 (n=1) †** |"))
        #expect(page.contains("the pages of the fine-tuning workloads (`video-det-transfer`) set FAIR Detectron's published numbers beside their own"))
        #expect(files.contains { $0.path == "video-det-map.svg" })
        #expect(!files.contains { $0.path == "video-det-error.svg" })
    }

    @Test func csvHasEveryCell() throws {
        let records = sweep()
        let csv = text(try Publisher.render(records), "cells.csv").split(separator: "\n", omittingEmptySubsequences: false)
        #expect(csv.count == records.count + 2)  // header, rows, final empty line
        let header = csv[0].split(separator: ",")
        #expect(csv.dropFirst().dropLast().allSatisfy { $0.split(separator: ",", omittingEmptySubsequences: false).count == header.count })
        #expect(csv[1].hasPrefix("video-cls,bn,2,1,-,0,2,completed,classification,0.3,,,,1.2,10,2,20.0,"), "\(csv[1])")
    }

    @Test func chartsAreWellFormedSVG() throws {
        for file in try Publisher.render(sweep() + groupSweep()) where file.path.hasSuffix(".svg") {
            let doc = try XMLDocument(data: file.contents)
            #expect(doc.rootElement()?.name == "svg", "\(file.path)")
            let svg = String(decoding: file.contents, as: UTF8.self)
            #expect(svg.contains("viewBox=\"0 0 760 460\""))
            #expect(!svg.contains("nan") && !svg.contains("inf"), "\(file.path)")
        }
        let error = text(try Publisher.render(sweep()), "video-cls-error.svg")
        // Two methods: two legend entries with n, two lines, 2 × 2 points; y ticks cover the 95 % CI bars, 18.5...37 %.
        #expect(error.contains(">BN (n=3)</text>") && error.contains(">GN (G=4) (n=3)</text>"))
        #expect(error.components(separatedBy: "<polyline").count - 1 == 2)
        #expect(error.components(separatedBy: "<circle").count - 1 == 4 + 2)
        #expect(error.contains(">15</text>") && error.contains(">40</text>") && !error.contains(">45</text>"), "\(error)")
        #expect(text(try Publisher.render(sweep()), "video-cls-memory.svg").contains("peak memory (MiB, linear scale)"))
    }

    /// Seeds that scatter give a Student-t interval past 0 %: the bar is cut at 0 with an
    /// arrowhead, the axis starts at 0, and the legend says so; an uncut chart says nothing.
    @Test func errorBarsAreCutAtZeroAndHundredPercent() throws {
        var records = sweep()
        for (seed, e) in [0.02, 0.60, 0.05].enumerated() {
            var r = sampleRecord(norm: "ln", batch: 2, seed: seed, top1Error: e)
            r.cell.workload = "video-cls"
            records.append(r)
        }
        let error = text(try Publisher.render(records), "video-cls-error.svg")
        // LN at 2: mean 22.3 %, 95 % half-width 81.1: [−58.8, 103.4], cut at both ends.
        #expect(error.contains(">0</text>") && !error.contains(">-"), "\(error)")
        #expect(error.contains(">100</text>") && !error.contains(">120</text>"), "\(error)")
        #expect(error.contains(">interval cut at 0-100</text>"), "\(error)")
        #expect(error.matches(of: /L\d/).count == 6, "\(error)")  // two arrowheads and the legend's, two strokes each
        #expect(!text(try Publisher.render(sweep()), "video-cls-error.svg").contains("interval cut"))
    }

    @Test func badRecordIsNamedAndNothingIsWritten() throws {
        let run = scratchDirectory("harness"), out = scratchDirectory("harness") + "/Results"
        for r in sweep() { try RecordStore.write(r, in: run) }
        try Data("{\"schema\": 1}".utf8).write(to: URL(fileURLWithPath: "\(run)/cells/broken.json"))
        do {
            try Publisher.publish(runs: [run], out: out)
            Issue.record("publish accepted a broken record")
        } catch let error as HarnessError {
            #expect("\(error)".hasPrefix("\(run)/cells/broken.json: cannot read result record (not a normbench result record: missing `cell`)"), "\(error)")
        }
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test func duplicateCellsAcrossRunsAreAnError() throws {
        let a = scratchDirectory("harness"), b = scratchDirectory("harness")
        try RecordStore.write(sweep()[0], in: a)
        try RecordStore.write(sweep()[0], in: b)
        #expect(throws: HarnessError.self) { try Publisher.readRecords([a, b]) }
        #expect(throws: HarnessError.self) { try Publisher.readRecords([scratchDirectory("harness")]) }
    }
}
