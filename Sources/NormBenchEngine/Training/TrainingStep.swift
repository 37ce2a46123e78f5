/// One labelled micro-batch: clips `[n, d, h, w, c]` (ledger: data) and `n` labels.
public struct MicroBatch {
    public var input: Tensor
    public var labels: [Int]
    public init(input: Tensor, labels: [Int]) {
        precondition(input.shape.first == labels.count, "MicroBatch: \(labels.count) labels for input \(input.shape)")
        self.input = input
        self.labels = labels
    }
}

/// One optimizer step over micro-batches, the one micro-batch loop of normbench
/// (`normbench run`'s training loop, `bench kernels` and the engine tests all
/// train through it): zero the gradients, run each micro-batch's forward and
/// backward (its own normalization statistics; gradients accumulate, each loss
/// gradient scaled by 1/W so that their sum is the mean over workers), then one
/// optimizer update. Everything forward saved is freed by the end of the step.
public struct TrainingStep {
    public let optimizer: SGD

    public init(optimizer: SGD) { self.optimizer = optimizer }

    /// Zeroes the gradients, runs `forwardBackward`, applies the update at
    /// `learningRate`. Returns what `forwardBackward` returned (the step's loss).
    public func run(learningRate: Float, _ forwardBackward: () throws -> Double) rethrows -> Double {
        StepProfiler.shared.measure(.optimizer) { optimizer.zeroGradients() }
        let loss = try forwardBackward()
        StepProfiler.shared.measure(.optimizer) { optimizer.step(learningRate: learningRate) }
        return loss
    }

    /// Runs `count` micro-steps in order, micro-step `i` with loss scale 1/count.
    /// - Returns: the mean of their losses, summed in order.
    public static func accumulate(_ count: Int, _ microStep: (_ index: Int, _ lossScale: Float) throws -> Double) rethrows -> Double {
        precondition(count >= 1, "TrainingStep.accumulate: no micro-batches")
        var loss = 0.0
        for i in 0..<count { loss += try microStep(i, 1 / Float(count)) / Double(count) }
        return loss
    }

    /// A classifier's micro-step: forward, softmax cross-entropy (its gradient
    /// scaled by `lossScale`), backward. Returns the loss and the samples whose
    /// argmax is their label.
    @discardableResult
    public static func classify(_ model: any Layer, _ batch: MicroBatch, lossScale: Float) -> (loss: Double, correct: Int) {
        let logits = model.forward(batch.input, mode: .training)
        let grad = Tensor(shape: logits.shape, category: .workspace)
        let result = StepProfiler.shared.measure(.loss) {
            Losses.softmaxCrossEntropy(logits: logits, labels: batch.labels, gradLogits: grad, scale: lossScale)
        }
        _ = model.backward(grad)
        return result
    }
}
