import NormBenchEngine

/// Trains and evaluates one cell of any task: the task's model
/// (`WorkloadTask.makeModel`), the shared `TrainingLoop` around the task's
/// micro-step, with the task's evaluations in the final phase (`EvaluationSchedule`).
///
/// Each step takes W × batch samples: W micro-batches of `batch` (each worker's
/// forward/backward with its own BN statistics, gradients accumulated, one SGD
/// step). A method whose statistics span the workers (SyncBN) runs as one
/// micro-batch of W × batch (`NormMethod.runsAsOneMicroBatch`: BatchNorm over
/// the concatenation = SyncBN; see the normalization tests). The same seed gives
/// the same initial weights and data order in every cell of a sweep. The engine
/// runs on `cell.threads` threads for the whole cell.
public enum CellRun {
    public static func run(
        spec: WorkloadSpec, cell: CellSettings, train: ClipBank, eval: ClipBank, options: CellRunOptions = CellRunOptions(),
        progress: (CellProgress) -> Void = { _ in }
    ) throws -> CellMeasurement {
        try Parallel.withThreads(cell.threads) {
            let task = spec.task.implementation
            let model = try task.makeModel(spec, norm: cell.norm, seed: UInt64(cell.seed))
            try CellCheckpoint.initialize(model, spec: spec, cell: cell)
            let loop = TrainingLoop(spec: spec, cell: cell, train: train)
            let pass = EvaluationPass(spec: spec)
            let outcome = try loop.run(
                model: model, options: options, progress: progress,
                microStep: { samples, scale in
                    let input = StepProfiler.shared.measure(.other) { loop.assembler.assemble(samples, from: train) }
                    return task.microStep(model, spec, samples: samples, input: input, from: train, lossScale: scale)
                },
                evaluate: { task.evaluate(model, spec, eval: eval, pass: pass) })
            var measurement = loop.measurement(outcome, classes: spec.classes, labels: eval.labels, channelsPerGroup: channelsPerGroup(model))
            if let path = options.checkpointPath {
                measurement.checkpointSHA256 = try CellCheckpoint.save(model, spec: spec, cell: cell, to: path, extra: options.checkpointMetadata)
            }
            return measurement
        }
    }
}

/// Channels per group of every grouped normalization layer of `model` (GroupNorm
/// and its LayerNorm / InstanceNorm forms, EvoNorm-S0), in forward order; nil
/// when the model has none.
public func channelsPerGroup(_ model: any Layer) -> [Int]? {
    let counts: [Int] = NormalizationLayers.leaves(of: model).compactMap { layer in
        if let gn = layer as? GroupNorm { return gn.channels / gn.groups }
        if let evo = layer as? EvoNormS0 { return evo.channels / evo.groups }
        return nil
    }
    return counts.isEmpty ? nil : counts
}

/// Training failures that are the data's or the settings' fault, not a bug.
public enum TrainingError: Error, Equatable, CustomStringConvertible {
    case diverged(step: Int, loss: Double)

    public var description: String {
        switch self {
        case let .diverged(step, loss):
            return "training diverged at step \(step) (loss \(loss)); lower training.baseLR or raise training.warmupSteps"
        }
    }
}
