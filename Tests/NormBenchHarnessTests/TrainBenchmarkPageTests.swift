import Foundation
import Testing
import NormBenchHarness
import NormBenchTestSupport

/// BN and GN at batch 2 and 8, two seeds, with clips/s from training that a
/// benchmark must replace.
private func records() -> [ResultRecord] {
    var out: [ResultRecord] = []
    for norm in ["bn", "gn"] {
        for batch in [2, 8] {
            for seed in [0, 1] {
                var r = sampleRecord(norm: norm, batch: batch, seed: seed, top1Error: 0.3)
                r.cell.workload = "video-cls"
                r.throughput!.trainClipsPerSecond = 77.7
                r.throughput!.stepSecondsMedian = 0.0333
                out.append(r)
            }
        }
    }
    return out
}

/// A benchmark file as a maintainer's run would write it, by hand: GN at batch 8 not measured.
private let benchFile = """
{
  "schema": 1,
  "kind": "bench-train",
  "workload": "video-cls",
  "command": "normbench bench train video-cls --repeats 3 --out Results/video-cls/bench.json",
  "settings": {"warmupSteps": 3, "timedSteps": 20, "repeats": 3, "seed": 0, "learningRate": 0.001,
               "input": "synthetic", "order": "round-robin"},
  "environment": {"cpuModel": "Test CPU 9000", "cpuFeatures": [], "buildTargetFeatures": [], "logicalCPUs": 2,
                  "normbenchVersion": "0.1.0 (release)", "swiftVersion": "6.3", "ffmpegVersion": "5.1", "oneDNNVersion": "2.6.3",
                  "gitCommit": "abc123def456", "date": "2026-12-06T01:02:03Z"},
  "machine": {"oneDNNISA": "avx512_core", "caches": "L1d 48K", "ompWaitPolicy": "passive", "loadAverageStart": 0.1, "loadAverageEnd": 0.2},
  "calibration": [
    {"threads": 2, "after": 0, "convGFLOPS": 500, "bandwidthGBps": 20},
    {"threads": 2, "after": 1, "convGFLOPS": 505, "bandwidthGBps": 20},
    {"threads": 2, "after": 2, "convGFLOPS": 495, "bandwidthGBps": 20},
    {"threads": 2, "after": 3, "convGFLOPS": 500, "bandwidthGBps": 21}
  ],
  "cells": [
    \(cell("bn", 2, "-", median: 512.3, min: 498.04, max: 520.4, ms: 0.0039)),
    \(cell("bn", 8, "-", median: 900.0, min: 880.0, max: 910.0, ms: 0.0089)),
    \(cell("gn", 2, "4", median: 430.5, min: 420.0, max: 431.0, ms: 0.00466))
  ]
}
"""

private func cell(_ norm: String, _ batch: Int, _ groups: String, median: Double, min: Double, max: Double, ms: Double) -> String {
    """
    {"cell": {"norm": "\(norm)", "batch": \(batch), "workers": 1, "groups": "\(groups)", "threads": 2},
     "samplesPerStep": \(batch), "microBatches": 1, "inputShape": [\(batch), 8, 32, 32, 3],
     "clipsPerSecond": {"median": \(median), "min": \(min), "max": \(max), "q1": \(min), "q3": \(max)},
     "stepSeconds": {"median": \(ms), "min": \(ms), "max": \(ms), "q1": \(ms), "q3": \(ms)},
     "clipsPerSecondPerIndex": 5.0, "rounds": []}
    """
}

private func page(_ out: String) throws -> String {
    try String(contentsOfFile: "\(out)/video-cls.md", encoding: .utf8)
}

@Suite struct TrainBenchmarkPageTests {
    /// Records in a run folder under `out` (as Results/<workload>/<run>/cells/), optionally with `bench` as `out/video-cls/bench.json`.
    func publish(bench: String?) throws -> String {
        let out = scratchDirectory("benchpage")
        for r in records() { try RecordStore.write(r, in: "\(out)/video-cls/run") }
        if let bench { try Data(bench.utf8).write(to: URL(fileURLWithPath: "\(out)/video-cls/bench.json")) }
        try Publisher.publish(runs: [], out: out, merge: true)
        return out
    }

