import NormBenchEngine
import NormBenchWorkloads

/// Every cell as one CSV row, a flat view of the JSON records for spreadsheets.
/// Units are in the column names; empty fields are metrics a cell does not have.
enum CSVExport {
    static let header = [
        "workload", "norm", "batch", "workers", "groups", "seed", "threads", "status", "task",
    ] + Metric.catalog.map(\.column) + [
        "steps", "samples_per_step",
        "train_clips_per_s", "step_s_median", "step_s_p90", "eval_clips_per_s", "decode_frames_per_s",
        "time_share_conv", "time_share_norm", "time_share_other",
        "ledger_peak_bytes", "process_peak_bytes", "predicted_peak_bytes", "data_bank_bytes", "allocator_cache_bytes", "runtime_bytes", "unattributed_bytes",
        "calibration_conv_gflops", "calibration_bandwidth_gbps",
        "data_digest", "cpu", "git_commit", "date",
    ]

    /// Appended only when some record ran under MPI, so other exports keep their bytes.
    static let distributedHeader = [
        "distributed_mode", "ranks", "hosts", "allreduce_s_median", "allreduce_bytes_per_step",
        "syncbn_s_median", "syncbn_bytes_per_step", "statistics_s_median", "statistics_bytes_per_step",
    ]

    /// After the columns above in every row (and before the distributed ones, which stay last):
    /// evaluation clips, views, how many evaluations ran, the protocol, and each metric with PreciseBN statistics.
    static let evaluationHeader = ["eval_clips", "eval_views", "evaluations", "evaluation_protocol"] + Metric.catalog.map { "precise_" + $0.column }

    /// Appended (before the distributed ones) only when some record fine-tuned from a
    /// checkpoint or is a from-scratch reference: `start` is `checkpoint` or `scratch`.
    static let startHeader = ["start", "init_workload", "init_run", "init_cell", "init_checkpoint", "init_sha256"]

    static func render(_ records: [ResultRecord]) -> String {
        let distributed = records.contains { $0.distributed != nil }
        let transfer = records.contains { $0.startedFrom != nil || $0.cell.isScratch }
        var lines = [(header + evaluationHeader + (transfer ? startHeader : []) + (distributed ? distributedHeader : [])).joined(separator: ",")]
        for r in records.sorted(by: { $0.cell < $1.cell }) {
            let c = r.cell
            let fields: [String?] = [
                c.workload, c.norm, String(c.batch), String(c.workers), c.groups, String(c.seed), String(c.threads),
                r.status.rawValue, r.task,
            ] + Metric.catalog.map { number(r.accuracy?[$0]) } + [
                r.training.map { String($0.steps) }, r.training.map { String($0.samplesPerStep) },
                number(r.throughput?.trainClipsPerSecond), number(r.throughput?.stepSecondsMedian),
                number(r.throughput?.stepSecondsP90), number(r.throughput?.evalClipsPerSecond),
                number(r.throughput?.decodeFramesPerSecond),
                number(r.timeShare?.convolution), number(r.timeShare?.normalization), number(r.timeShare?.other),
                String(r.memory.ledgerPeakBytes), r.memory.processPeakBytes.map(String.init),
                r.memory.predictedPeakBytes.map(String.init),
                r.memory.process.map { String($0.dataBankBytes) }, r.memory.process?.allocatorCacheBytes.map(String.init),
                r.memory.process.map { String($0.runtimeBytes) },
                r.memory.process.map { String($0.unattributedBytes) },
                number(r.calibration?.convGFLOPS), number(r.calibration?.bandwidthGBps),
                r.data.digest, r.environment.cpuModel, r.environment.gitCommit, r.environment.date,
            ]
            var extra: [String?] = [String(r.data.evalClips), String(r.data.evalViews ?? 1), r.evaluation.map { String($0.runs.count) }, r.evaluation?.protocol]
            extra += Metric.catalog.map { number(r.evaluation?.precise?[$0.name]) }
            if transfer {
                let f = r.startedFrom
                extra += [f != nil ? "checkpoint" : (r.cell.isScratch ? "scratch" : nil), f?.workload, f?.run, f?.cell, f?.path, f?.sha256]
            }
            if distributed { extra += distributedFields(r.distributed) }
            lines.append((fields + extra).map { quote($0 ?? "") }.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func distributedFields(_ d: DistributedRun?) -> [String?] {
        let collective = d?.collective
        var out: [String?] = [d?.mode, d.map { String($0.ranks) }, d.map { String($0.hosts) }]
        out += [number(collective?.gradientAllReduceSecondsMedian), collective.map { String($0.gradientBytesPerStep) }]
        out += [number(collective?.syncBNSecondsMedian), collective.map { String($0.syncBNBytesPerStep) }]
        out += [number(collective?.statisticsSecondsMedian), collective.map { String($0.statisticsBytesPerStep) }]
        return out
    }

    /// Shortest text that reads back to the same Double (Swift's description).
    private static func number(_ value: Double?) -> String? { value.map { "\($0)" } }

    /// RFC 4180 quoting for fields with commas, quotes or line breaks.
    private static func quote(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
