import Foundation
import Testing
import NormBenchEngine

/// A normalization with its ReLU fused (`ReLUFusing`) gives the bits of the same
/// layer followed by a `ReLULayer`, forward and backward, for every method that
/// fuses, with streaming stores and without, and in whole models.
@Suite struct FusedReLUTests {
    /// (name, layer factory): every `ReLUFusing` layer kind.
    static func layers(channels c: Int) -> [(String, () throws -> any ReLUFusing)] {
        [("GN(G=4)", { try GroupNorm(channels: c, groups: 4) }),
         ("LN", { GroupNorm.layerNorm(channels: c) }),
         ("IN", { GroupNorm.instanceNorm(channels: c) }),
         ("BN", { BatchNorm(channels: c) }),
         ("BRN", { BatchNorm(channels: c, renorm: BatchRenormOptions(rMax: 1.5, dMax: 0.5, warmupSteps: 0)) })]
    }

    static func configured(_ make: () throws -> any ReLUFusing, c: Int, fused: Bool) throws -> any ReLUFusing {
        let layer = try make()
        layer.parameters[0].value.copy(from: tensor([c], randomValues(c, seed: 5, mean: 1, scale: 0.5)))
        // β = 0 on even channels: there a constant set's values are exactly 0 before the ReLU.
        let beta = randomValues(c, seed: 6, scale: 0.5).enumerated().map { $0.offset % 2 == 0 ? 0 : $0.element }
        layer.parameters[1].value.copy(from: tensor([c], beta))
        layer.fusedReLU = fused
        return layer
    }

    func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }
    func differing(_ a: [Float], _ b: [Float]) -> Int { zip(a, b).filter { $0.bitPattern != $1.bitPattern }.count }

    @Test(arguments: [[3, 4, 8, 8, 32], [2, 3, 5, 5, 12]], [false, true])
    func fusedReLUGivesTheBitsOfASeparateReLU(shape: [Int], stream: Bool) throws {
        let c = shape[4], count = shape.reduce(1, *)
        // Sample 0 and channel 0 constant: sets of GN, LN, IN and BN whose normalized
        // values are exactly 0 (the ReLU's mask must zero their gradient, as
        // ReLULayer does for an output of 0).
        var x = randomValues(count, seed: 1, mean: 0.5, scale: 2)
        for i in 0..<count where i < count / shape[0] || i % c == 0 { x[i] = 1.5 }
        let w = randomValues(count, seed: 2)
        for (name, make) in Self.layers(channels: c) {
            let label = "\(name) \(shape) streaming \(stream)"
            try StreamingStores.$forced.withValue(stream) {
                let plain = try Self.configured(make, c: c, fused: false)
                let fused = try Self.configured(make, c: c, fused: true)
                let separate = runLayer(Sequential([plain, ReLULayer()]), shape: shape, x: x, w: w)
                let together = runLayer(fused, shape: shape, x: x, w: w)
                let zeros = together.y.filter { $0 == 0 }.count
                #expect(zeros > count / 8 && zeros < 7 * count / 8, "\(label): \(zeros) of \(count) outputs are 0")
                #expect(differing(together.y, separate.y) == 0, "\(label): forward differs")
                #expect(differing(together.dx, separate.dx) == 0, "\(label): dx differs")
                #expect(zip(together.paramGrads, separate.paramGrads).map(differing) == [0, 0], "\(label): γ, β gradients differ")
                // Evaluation (BN: the running statistics the training forward just updated).
                let yPlain = Sequential([plain, ReLULayer()]).forward(tensor(shape, x), mode: .evaluation)
                let yFused = fused.forward(tensor(shape, x), mode: .evaluation)
                #expect(differing(yFused.array, yPlain.array) == 0, "\(label): evaluation forward differs")
            }
        }
    }

    /// Whole models: the fused build has one ReLU layer fewer per norm → ReLU
    /// pair (stem and each block's first convolution) and the same logits and
    /// gradients, bit for bit; methods that do not fuse keep their ReLU layers.
    @Test(arguments: ["bn", "gn:groups=2", "in", "syncbn", "frn", "none"])
    func fusedModelsTrainBitForBit(norm: String) throws {
        let config = ResNet3DConfig(frames: 4, height: 16, width: 16, widths: [8, 16], depths: [1, 1], classes: 3, seed: 3)
        let spec = try NormalizationSpec(parsing: norm)
        func run(fuse: Bool) throws -> (reluLayers: Int, logits: [UInt32], grads: [[UInt32]]) {
            let model = try ResNet3D.classifier(config, normalization: spec, fuseReLU: fuse)
            let shape = config.inputShape(batch: 2)
            let logits = model.forward(tensor(shape, randomValues(shape.reduce(1, *), seed: 9)), mode: .training)
            _ = model.backward(tensor(logits.shape, randomValues(logits.count, seed: 10)))
            let relus = NormalizationLayers.leaves(of: model).filter { $0 is ReLULayer }.count
            return (relus, bits(logits.array), model.parameters.map { bits($0.grad.array) })
        }
        let separate = try run(fuse: false), fused = try run(fuse: true)
        let fuses = ["bn", "gn:groups=2", "in", "syncbn"].contains(norm)
        #expect(separate.reluLayers == 3)
        #expect(fused.reluLayers == (fuses ? 0 : 3), "\(norm): \(fused.reluLayers) ReLU layers left")
        #expect(fused.logits == separate.logits, "\(norm): logits differ")
        let differingGrads = zip(fused.grads, separate.grads).map { zip($0, $1).filter { $0 != $1 }.count }.reduce(0, +)
        #expect(differingGrads == 0, "\(norm): \(differingGrads) parameter gradient elements differ")
    }
}
