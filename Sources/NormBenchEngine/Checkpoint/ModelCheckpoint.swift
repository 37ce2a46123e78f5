/// A model's parameters and BatchNorm statistics by name, for safetensors
/// checkpoints (docs/checkpoints.md).
///
/// Names follow the model's layers in forward order:
/// - a convolution or linear layer: its own name, `stem.weight`,
///   `stage2.block1.conv1.weight`, `stage2.block1.shortcut.weight`, `fc.weight`,
///   `fc.bias`, `head.conv.bias`;
/// - the normalization after a convolution: the convolution's name with `convK`
///   replaced by `normK`, or `.norm` appended (`stage2.block1.norm1`, `stem.norm`,
///   `stage2.block1.shortcut.norm`), then `.gamma`, `.beta` (and `.tau` for FRN,
///   `.v` for EvoNorm-S0); BN-type layers (bn, syncbn, brn, frozenbn) add
///   `.running_mean` and `.running_var` (the unbiased running variance).
///
/// Shapes are the engine's: convolution filters `[out, kd, kh, kw, in]`, linear
/// weights `[out, in]`, everything per channel `[c]`.
public enum ModelCheckpoint {
    /// One named tensor of a model.
    public struct Slot {
        public let name: String
        public let tensor: Tensor
        /// A running statistic (not learned), rather than a parameter.
        public let isStatistic: Bool
    }

    /// Every tensor a checkpoint stores, in forward order.
    public static func slots(of model: any Layer) -> [Slot] {
        var out: [Slot] = []
        var lastConvolution: String?
        var unnamed = 0
        for leaf in NormalizationLayers.leaves(of: model) {
            if let conv = leaf as? Convolution3DLayer {
                lastConvolution = String(conv.weight.name.dropLast(".weight".count))
                out += conv.parameters.map { Slot(name: $0.name, tensor: $0.value, isStatistic: false) }
                continue
            }
            guard leaf.kind == .normalization else {
                out += leaf.parameters.map { Slot(name: $0.name, tensor: $0.value, isStatistic: false) }
                continue
            }
            let prefix: String
            if let conv = lastConvolution {
                prefix = normalizationName(after: conv)
                lastConvolution = nil
            } else {
                unnamed += 1
                prefix = "norm\(unnamed)"
            }
            if let bn = leaf as? BatchNorm {
                out += bn.parameters.map { Slot(name: "\(prefix).\($0.name)", tensor: $0.value, isStatistic: false) }
                out.append(Slot(name: "\(prefix).running_mean", tensor: bn.runningMean, isStatistic: true))
                out.append(Slot(name: "\(prefix).running_var", tensor: bn.runningVariance, isStatistic: true))
            } else if let frozen = leaf as? FrozenBatchNorm {
                out.append(Slot(name: "\(prefix).gamma", tensor: frozen.gamma, isStatistic: false))
                out.append(Slot(name: "\(prefix).beta", tensor: frozen.beta, isStatistic: false))
                out.append(Slot(name: "\(prefix).running_mean", tensor: frozen.mean, isStatistic: true))
                out.append(Slot(name: "\(prefix).running_var", tensor: frozen.variance, isStatistic: true))
            } else {
                out += leaf.parameters.map { Slot(name: "\(prefix).\($0.name)", tensor: $0.value, isStatistic: false) }
            }
        }
        return out
    }

    /// `stage1.block1.conv2` → `stage1.block1.norm2`; any other name gets `.norm`.
    static func normalizationName(after convolution: String) -> String {
        var parts = convolution.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if let last = parts.last, last.hasPrefix("conv"), let k = Int(last.dropFirst(4)) {
            parts[parts.count - 1] = "norm\(k)"
            return parts.joined(separator: ".")
        }
        return convolution + ".norm"
    }

    /// The model's tensors as safetensors entries (values copied).
    public static func entries(of model: any Layer) -> [SafeTensors.Entry] {
        let all = slots(of: model)
        precondition(Set(all.map(\.name)).count == all.count, "ModelCheckpoint: duplicate tensor names in \(all.map(\.name))")
        return all.map { SafeTensors.Entry(name: $0.name, shape: $0.tensor.shape, values: $0.tensor.array) }
    }