    @Test func withoutABenchmarkThePageIsAsBefore() throws {
        let out = try publish(bench: nil)
        let md = try page(out)
        #expect(md.contains("## Throughput: training clips/s (median step time) by batch per worker, median over seeds"))
        #expect(md.contains("| BN | 77.7 (33 ms) | 77.7 (33 ms) |"), "\(md)")
        #expect(md.contains("Measured during training (shared machine); speed: `normbench bench`."))
        #expect(!md.contains("dedicated benchmark"))
        // Byte for byte what rendering the records alone gives.
        let rendered = try Publisher.render(records(), docs: Publisher.docsLink(from: out))
        for file in rendered {
            #expect(try Data(contentsOf: URL(fileURLWithPath: "\(out)/\(file.path)")) == file.contents, "\(file.path)")
        }
    }

    @Test func aBenchmarkFileGivesTheThroughputTableAndItsLabel() throws {
        let out = try publish(bench: benchFile)
        let md = try page(out)
        #expect(md.contains("## Throughput: training clips/s by batch per worker, dedicated benchmark run\n\n| method | batch 2 | batch 8 |"), "\(md)")
        #expect(md.contains("| BN | 512.3 (498.0–520.4), 3.9 ms | 900.0 (880.0–910.0), 8.9 ms |"), "\(md)")
        #expect(md.contains("| GN (G=4) | 430.5 (420.0–431.0), 4.7 ms | – |"), "\(md)")
        #expect(md.contains("From a dedicated benchmark run: `normbench bench train video-cls --repeats 3 --out Results/video-cls/bench.json` on Test CPU 9000 "
                            + "(2 logical CPUs, oneDNN 2.6.3 ISA avx512_core), 2 thread(s), 2026-12-06, commit abc123def456."), "\(md)")
        #expect(md.contains("median over 3 interleaved rounds"))
        #expect(md.contains("largest/smallest index 1.03."), "\(md)")
        // The training-time numbers stay, below and labelled as what they are; the old label is gone.
        let bench = try #require(md.range(of: "dedicated benchmark run\n"))
        let training = try #require(md.range(of: "### Measured during training, under varying load"))
        #expect(bench.lowerBound < training.lowerBound)
        #expect(md.contains("| BN | 77.7 (33 ms) | 77.7 (33 ms) |"))
        #expect(md.contains("Not for comparing methods: measured during training, under varying load"))
        #expect(!md.contains("Measured during training (shared machine)"))
        #expect(!md.contains("## Throughput: training clips/s (median step time)"))
        let svg = try String(contentsOfFile: "\(out)/video-cls-throughput.svg", encoding: .utf8)
        #expect(svg.contains("dedicated benchmark run (normbench bench train), median over 3 interleaved rounds") && svg.contains(">GN (G=4)<"), "\(svg)")
        // The benchmark file is no record: the index still counts the 8 records.
        #expect(try String(contentsOfFile: "\(out)/README.md", encoding: .utf8).contains("from 8 result records"))
        // The same inputs give the same bytes.
        let again = try page(try publish(bench: benchFile))
        #expect(again == md)
    }

    @Test func aBadBenchmarkFileIsRefusedAndNothingIsWritten() throws {
        for (text, problem) in [
            ("{\"schema\": 1}", "`kind` is missing"),
            (benchFile.replacingOccurrences(of: "\"schema\": 1", with: "\"schema\": 9"), "schema 9, this normbench reads 1"),
            (benchFile.replacingOccurrences(of: "\"workload\": \"video-cls\"", with: "\"workload\": \"smoke\""), "holds a benchmark of workload smoke"),
            (benchFile.replacingOccurrences(of: "\"median\": 512.3", with: "\"median\": -1"), "a speed that is negative"),
        ] {
            let out = scratchDirectory("benchpage")
            for r in records() { try RecordStore.write(r, in: "\(out)/video-cls/run") }
            try Data(text.utf8).write(to: URL(fileURLWithPath: "\(out)/video-cls/bench.json"))
            #expect {
                try Publisher.publish(runs: [], out: out, merge: true)
            } throws: { error in
                "\(error)".hasPrefix("\(out)/video-cls/bench.json: ") && "\(error)".contains(problem)
            }
            #expect(!FileManager.default.fileExists(atPath: "\(out)/video-cls.md"))
        }
    }

    /// A record is `cells/<id>.json`; a benchmark file is not, whatever its folder is called.
    @Test func theRecordReaderSkipsBenchmarkFiles() throws {
        let root = scratchDirectory("benchpage")
        var r = sampleRecord()
        r.cell.workload = "tiny-cells"
        try RecordStore.write(r, in: "\(root)/tiny-cells/run")
        try Data(benchFile.utf8).write(to: URL(fileURLWithPath: "\(root)/tiny-cells/bench.json"))
        #expect(try RecordStore.readAll(root) == [r])
    }
}
