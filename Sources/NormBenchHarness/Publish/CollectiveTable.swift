/// The cost the GN paper's GroupNorm avoids: time and bytes per training step
/// in the collectives of data-parallel runs (`run --distributed`). Rendered only
/// when a workload has such records, so other pages keep their bytes.
extension WorkloadPage {
    var hasCollective: Bool { grid.records.contains { $0.distributed?.collective != nil } }

    func collectiveSection() -> String {
        var md = "## Collectives of data-parallel runs (per training step)\n\n"
        var table = MarkdownTable(header: [
            "method", "batch", "ranks", "step (ms)", "gradient all-reduce ms (KiB)", "SyncBN all-gathers ms (KiB, calls)",
            "loss + BN statistics ms (KiB)", "collectives (% of step)", "replicas identical",
        ])
        let rows = grid.records.filter { $0.distributed?.collective != nil && $0.status == .completed }
        for r in rows.sorted(by: { ($0.cell.batch, MethodKey($0.cell), $0.cell.seed) < ($1.cell.batch, MethodKey($1.cell), $1.cell.seed) }) {
            let c = r.distributed!.collective!
            let step = r.throughput?.stepSecondsMedian ?? 0
            func ms(_ s: Double) -> String { Format.fixed(s * 1000, 2) }
            func kib(_ b: Int) -> String { Format.fixed(Double(b) / 1024, 1) }
            let seed = Set(rows.map(\.cell.seed)).count > 1 ? " s\(r.cell.seed)" : ""
            table.rows.append([
                grid.label(MethodKey(r.cell)) + seed, String(r.cell.batch), "\(r.distributed!.ranks) on \(r.distributed!.hosts) host\(r.distributed!.hosts == 1 ? "" : "s")",
                ms(step), "\(ms(c.gradientAllReduceSecondsMedian)) (\(kib(c.gradientBytesPerStep)))",
                c.syncBNCallsPerStep > 0 ? "\(ms(c.syncBNSecondsMedian)) (\(kib(c.syncBNBytesPerStep)), \(c.syncBNCallsPerStep))" : "–",
                "\(ms(c.statisticsSecondsMedian)) (\(kib(c.statisticsBytesPerStep)))",
                step > 0 ? Format.fixed(c.totalSecondsMedian / step * 100, 1) : "–", c.replicasIdentical ? "yes" : "no",
            ])
        }
        md += table.render()
        md += "\nMedians over the steps after warm-up, on rank 0; KiB = payload a rank hands to or receives from MPI per step "
        md += "(an all-reduce's buffer; an all-gather's gathered values). Waiting for the slowest rank counts as collective time. "
        md += "SyncBN's exchanges run inside the normalization layers, so they are also in the normalization time share. "
        md += "Records: `distributed.collective` ([docs/distributed.md](\(docs)/distributed.md)). " + Provenance.line(rows) + "\n\n"
        return md
    }
}
