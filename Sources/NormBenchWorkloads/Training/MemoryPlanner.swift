import NormBenchEngine

/// Predicts a cell's peak memory without training it.
///
/// Builds the workload's model, runs one training step (forward, backward,
/// optimizer update) on one worker's micro-batch at batch 1 and at batch 2, and
/// reads the ledger's peak each time. Everything that depends on the batch
/// (activations saved for backward, the input, convolution workspace) grows
/// linearly in it; parameters, gradients and optimizer state do not. So
/// peak(n) = peak(1) + (peak(2) − peak(1))·(n − 1). SyncBN's simulated worker
/// holds all W·batch samples, so it is predicted at W·batch.
public enum MemoryPlanner {
    /// Predicted ledger peak in bytes for one cell.
    public static func predictPeak(spec: WorkloadSpec, norm: NormalizationSpec, batch: Int, workers: Int) throws -> Int {
        let n = norm.method == .syncBatchNorm ? batch * workers : batch
        let one = try measurePeak(spec: spec, norm: norm, batch: 1)
        let two = try measurePeak(spec: spec, norm: norm, batch: 2)
        return one + (two - one) * (n - 1)
    }

    /// The ledger peak of one training step at `batch`, measured.
    public static func measurePeak(spec: WorkloadSpec, norm: NormalizationSpec, batch: Int) throws -> Int {
        let c = spec.clip
        MemoryLedger.shared.reset()
        let before = MemoryLedger.shared.snapshot().liveTotal
        do {
            let model: Sequential
            switch spec.task {
            case .classification:
                model = try ResNet3D.classifier(
                    ResNet3DConfig(frames: c.frames, height: c.size, width: c.size, widths: spec.model.widths,
                                   depths: spec.model.blocks, classes: spec.data.synthetic.classes,
                                   zeroInitLastNorm: spec.model.zeroInitLastGamma, seed: 0),
                    normalization: norm)
            case .detection:
                model = try DetectionModel.make(
                    widths: spec.model.widths, classes: spec.data.synthetic.classes, normalization: norm,
                    zeroInitLastGamma: spec.model.zeroInitLastGamma, seed: 0)
            }
            let optimizer = SGD(parameters: model.parameters)
            let input = Tensor(shape: [batch, c.frames, c.size, c.size, 3], category: .data)
            var g = SeededGenerator(seed: 1)
            for i in 0..<input.count { input.data[i] = g.nextNormal() }
            let output = model.forward(input, mode: .training)
            let grad = Tensor(shape: output.shape, category: .workspace)
            grad.fill(1e-3)
            _ = model.backward(grad)
            optimizer.step(learningRate: 0)
        }
        return MemoryLedger.shared.snapshot().peakTotal - before
    }
}
