import Foundation

/// The ranges every numeric workload key and command-line option is checked
/// against before anything is allocated or multiplied. They are far above any
/// real study and low enough that no product of them overflows an `Int` or asks
/// for more memory than a machine has. docs/workloads.md lists them.
public enum Limits {
    /// Logical CPUs of this machine.
    public static let cpus = max(1, ProcessInfo.processInfo.activeProcessorCount)
    /// Thread counts: up to 4 × the CPUs (at least 8); more only contend.
    public static let threads = 1...max(8, 4 * cpus)
    /// Simulated (or MPI) data-parallel workers.
    public static let workers = 1...1024
    /// Samples per worker.
    public static let batch = 1...4096
    /// GroupNorm group counts.
    public static let groups = 1...4096
    /// Seeds: the generators take 32 bits.
    public static let seed = 0...Int(UInt32.max)
    /// Entries of one sweep list, and cells of one run (the product of the lists).
    public static let listLength = 1000
    public static let cells = 100_000
    public static let epochs = 1...100_000
    public static let steps = 1...10_000_000
    /// Samples one cell trains on (steps × workers × batch, or epochs × training
    /// clips): the training order is held in memory, 8 bytes a sample.
    public static let samplesPerCell = 50_000_000
    public static let referenceBatch = 1...1_000_000
    public static let warmupSteps = 0...10_000_000
    public static let preciseBNBatches = 0...100_000
    /// Evaluations in the final phase of training (`training.evaluations`): each is a pass over the evaluation clips.
    public static let evaluations = 1...1000
    /// `training.evaluationPhase`: a fraction of training, above 0.
    public static let evaluationPhase = 0.0...1.0
    /// `sweep.stepClips`: clips per optimizer step (workers × batch).
    public static let stepClips = 1...(4096 * 1024)
    /// Classes up to which a classification record keeps its confusion matrix (classes² counts).
    public static let confusionClasses = 400

    // Clips and data.
    public static let clipFrames = 1...1024
    public static let clipStride = 1...1000
    public static let clipSize = 8...1024
    /// Windows per evaluation clip (`clip.evalViews`): evaluation time grows with it.
    public static let evalViews = 1...1000
    public static let clips = 1...1_000_000
    public static let videoFrames = 1...10_000
    public static let videoSide = 16...4096
    public static let fps = 1...1000
    /// Synthetic classes: the renderer draws 6 shapes × 2 directions, so more
    /// classes would repeat shapes and become indistinguishable.
    public static let syntheticClasses = 2...SyntheticRenderer.maxClassificationClasses
    public static let folderClasses = 1...100_000
    public static let distractors = 0...64
    public static let objects = 1...64

    // Model.
    public static let width = 1...4096
    public static let stages = 1...16
    public static let blocks = 1...64

    /// The message for `value` outside `range`: "is 100000; must be in 8...1024".
    public static func problem(_ value: Int, _ range: ClosedRange<Int>) -> String? {
        range.contains(value) ? nil : "is \(value); must be in \(range.lowerBound)...\(range.upperBound)"
    }

    /// Physical memory of this machine, bytes.
    public static var physicalMemory: Int { Int(clamping: ProcessInfo.processInfo.physicalMemory) }
}

extension WorkloadSpec {
    /// Checks the products of keys that are each in range: samples per cell, the
    /// decoded data set and one step's activations against this machine's memory.
    /// A lower bound, not a prediction (`normbench plan` predicts): it refuses only
    /// what cannot fit.
    /// - Throws: `WorkloadError.invalid` naming the key to lower.
    public func checkFits(file: String) throws {
        let samplesPerStep = sweep.stepClips ?? (sweep.allBatches.last ?? 1) * training.workers
        let samples = training.steps.map { $0 * samplesPerStep } ?? training.epochs * trainClips
        if samples > Limits.samplesPerCell {
            let key = training.steps != nil ? "training.steps" : "training.epochs"
            throw WorkloadError.invalid(
                file: file, line: nil, key: key,
                problem: "asks for \(samples) training samples per cell (\(training.steps != nil ? "steps × workers × batch" : "epochs × training clips")); at most \(Limits.samplesPerCell) are supported",
                example: training.steps != nil ? "steps: \(max(1, Limits.samplesPerCell / samplesPerStep))" : "epochs: \(max(1, Limits.samplesPerCell / max(trainClips, 1)))")
        }
        let need = minimumBytes(batch: sweep.allBatches.last ?? 1)
        let have = Limits.physicalMemory
        if need > have {
            throw WorkloadError.invalid(
                file: file, line: nil, key: "clip.size",
                problem: "with these clips, frames, widths and batches needs at least \(gib(need)) GiB (decoded clips \(gib(dataBytes)) GiB, rendering or one step \(gib(need - dataBytes)) GiB) but this machine has \(gib(have)) GiB; lower clip.size, clip.frames, the clip counts, data.synthetic's size and frames, model.widths or the batch",
                example: "size: 64")
        }
    }

    /// Training clips of the data set (the folder's are counted when loaded).
    var trainClips: Int { data.source == .synthetic ? data.synthetic.trainClips : 0 }

    /// Decoded clips held in memory: uint8 RGB, `framesPerClip` frames of size²
    /// (a folder's clips are counted, and their lengths known, only when decoded).
    var dataBytes: Int {
        guard data.source == .synthetic else { return 0 }
        return (data.synthetic.trainClips + data.synthetic.evalClips) * framesPerClip * clip.size * clip.size * 3
    }

    /// Decoded data plus the larger of one rendered synthetic video (uint8 RGB, one
    /// per thread while generating) and a lower bound on one worker's step: the
    /// stem's output (width₀ float channels per input pixel) saved for backward,
    /// and its gradient.
    func minimumBytes(batch: Int) -> Int {
        let s = data.synthetic
        let video = data.source == .synthetic ? s.frames * s.width * s.height * 3 * (sweep.threads.max() ?? 1) : 0
        let pixels = batch * clip.frames * clip.size * clip.size
        return dataBytes + max(video, pixels * (model.widths.first ?? 1) * 4 * 2)
    }

    private func gib(_ bytes: Int) -> String { String(format: "%.1f", Double(bytes) / 1_073_741_824) }
}
