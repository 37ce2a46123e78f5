import NormBenchEngine

/// The optimization of one cell, derived from the workload and the cell:
/// steps, linearly scaled learning rate, schedule, data order.
public struct TrainingPlan: Sendable {
    public let samplesPerStep: Int
    public let steps: Int
    public let epochs: Double
    public let schedule: LearningRateSchedule
    /// Steps excluded from timing (primitive creation, caches warming).
    public let warmupSteps: Int

    public init(training t: TrainingSpec, trainClips: Int, batch: Int, workers: Int) {
        let samplesPerStep = batch * workers
        let steps = t.steps ?? max(1, t.epochs * trainClips / samplesPerStep)
        self.samplesPerStep = samplesPerStep
        self.steps = steps
        epochs = Double(steps * samplesPerStep) / Double(max(trainClips, 1))
        // Linear scaling rule (Goyal et al., used by the GN paper): lr ∝ samples per step.
        let base = Float(t.baseLR * Double(samplesPerStep) / Double(t.referenceBatch))
        let decay: LearningRateSchedule.Decay
        switch t.schedule {
        case .step: decay = .step(milestones: t.milestones.map { Int($0 * Double(steps)) }, gamma: 0.1)
        case .constant: decay = .constant
        case .cosine: decay = .cosine(totalSteps: steps, final: 0)
        }
        let warmup = t.warmupEpochs.map { Int(($0 * Double(trainClips) / Double(samplesPerStep)).rounded()) } ?? t.warmupSteps
        schedule = LearningRateSchedule(base: base, decay: decay, warmupSteps: min(warmup, steps / 2), warmupStartFactor: 0.1)
        warmupSteps = min(3, steps / 5)
    }

    /// Clip indices in training order: a fresh permutation each epoch, from the seed.
    public static func order(clips: Int, samples: Int, seed: Int) -> [Int] {
        var g = SeededGenerator(seed: UInt64(seed) &* 0x2545_F491_4F6C_DD1D &+ 17)
        var out: [Int] = []
        out.reserveCapacity(samples)
        while out.count < samples {
            var p = Array(0..<clips)
            for i in stride(from: clips - 1, to: 0, by: -1) {
                p.swapAt(i, Int(g.next() % UInt64(i + 1)))
            }
            out += p
        }
        return Array(out.prefix(samples))
    }
}