    /// Whether a tensor belongs to a task's head (`fc.*` of a classifier,
    /// `head.*` of the dense predictor): left fresh when the checkpoint's differs.
    public static func isHead(_ name: String) -> Bool { name.hasPrefix("fc.") || name.hasPrefix("head.") }

    /// Methods whose checkpoints carry BN statistics and γ, β: any of them
    /// initializes any other (bn, syncbn, brn re-estimate the statistics while
    /// fine-tuning; frozenbn keeps them).
    public static let batchNormFamily: Set<NormMethod> = [.batchNorm, .syncBatchNorm, .batchRenorm, .frozenBatchNorm]

    /// Whether a checkpoint trained with `trained` may initialize a model with `target`.
    public static func canInitialize(_ target: NormMethod, from trained: NormMethod) -> Bool {
        trained == target || (batchNormFamily.contains(trained) && batchNormFamily.contains(target))
    }

    /// What loading did.
    public struct LoadReport: Equatable, Sendable {
        /// Tensors copied from the checkpoint.
        public var loaded: [String]
        /// Head tensors of the model left as initialized (absent or of another shape in the checkpoint).
        public var freshHead: [String]
        /// Head tensors of the checkpoint the model has no tensor of that name for.
        public var ignoredHead: [String]
    }

    /// The first way a checkpoint does not fit a model: what, and how to fix it.
    public struct Mismatch: Error, Equatable, CustomStringConvertible {
        public let problem: String
        public let fix: String
        public var description: String { "\(problem); \(fix)" }
    }

    /// Copies the checkpoint's tensors into `model` by name. Head layers
    /// (`isHead`) whose tensors are absent or shaped differently stay as they
    /// are; every other tensor of the model must be in the checkpoint with the
    /// same shape, and the checkpoint must hold nothing else. Nothing is copied
    /// unless everything fits.
    /// - Throws: `Mismatch` for the first tensor that does not fit.
    public static func load(_ file: SafeTensors.File, into model: any Layer, isHead: (String) -> Bool = isHead) throws(Mismatch) -> LoadReport {
        let slots = slots(of: model)
        var stored: [String: SafeTensors.Entry] = [:]
        for e in file.entries { stored[e.name] = e }
        let sameModel = "load a checkpoint of the same model.widths, model.blocks and normalization family"
        func layer(_ name: String) -> String { name.split(separator: ".").dropLast().joined(separator: ".") }
        // Head layers load whole or not at all.
        var freshLayers = Set<String>()
        for s in slots where isHead(s.name) {
            if stored[s.name]?.shape != s.tensor.shape { freshLayers.insert(layer(s.name)) }
        }
        var copies: [(Slot, SafeTensors.Entry)] = []
        var fresh: [String] = []
        for s in slots {
            if isHead(s.name) && freshLayers.contains(layer(s.name)) {
                fresh.append(s.name)
                continue
            }
            guard let e = stored[s.name] else {
                let what = s.isStatistic ? "BatchNorm statistic" : "tensor"
                throw Mismatch(problem: "the model's \(what) \(s.name) \(s.tensor.shape) is not in the checkpoint", fix: sameModel)
            }
            guard e.shape == s.tensor.shape else {
                throw Mismatch(problem: "\(s.name) is \(e.shape) in the checkpoint but \(s.tensor.shape) in the model", fix: sameModel)
            }
            copies.append((s, e))
        }
        let used = Set(copies.map(\.0.name)), names = Set(slots.map(\.name))
        var ignored: [String] = []
        for e in file.entries where !used.contains(e.name) && !names.contains(e.name) {
            guard isHead(e.name) else {
                throw Mismatch(problem: "the checkpoint has \(e.name) \(e.shape), which the model lacks", fix: sameModel)
            }
            ignored.append(e.name)
        }
        for (s, e) in copies {
            guard s.tensor.count > 0 else { continue }
            e.values.withUnsafeBufferPointer { s.tensor.data.update(from: $0.baseAddress!, count: s.tensor.count) }
        }
        return LoadReport(loaded: copies.map(\.0.name), freshHead: fresh, ignoredHead: ignored)
    }
}
