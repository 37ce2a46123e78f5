import Testing
import NormBenchEngine
import NormBenchTestSupport

@Suite struct ModelTests {
    static let tiny = ResNet3DConfig(frames: 3, height: 6, width: 5, widths: [2, 3, 4], depths: [1, 1, 1], classes: 3, seed: 7)

    /// Every parameter gradient of a whole (tiny) ResNet3D, accumulated over two
    /// micro-batches, against central differences of a Double re-implementation.
    @Test func wholeModelGradientsMatchFiniteDifferences() throws {
        let model = try ResNet3D.classifier(Self.tiny, normalization: NoNormalization())
        let shape = Self.tiny.inputShape(batch: 2)
        let x1 = randomValues(shape.reduce(1, *), seed: 90), x2 = randomValues(shape.reduce(1, *), seed: 91)
        let labels1 = [0, 2], labels2 = [1, 1]
        let sgd = SGD(parameters: model.parameters)
        sgd.zeroGradients()
        for (x, labels) in [(x1, labels1), (x2, labels2)] {
            let logits = model.forward(tensor(shape, x, category: .data), mode: .training)
            let g = Tensor(shape: logits.shape, category: .workspace)
            Losses.softmaxCrossEntropy(logits: logits, labels: labels, gradLogits: g, scale: 0.5)
            _ = model.backward(g)
        }
        var reference = DoubleModel(model)
        for p in model.parameters {
            let id = ObjectIdentifier(p)
            let fd = centralDifference(reference.values[id]!, step: 1e-6) { v in
                reference.values[id] = v
                defer { reference.values[id] = nil }
                let l1 = reference.loss(model, x1.map(Double.init), shape, labels1)
                let l2 = reference.loss(model, x2.map(Double.init), shape, labels2)
                return (l1 + l2) / 2
            }
            reference.values[id] = p.value.array.map(Double.init)
            expectClose(p.grad.array, fd, atol: 2e-4, rtol: 2e-3, "gradient of \(p.name)")
        }
    }

    @Test func modelStructure() throws {
        let model = try ResNet3D.classifier(ResNet3DConfig(), normalization: NoNormalization())
        let names = model.parameters.map(\.name)
        #expect(names.first == "stem.weight")
        #expect(names.contains("stage2.block1.shortcut.weight"))
        #expect(!names.contains("stage1.block1.shortcut.weight"))
        #expect(names.last == "fc.bias")
        // Without normalization every convolution has a bias.
        #expect(names.filter { $0.hasSuffix(".bias") }.count == names.filter { $0.hasSuffix(".weight") }.count)
        let y = model.forward(Tensor(shape: ResNet3DConfig().inputShape(batch: 1), category: .data, zeroed: true), mode: .evaluation)
        #expect(y.shape == [1, 10])
    }

