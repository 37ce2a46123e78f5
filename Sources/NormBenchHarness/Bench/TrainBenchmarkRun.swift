import Foundation
import NormBenchEngine
import NormBenchWorkloads

/// Runs `normbench bench train`: every selected cell's training step, timed in
/// rounds, each round visiting the cells once (round-robin), so that a slow
/// phase of the machine falls on every cell alike instead of on whichever cell
/// happened to run then. Odd rounds go in sweep order, even rounds in reverse,
/// so a steady drift within a round does not favour the cells that come first.
/// Calibration probes are taken before the first round and after every round.
public struct TrainBenchmarkRun {
    public var spec: WorkloadSpec
    public var cells: [SweepCell]
    public var warmupSteps = 3
    public var timedSteps = 20
    public var repeats = 7
    /// The command line, recorded in the result.
    public var command: String

    public init(spec: WorkloadSpec, cells: [SweepCell], command: String) {
        self.spec = spec
        self.cells = cells
        self.command = command
    }

    /// The cells of the benchmark: one per (method, batch, groups, threads) of the
    /// sweep (`WorkloadSpec.cells`, `sweep.batchesByNorm` and the workers of
    /// `sweep.stepClips` included), at the sweep's first seed, in the sweep's
    /// order; with `batches`, only those of the sweep's cells.
    /// - Throws: `HarnessError.mismatch` for a batch the sweep does not have, or
    ///   a selection that leaves no cell.
    public static func cells(of spec: WorkloadSpec, batches: [Int]? = nil) throws -> [SweepCell] {
        let all = try spec.cells()
        guard let seed = spec.sweep.seeds.first else { throw HarnessError.mismatch("\(spec.name): the sweep has no seeds") }
        let sweepBatches = spec.sweep.allBatches
        for batch in batches ?? [] where !sweepBatches.contains(batch) {
            throw HarnessError.mismatch("--batches: \(batch) is not a batch of the sweep of \(spec.name) (\(sweepBatches.map(String.init).joined(separator: ", "))); the benchmark times the sweep's cells, e.g. --batches \(sweepBatches.prefix(2).map(String.init).joined(separator: ","))")
        }
        // From-scratch cells (`sweep.scratch`) take the same steps as the cells of their method: timed once.
        let selected = all.filter { c in
            c.settings.seed == seed && !c.settings.scratch && (batches?.contains(c.settings.batch) ?? true)
        }
        guard !selected.isEmpty else {
            throw HarnessError.mismatch("--norms and --batches select no cell of \(spec.name): \(spec.sweep.norms.map { "\($0) at \(spec.sweep.batches(for: $0).map(String.init).joined(separator: ", "))" }.joined(separator: "; "))")
        }
        return selected
    }

    /// Measures. `progress` gets one line per round.
    /// - Throws: `TrainingError` when a cell's loss stops being finite; what building a model throws.
    public func run(progress: (String) -> Void = { _ in }) throws -> TrainBenchmark {
        let environment = Environment.current()
        let loadStart = Self.loadAverage()
        let benches = try cells.map { try StepBenchmark(spec: spec, cell: $0.settings) }
        let threadCounts = Array(Set(cells.map(\.settings.threads))).sorted()
        var probes: [TrainBenchmark.Probe] = []
        func probe(after round: Int) {
            for t in threadCounts {
                let c = Calibration.measure(threads: t)
                probes.append(.init(threads: t, after: round, convGFLOPS: c.convGFLOPS, bandwidthGBps: c.bandwidthGBps))
            }
        }
        probe(after: 0)
        var seconds = [[[Double]]](repeating: [], count: benches.count)
        for round in 1...repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            let order = round % 2 == 1 ? Array(benches.indices) : benches.indices.reversed()
            for i in order {
                let bench = benches[i]
                do {
                    seconds[i].append(try bench.run(warmup: warmupSteps, timed: timedSteps))
                } catch let error as TrainingError {
                    throw HarnessError.mismatch("cell \(Self.describe(cells[i])): \(error)")
                }
            }
            probe(after: round)
            progress(String(format: "round %d/%d: %d cells in %.1f s", round, repeats, benches.count,
                            Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9))
        }
        var result = TrainBenchmark(
            workload: spec.name, command: command,
            settings: .init(
                warmupSteps: warmupSteps, timedSteps: timedSteps, repeats: repeats, seed: cells.first?.settings.seed ?? 0,
                learningRate: Double(StepBenchmark.learningRate),
                input: "synthetic: random pixels at the workload's clip shape, assembled and normalized as in training; no data set",
                order: "round-robin: each round visits every cell once, odd rounds in sweep order, even rounds in reverse"),
            environment: environment,
            machine: .init(oneDNNISA: BuildInfo.oneDNNISA, caches: BuildInfo.cacheSizes, ompWaitPolicy: OpenMPRuntime.waitPolicy,
                           loadAverageStart: loadStart, loadAverageEnd: Self.loadAverage()),
            calibration: probes, cells: [])
        let indicesByThreads = Dictionary(uniqueKeysWithValues: threadCounts.map { ($0, result.roundIndices(threads: $0)) })
        result.cells = zip(zip(cells, benches), seconds).map { pair, rounds in
            let (cell, bench) = pair
            let s = cell.settings
            let indices = indicesByThreads[s.threads] ?? []
            let perRound = rounds.enumerated().map { r, steps in
                TrainBenchmark.Round(
                    clipsPerSecond: Double(bench.samplesPerStep * steps.count) / max(steps.reduce(0, +), 1e-12),
                    stepSecondsMedian: Quantiles.median(steps), calibrationIndex: r < indices.count ? indices[r] : 0, stepSeconds: steps)
            }
            let calibrated = perRound.filter { $0.calibrationIndex > 0 }.map { $0.clipsPerSecond / $0.calibrationIndex }
            return TrainBenchmark.CellResult(
                cell: .init(norm: s.normName, batch: s.batch, workers: s.workers, groups: s.groups?.description ?? "-", threads: s.threads),
                samplesPerStep: bench.samplesPerStep, microBatches: s.microBatches, inputShape: bench.microBatchShape,
                clipsPerSecond: .init(perRound.map(\.clipsPerSecond)), stepSeconds: .init(perRound.map(\.stepSecondsMedian)),
                clipsPerSecondPerIndex: Quantiles.median(calibrated), rounds: perRound)
        }
        return result
    }

    /// "gn b=8 W=1 G=8 T=2".
    static func describe(_ cell: SweepCell) -> String {
        let s = cell.settings
        return "\(s.normName) b=\(s.batch) W=\(s.workers) G=\(s.groups?.description ?? "-") T=\(s.threads)"
    }

    /// The 1-minute load average (Linux), nil elsewhere.
    static func loadAverage() -> Double? {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").first.flatMap { Double($0) }
    }
}
