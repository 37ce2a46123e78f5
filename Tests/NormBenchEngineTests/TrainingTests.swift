import Foundation
import Testing
import NormBenchEngine

@Suite struct TrainingTests {
    @Test func scheduleRates() {
        let step = LearningRateSchedule(base: 0.1, decay: .step(milestones: [10, 20], gamma: 0.1))
        #expect(step.rate(at: 0) == 0.1)
        #expect(abs(step.rate(at: 10) - 0.01) < 1e-7)
        #expect(abs(step.rate(at: 25) - 0.001) < 1e-8)
        let cosine = LearningRateSchedule(base: 0.2, decay: .cosine(totalSteps: 100, final: 0), warmupSteps: 10, warmupStartFactor: 0.1)
        #expect(abs(cosine.rate(at: 0) - 0.2 * 0.1 * Float(0.5 * (1 + cos(0.0)))) < 1e-7)
        #expect(abs(cosine.rate(at: 5) - 0.2 * 0.55 * Float(0.5 * (1 + cos(Double.pi * 0.05)))) < 1e-7)
        #expect(abs(cosine.rate(at: 50) - 0.1) < 1e-6)
        #expect(cosine.rate(at: 100) == 0)
        #expect(cosine.rate(at: 150) == 0)
    }

    /// Two SGD steps by hand: momentum, weight decay, and no decay on normalization parameters.
    @Test func sgdMatchesHandComputation() {
        let w = Parameter(name: "w", role: .weight, shape: [2])
        let gamma = Parameter(name: "gamma", role: .normScale, shape: [1])
        w.value.copy(from: tensor([2], [1, -2], category: .parameters))
        gamma.value.fill(1)
        let sgd = SGD(parameters: [w, gamma], momentum: 0.9, weightDecay: 0.1, decayNormalization: false)
        var (v0, v1, vg): (Double, Double, Double) = (0, 0, 0)
        var (w0, w1, g0): (Double, Double, Double) = (1, -2, 1)
        for (lr, grads) in [(0.5, [0.5, 0.25, 2.0]), (0.25, [-1.0, 1.0, -1.0])] {
            w.grad.copy(from: tensor([2], [Float(grads[0]), Float(grads[1])], category: .gradients))
            gamma.grad.fill(Float(grads[2]))
            sgd.step(learningRate: Float(lr))
            v0 = 0.9 * v0 + grads[0] + 0.1 * w0; w0 -= lr * v0
            v1 = 0.9 * v1 + grads[1] + 0.1 * w1; w1 -= lr * v1
            vg = 0.9 * vg + grads[2]; g0 -= lr * vg
        }
        expectClose(w.value.array + gamma.value.array, [w0, w1, g0], atol: 1e-6, rtol: 1e-6, "SGD two steps")
        sgd.decayNormalization = true
        gamma.grad.fill(0)
        w.grad.fill(0)
        let before = gamma.value.array[0]
        sgd.step(learningRate: 1)
        // v = 0.9·vg + 0.1·γ; γ −= v
        expectClose(gamma.value.array, [Double(before) - (0.9 * vg + 0.1 * Double(before))], atol: 1e-6, rtol: 1e-6, "decay on norm")
    }

    /// W micro-batches of size 1 give the same update as one batch of W (no batch statistics involved).
    @Test func microBatchesAccumulateToTheBatchGradient() throws {
        let config = ResNet3DConfig(frames: 2, height: 8, width: 8, widths: [4, 4, 8], depths: [1, 1, 1], classes: 3, seed: 9)
        let data = SeparableTask(config: config, seed: 2).batch(2, index: 0)
        let perSample = data.input.count / 2
        func sample(_ i: Int) -> MicroBatch {
            let x = Tensor(shape: config.inputShape(batch: 1), category: .data)
            x.data.update(from: data.input.data + i * perSample, count: perSample)
            return MicroBatch(input: x, labels: [data.labels[i]])
        }
        func train(_ batches: [MicroBatch]) throws -> [Float] {
            let model = try ResNet3D.classifier(config, normalization: NoNormalization())
            trainStep(model, SGD(parameters: model.parameters), batches, learningRate: 0.1)
            return model.parameters.flatMap(\.value.array)
        }
        let whole = try train([data]), split = try train([sample(0), sample(1)])
        expectClose(split, whole.map(Double.init), atol: 1e-6, rtol: 1e-4, "2 micro-batches vs 1 batch")
    }
}