    /// The dense head starts at its biases for every seed: heatmap logits at the
    /// prior's −2.19, box outputs at 0 (at He's scale they spread by whole units,
    /// more for some seeds than others, and the first loss with them).
    @Test func denseHeadStartsAtItsBiasesForEverySeed() throws {
        for seed in 0..<6 {
            let config = ResNet3DConfig(frames: 2, height: 16, width: 16, widths: [8, 16], depths: [1, 1], classes: 3, seed: UInt64(seed))
            let model = try ResNet3D.dense(config, outputs: 3 + 4, heatmaps: 3, normalization: try NormalizationSpec(parsing: "gn:groups=2"))
            let shape = config.inputShape(batch: 2)
            let y = model.forward(tensor(shape, randomValues(shape.reduce(1, *), seed: UInt64(40 + seed)), category: .data), mode: .training).array
            let heat = stride(from: 0, to: y.count, by: 7).flatMap { y[$0..<$0 + 3] }
            let boxes = stride(from: 3, to: y.count, by: 7).flatMap { y[$0..<$0 + 4] }
            #expect(heat.allSatisfy { abs($0 + 2.19) < 0.1 } && boxes.allSatisfy { abs($0) < 0.1 },
                    "seed \(seed): heatmap logits \(heat.min()!)...\(heat.max()!), boxes \(boxes.min()!)...\(boxes.max()!)")
        }
    }

    /// Two runs with the same seed and data give bitwise identical parameters.
    @Test func trainingIsDeterministic() throws {
        func run() throws -> [[Float]] {
            let config = ResNet3DConfig(frames: 4, height: 12, width: 12, widths: [4, 8, 8], depths: [1, 1, 1], classes: 4, seed: 3)
            let model = try ResNet3D.classifier(config, normalization: NoNormalization())
            let optimizer = SGD(parameters: model.parameters, weightDecay: 1e-4)
            let data = SeparableTask(config: config, seed: 11)
            for step in 0..<3 {
                trainStep(model, optimizer, [data.batch(4, index: 2 * step), data.batch(4, index: 2 * step + 1)], learningRate: 0.05)
            }
            return model.parameters.map(\.value.array)
        }
        #expect(try run() == run())
    }

    /// The model learns a small separable task: the class is the quadrant of a bright blob in noise.
    @Test func learnsSeparableTask() throws {
        let config = ResNet3DConfig(frames: 4, height: 16, width: 16, widths: [8, 16, 16], depths: [1, 1, 1], classes: 4, seed: 1)
        let model = try ResNet3D.classifier(config, normalization: NoNormalization())
        let optimizer = SGD(parameters: model.parameters, weightDecay: 1e-4)
        let data = SeparableTask(config: config, seed: 5)
        let schedule = LearningRateSchedule(base: 0.05, decay: .cosine(totalSteps: 150, final: 0.005), warmupSteps: 10)
        for step in 0..<150 {
            trainStep(model, optimizer, [data.batch(8, index: step)], learningRate: schedule.rate(at: step))
        }
        var correct = 0
        for i in 0..<4 {
            let batch = data.batch(32, index: 10_000 + i)
            correct += Losses.softmaxCrossEntropy(logits: model.forward(batch.input, mode: .evaluation), labels: batch.labels, gradLogits: nil).correct
        }
        #expect(correct >= 115, "accuracy \(correct)/128 after 150 steps")
    }

    /// Activation bytes peak at the hand-computed value and return to zero after a step.
    @Test func ledgerAfterStepByHand() {
        let ledger = MemoryLedger()
        MemoryLedger.$scoped.withValue(ledger) {
            var g = SeededGenerator(seed: 1)
            // input [2, 2, 4, 4, 3] → conv(3→4, k3, p1) [2,2,4,4,4] → ReLU → conv(4→4) → ReLU → GAP [2,4] → linear [2,2]
            let conv1 = Convolution3DLayer(name: "c1", inChannels: 3, outChannels: 4, kernel: [3, 3, 3], stride: [1, 1, 1],
                                           padding: [1, 1, 1], bias: true, propagatesGradient: false, generator: &g)
            let conv2 = Convolution3DLayer(name: "c2", inChannels: 4, outChannels: 4, kernel: [3, 3, 3], stride: [1, 1, 1],
                                           padding: [1, 1, 1], bias: true, generator: &g)
            let model = Sequential([conv1, ReLULayer(), conv2, ReLULayer(), GlobalAveragePoolLayer(),
                                    LinearLayer(name: "fc", inFeatures: 4, outFeatures: 2, generator: &g)])
            let optimizer = SGD(parameters: model.parameters)
            let input = Tensor(shape: [2, 2, 4, 4, 3], category: .data, zeroed: true)
            let paramBytes = 4 * ((4 * 27 * 3 + 4) + (4 * 27 * 4 + 4) + (2 * 4 + 2))
            #expect(ledger.live(.parameters) == paramBytes)
            #expect(ledger.live(.gradients) == paramBytes)
            // After a training forward, exactly what layers saved is live, plus the logits:
            // ReLU 1's output (kept by ReLU 1 and conv 2: once), ReLU 2's output, linear's input [2, 4].
            do {
                let logits = model.forward(input, mode: .training)
                #expect(ledger.live(.activations) == 1024 + 1024 + 32 + logits.byteCount)
                let grad = Tensor(shape: logits.shape, category: .workspace, zeroed: true)
                _ = model.backward(grad)
            }
            #expect(ledger.live(.activations) == 0)
            ledger.reset()
            trainStep(model, optimizer, [MicroBatch(input: input, labels: [0, 1])], learningRate: 0.1)
            let s = ledger.snapshot()
            // Every activation is [2, 2, 4, 4, 4] floats = 1024 bytes, except GAP's [2, 4] (32) and the logits (16).
            // Forward peak: ReLU 2 runs while r1 (saved by ReLU 1 and conv 2), y2 (its input) and r2 are live.
            let act = 1024
            #expect(s.peak[.activations] == 3 * act, "activation peak \(s.peak[.activations]!), by hand \(3 * act)")
            #expect(s.live[.activations] == 0)
            #expect(s.live[.workspace] == 0)
            #expect(s.live[.optimizerState] == paramBytes)
        }
    }
}

