import NormBenchEngine
import NormBenchVideo

/// Predicts a cell's peak memory without training it.
///
/// Builds the workload's model, runs two training steps (forward, backward,
/// optimizer update) on one worker's micro-batch at two small batch sizes, and
/// reads the ledger's peak each time. Everything that depends on the batch
/// (activations saved for backward, the input, convolution workspace) grows
/// linearly in it; parameters, gradients and optimizer state do not. A method
/// that runs as one micro-batch (SyncBN's simulated worker holds all W·batch
/// samples) is predicted at W·batch (`CellSettings.samplesPerMicroBatch`).
public enum MemoryPlanner {
    /// A step's peak memory: the ledger's (tensors) and the tensor allocator's
    /// (tensors' blocks plus the freed blocks it keeps for reuse, `TensorAllocator.held`).
    public struct Peak: Sendable, Equatable {
        public var ledger: Int
        public var allocator: Int
    }

    /// Predicted ledger and allocator peaks for one cell, on the cell's threads.
    ///
    /// Small batches (up to twice the thread count) are measured directly. Larger
    /// ones are extrapolated from T and 2T samples (T = threads): oneDNN's scratch
    /// memory depends on how it splits the batch over threads, so batches below T
    /// do not predict larger ones.
    public static func predict(spec: WorkloadSpec, cell: CellSettings) throws -> Peak {
        let n = cell.samplesPerMicroBatch, norm = cell.norm
        let t = max(1, cell.threads)
        return try Parallel.withThreads(t) {
            // The first step of a process also fills caches that outlive it (convolution
            // primitives); measure after one warm-up step.
            _ = try measure(spec: spec, norm: norm, batch: 1)
            if n <= 2 * t { return try measure(spec: spec, norm: norm, batch: n) }
            let low = try measure(spec: spec, norm: norm, batch: t)
            let high = try measure(spec: spec, norm: norm, batch: 2 * t)
            func extrapolate(_ lo: Int, _ hi: Int) -> Int { hi + (hi - lo) * (n - 2 * t) / t }
            return Peak(ledger: extrapolate(low.ledger, high.ledger), allocator: extrapolate(low.allocator, high.allocator))
        }
    }

    /// Bytes of the decoded data bank a run holds for all its cells: every frame of
    /// every train and eval clip at the training size, uint8 RGB (Σ frames_i × size² × 3).
    /// A synthetic clip has `data.synthetic.frames`; a folder's clips are probed for
    /// their frame counts (a clip that cannot be probed counts one window).
    public static func dataBankBytes(spec: WorkloadSpec) throws -> Int {
        let frameBytes = spec.clip.size * spec.clip.size * 3
        guard spec.data.source == .folder else {
            return (spec.data.synthetic.trainClips + spec.data.synthetic.evalClips) * spec.framesPerClip * frameBytes
        }
        let (folder, manifest) = try FolderDataset.load(spec)
        let frames = manifest.entries.reduce(0) { sum, e in
            sum + max(spec.framesPerClip, ((try? VideoInfo.probe("\(folder)/\(e.path)"))?.frameCount) ?? 0)
        }
        return frames * frameBytes
    }

    /// The process peak of a cell whose step peaks at `peak` (`predict`): what this
    /// process holds now besides the ledger (code, libraries, runtimes; call it
    /// after a prediction, when oneDNN is loaded and warm), plus the data bank, plus
    /// the tensor allocator's blocks; the ledger's peak where the system does not
    /// report the resident size. A run's records show how close this comes (`Memory.process`).
    public static func predictProcessPeak(_ peak: Peak, dataBank: Int) -> Int {
        ProcessMemory.returnFreedMemory()
        guard let resident = ProcessMemory.resident() else { return peak.ledger }
        return resident - MemoryLedger.shared.snapshot().liveTotal + dataBank + peak.allocator
    }

    /// The ledger's and the allocator's peaks of training steps at `batch` (growth
    /// over the call), measured on the current threads.
    public static func measure(spec: WorkloadSpec, norm: NormalizationSpec, batch: Int) throws -> Peak {
        let c = spec.clip
        MemoryLedger.current.reset()
        let before = MemoryLedger.current.snapshot().liveTotal
        // Earlier measurements' freed blocks would serve this one's tensors unseen.
        TensorAllocator.shared.releaseCache()
        TensorAllocator.shared.resetHeldPeak()
        let heldBefore = TensorAllocator.shared.held
        let model = try spec.task.implementation.makeModel(spec, norm: norm, seed: 0)
        let optimizer = SGD(parameters: model.parameters)
        let input = Tensor(shape: [batch, c.frames, c.size, c.size, 3], category: .data)
        var g = SeededGenerator(seed: 1)
        for i in 0..<input.count { input.data[i] = g.nextNormal() }
        // Two steps: the optimizer's state exists from the first update on, so the
        // second step is the steady state a training cell sees.
        for _ in 0..<2 {
            let output = model.forward(input, mode: .training)
            let grad = Tensor(shape: output.shape, category: .workspace)
            grad.fill(1e-3)
            _ = model.backward(grad)
            optimizer.step(learningRate: 0)
        }
        return Peak(ledger: MemoryLedger.current.snapshot().peakTotal - before,
                    allocator: TensorAllocator.shared.heldPeak - heldBefore)
    }
}
