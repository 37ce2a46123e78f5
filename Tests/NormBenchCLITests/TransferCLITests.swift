import Foundation
import Testing
import NormBenchTestSupport

/// The transfer setting as a user runs it, on tiny workloads: `normbench run
/// pre` (models saved), then `normbench run ft` whose `model.init: {workload:
/// pre}` takes each method's checkpoint from pre's newest complete run, with
/// from-scratch cells beside them; `normbench publish` shows the transfer table.
@Suite(.serialized) struct TransferCLITests {
    static func pretrain(norms: String) -> String {
        """
        name: pre
        task: classification
        data:
          cache: .cache
          synthetic: {trainClips: 8, evalClips: 4, classes: 2, frames: 6, width: 16, height: 16}
        clip: {frames: 2, stride: 1, size: 16}
        model: {architecture: resnet3d-tiny-dense, widths: [4, 8], blocks: [1, 1]}
        training: {steps: 3, warmupSteps: 0, baseLR: 0.05, referenceBatch: 2, saveModel: true}
        sweep: {norms: \(norms), batches: [4], groups: [2], seeds: [0], threads: [1]}
        """
    }

    static func fineTune(norms: String, scratch: String) -> String {
        """
        name: ft
        task: detection
        data:
          cache: .cache
          synthetic: {trainClips: 8, evalClips: 4, classes: 2, objects: 1, frames: 6, width: 16, height: 16}
        clip: {frames: 2, stride: 1, size: 16}
        model: {architecture: resnet3d-tiny-dense, widths: [4, 8], blocks: [1, 1], init: {workload: pre}}
        training: {steps: 3, warmupSteps: 0, baseLR: 0.01, referenceBatch: 2, workers: 2}
        sweep: {norms: \(norms), scratch: \(scratch), batches: [1], groups: [2], seeds: [0], threads: [1]}
        """
    }

    let folder = scratchDirectory("transfer-cli")

    func write(_ text: String, _ name: String) throws {
        try text.write(toFile: "\(folder)/\(name)", atomically: true, encoding: .utf8)
    }

    func json(_ path: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(folder)/\(path)"))) as? [String: Any])
    }

    func runs(_ workload: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "\(folder)/Results/\(workload)")) ?? []).sorted()
    }

    func run(_ workload: String) throws -> BuiltBinary.Output {
        try BuiltBinary.run(["run", "\(workload).yaml"], timeout: 600, directory: folder)
    }

    @Test func pretrainThenFineTune() throws {
        try write(Self.fineTune(norms: "[frozenbn, bn, gn]", scratch: "[bn]"), "ft.yaml")
        // Nothing pretrained yet: one line naming what to run first, exit 2, no run folder.
        let early = try run("ft")
        #expect(early.status == 2)
        #expect(early.stderrLines == ["normbench run: model.init: Results/pre holds no run of pre (fine-tuning starts from its newest complete run); run `normbench run pre` first"])
        #expect(runs("ft").isEmpty)

        // A pretraining run without gn: the gn cells have nothing to start from.
        try write(Self.pretrain(norms: "[bn]"), "pre.yaml")
        let bnOnly = try run("pre")
        #expect(bnOnly.status == 0, "stderr: \(bnOnly.stderr)")
        let first = try #require(runs("pre").first)
        let noGN = try run("ft")
        #expect(noGN.status == 2)
        #expect(noGN.stderrLines == ["normbench run: model.init: Results/pre/\(first) (the newest complete run of pre) has no completed gn (G=2) cell with a saved model, which gn starts from; add it to pre's sweep.norms (with training.saveModel: true) and run `normbench run pre` first"])
        #expect(runs("ft").isEmpty)

        // The newer run has both; the fine-tuning run takes it.
        try write(Self.pretrain(norms: "[bn, gn]"), "pre.yaml")
        Thread.sleep(forTimeInterval: 1.1)  // run folders are named by the second
        let both = try run("pre")
        #expect(both.status == 0, "stderr: \(both.stderr)")
        let newest = try #require(runs("pre").last)
        #expect(newest != first)
        let tuned = try run("ft")
        #expect(tuned.status == 0, "stderr: \(tuned.stderr)")
        #expect(tuned.stderrLines.contains { $0.hasPrefix("normbench run: note: model.init: pre's newest complete run Results/pre/\(newest): ") })
        let ft = try #require(runs("ft").first)
        let preRun = "Results/pre/\(newest)"
        for (cell, from) in [("frozenbn_b1_w2_g-_s0_t1", "bn_b4_w1_g-_s0_t1"), ("bn_b1_w2_g-_s0_t1", "bn_b4_w1_g-_s0_t1"), ("gn_b1_w2_g2_s0_t1", "gn_b4_w1_g2_s0_t1")] {
            let record = try json("Results/ft/\(ft)/cells/\(cell).json")
            let started = try #require(record["startedFrom"] as? [String: String], "\(cell)")
            #expect(started["cell"] == from && started["workload"] == "pre" && started["run"] == preRun)
            #expect(started["path"] == "\(preRun)/models/\(from).safetensors")
            // The hash is the file's, as sha256sum prints it, and the pretraining record's.
            let sum = try BuiltBinary.runProcess("/usr/bin/env", ["sha256sum", "\(folder)/\(preRun)/models/\(from).safetensors"])
            #expect(started["sha256"] == String(sum.stdout.prefix(64)))
            let pre = try json("\(preRun)/cells/\(from).json")
            #expect((pre["checkpoint"] as? [String: String])?["sha256"] == started["sha256"])
            #expect((record["cell"] as? [String: Any])?["scratch"] == nil)
        }
        let scratch = try json("Results/ft/\(ft)/cells/bn_b1_w2_g-_s0_t1_scratch.json")
        #expect(scratch["startedFrom"] == nil)
        #expect((scratch["cell"] as? [String: Any])?["scratch"] as? Bool == true)
        #expect(scratch["status"] as? String == "completed" || scratch["status"] as? String == "failed")

        // The published page has the transfer table; the CSV tells the rows apart.
        let published = try BuiltBinary.run(["publish", "Results/ft/\(ft)"], timeout: 120, directory: folder)
        #expect(published.status == 0, "stderr: \(published.stderr)")
        let page = try String(contentsOfFile: "\(folder)/Results/ft/\(ft)/ft.md", encoding: .utf8)
        #expect(page.contains("## Transfer: fine-tuned from a pretrained model vs from scratch"))
        #expect(page.contains("| BN from scratch | random initialization (seeded) |"), "\(page)")
        let csv = try String(contentsOfFile: "\(folder)/Results/ft/\(ft)/cells.csv", encoding: .utf8)
        #expect(csv.contains(",scratch,,,,,"))
        #expect(csv.contains(",checkpoint,pre,\(preRun),gn_b4_w1_g2_s0_t1,"))
    }
}
