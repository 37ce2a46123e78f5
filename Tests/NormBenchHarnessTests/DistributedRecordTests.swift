import Foundation
import Testing
import NormBenchHarness
import NormBenchTestSupport

/// Records of distributed runs: the optional `distributed` part round-trips,
/// records without it stay as they were, and publishing adds the collective
/// table and CSV columns only when some record has it.
@Suite struct DistributedRecordTests {
    static func dataParallel(_ norm: String, syncBN: Bool) -> ResultRecord {
        var r = sampleRecord(norm: norm, batch: 2)
        r.cell.workers = 2
        r.distributed = DistributedRun(
            mode: "data-parallel", ranks: 2, hosts: 1, mpiLibrary: "Open MPI v4.1.4",
            collective: CollectiveCost(
                gradientAllReduceSecondsMedian: 0.002, gradientBytesPerStep: 1_048_576, syncBNSecondsMedian: syncBN ? 0.001 : 0,
                syncBNBytesPerStep: syncBN ? 8192 : 0, syncBNCallsPerStep: syncBN ? 18 : 0, statisticsSecondsMedian: 0.0001,
                statisticsBytesPerStep: 16, totalSecondsMedian: 0.0031, replicasIdentical: true))
        return r
    }

    @Test func recordsWithAndWithoutDistributedInfoRoundTrip() throws {
        let run = scratchDirectory("harness")
        let plain = sampleRecord(norm: "gn")
        let parallel = Self.dataParallel("syncbn", syncBN: true)
        try RecordStore.write(plain, in: run)
        try RecordStore.write(parallel, in: run)
        #expect(try RecordStore.readAll(run) == [plain, parallel].sorted { $0.cell < $1.cell })
        let plainJSON = String(decoding: try RecordStore.encode(plain), as: UTF8.self)
        #expect(!plainJSON.contains("distributed"), "a single-process record must not gain a field")
    }

    @Test func publishAddsTheCollectiveTableOnlyForDistributedRecords() throws {
        let plain = try Publisher.render([sampleRecord(norm: "bn"), sampleRecord(norm: "gn")])
        let page = { (files: [Publisher.File]) in String(decoding: files.first { $0.path == "smoke.md" }!.contents, as: UTF8.self) }
        let csv = { (files: [Publisher.File]) in String(decoding: files.first { $0.path == "cells.csv" }!.contents, as: UTF8.self) }
        #expect(!page(plain).contains("Collectives"))
        #expect(!csv(plain).contains("allreduce"))

        let mixed = try Publisher.render([sampleRecord(norm: "gn"), Self.dataParallel("bn", syncBN: false), Self.dataParallel("syncbn", syncBN: true)])
        let md = page(mixed)
        #expect(md.contains("## Collectives of data-parallel runs (per training step)"))
        #expect(md.contains("| SyncBN W=2 | 2 | 2 on 1 host | 100.00 | 2.00 (1024.0) | 1.00 (8.0, 18) | 0.10 (0.0) | 3.1 | yes |"), "\(md)")
        let lines = csv(mixed).split(separator: "\n")
        #expect(lines[0].hasSuffix("distributed_mode,ranks,hosts,allreduce_s_median,allreduce_bytes_per_step,syncbn_s_median,syncbn_bytes_per_step,statistics_s_median,statistics_bytes_per_step"))
        #expect(lines.allSatisfy { $0.split(separator: ",", omittingEmptySubsequences: false).count == lines[0].split(separator: ",").count })
    }
}