/// One training step of a classifier over `batches` (W = their count) through
/// the engine's one micro-batch loop (`TrainingStep`), as `normbench run` takes it.
@discardableResult
func trainStep(_ model: any Layer, _ optimizer: SGD, _ batches: [MicroBatch], learningRate: Float) -> Double {
    TrainingStep(optimizer: optimizer).run(learningRate: learningRate) {
        TrainingStep.accumulate(batches.count) { i, scale in TrainingStep.classify(model, batches[i], lossScale: scale).loss }
    }
}

/// A separable synthetic task: noise N(0, 0.5) plus a +1.5 blob in one of four
/// quadrants (all frames, channel 0); the quadrant is the class.
struct SeparableTask {
    let config: ResNet3DConfig
    let seed: UInt64

    func batch(_ n: Int, index: Int) -> MicroBatch {
        var g = SeededGenerator(seed: seed &* 1_000_003 &+ UInt64(index))
        let shape = config.inputShape(batch: n)
        let x = Tensor(shape: shape, category: .data)
        var labels: [Int] = []
        let (d, h, w, c) = (shape[1], shape[2], shape[3], shape[4])
        for s in 0..<n {
            let label = Int(g.next() % 4)
            labels.append(label)
            let (qy, qx) = (label / 2, label % 2)
            for t in 0..<d { for y in 0..<h { for xx in 0..<w { for ch in 0..<c {
                var v = 0.5 * g.nextNormal()
                if ch == 0 && y / (h / 2) == qy && xx / (w / 2) == qx { v += 1.5 }
                x.data[(((s * d + t) * h + y) * w + xx) * c + ch] = v
            }}}}
        }
        return MicroBatch(input: x, labels: labels)
    }
}

/// A weight transform for tests: filters × 2 (so its backward is gradients × 2).
final class DoublingTransform: WeightTransform {
    func forward(_ weight: Tensor) -> Tensor {
        let t = Tensor(shape: weight.shape, category: .workspace)
        for i in 0..<t.count { t.data[i] = 2 * weight.data[i] }
        return t
    }
    func backward(_ gradTransformed: Tensor) -> Tensor {
        let t = Tensor(shape: gradTransformed.shape, category: .workspace)
        for i in 0..<t.count { t.data[i] = 2 * gradTransformed.data[i] }
        return t
    }
}

@Suite struct ConvolutionLayerTests {
    /// The layer convolves with the transformed filters and maps the filter gradient back through the transform.
    @Test func weightTransformIsApplied() {
        var g = SeededGenerator(seed: 4)
        let layer = Convolution3DLayer(name: "c", inChannels: 3, outChannels: 5, kernel: [3, 3, 3], stride: [1, 2, 2],
                                       padding: [1, 1, 1], bias: false, transform: DoublingTransform(), generator: &g)
        let shape = [2, 3, 5, 4, 3]
        let xv = randomValues(shape.reduce(1, *), seed: 12)
        let geometry = layer.geometry(for: shape)
        let gyv = randomValues(geometry.outputShape.reduce(1, *), seed: 13)
        let w2 = layer.weight.value.array.map { 2 * Double($0) }
        let y = layer.forward(tensor(shape, xv), mode: .training)
        expectClose(y.array, convolutionReference(xv.map(Double.init), w2, nil, geometry), atol: 1e-4, rtol: 1e-4, "forward with 2w")
        layer.weight.grad.fill(1)  // backward accumulates
        let gx = layer.backward(tensor(geometry.outputShape, gyv))
        expectClose(gx.array, convolutionBackwardDataReference(gyv.map(Double.init), w2, geometry), atol: 1e-4, rtol: 1e-4, "gradX with 2w")
        let gw = convolutionBackwardWeightsReference(xv.map(Double.init), gyv.map(Double.init), geometry).w
        expectClose(layer.weight.grad.array, gw.map { 1 + 2 * $0 }, atol: 1e-3, rtol: 1e-4, "gradW through the transform, accumulated")
    }
}
