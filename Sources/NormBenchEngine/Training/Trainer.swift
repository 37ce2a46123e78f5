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

/// What one training step measured.
public struct StepResult: Sendable {
    /// Mean loss over the micro-batches (each a mean over its samples).
    public var loss: Double
    /// Samples whose argmax equals the label.
    public var correct: Int
    public var samples: Int
}

/// Trains a classifier with softmax cross-entropy and SGD.
///
/// A step takes W micro-batches, one per simulated data-parallel worker
/// (DESIGN.md "Batch semantics"): each runs forward and backward on its own
/// (its own normalization statistics), gradients accumulate (the loss gradient
/// is scaled by 1/W, so the sum is the mean over workers), then one optimizer
/// update follows. Everything forward saved is freed by the end of the step.
public final class ClassifierTrainer {
    public let model: any Layer
    public let optimizer: SGD

    public init(model: any Layer, optimizer: SGD) {
        self.model = model
        self.optimizer = optimizer
    }

    /// One optimizer step over `microBatches` (W = their count) at `learningRate`.
    @discardableResult
    public func step(_ microBatches: [MicroBatch], learningRate: Float) -> StepResult {
        precondition(!microBatches.isEmpty, "ClassifierTrainer.step: no micro-batches")
        StepProfiler.shared.measure(.optimizer) { optimizer.zeroGradients() }
        var result = StepResult(loss: 0, correct: 0, samples: 0)
        let scale = 1 / Float(microBatches.count)
        for batch in microBatches {
            let logits = model.forward(batch.input, mode: .training)
            let grad = Tensor(shape: logits.shape, category: .workspace)
            let (loss, correct) = StepProfiler.shared.measure(.loss) {
                Losses.softmaxCrossEntropy(logits: logits, labels: batch.labels, gradLogits: grad, scale: scale)
            }
            _ = model.backward(grad)
            result.loss += loss / Double(microBatches.count)
            result.correct += correct
            result.samples += batch.labels.count
        }
        StepProfiler.shared.measure(.optimizer) { optimizer.step(learningRate: learningRate) }
        return result
    }

    /// Logits `[n, classes]` in evaluation mode (nothing saved).
    public func evaluate(_ input: Tensor) -> Tensor {
        model.forward(input, mode: .evaluation)
    }

    /// Correct predictions of `model` on one labelled batch, in evaluation mode.
    public func accuracy(_ batch: MicroBatch) -> (loss: Double, correct: Int) {
        let logits = evaluate(batch.input)
        return Losses.softmaxCrossEntropy(logits: logits, labels: batch.labels, gradLogits: nil)
    }
}
