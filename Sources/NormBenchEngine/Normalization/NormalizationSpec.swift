import Foundation

/// The normalization methods normbench compares, by their short names (command
/// line and YAML).
public enum NormMethod: String, CaseIterable, Codable, Sendable {
    case batchNorm = "bn"
    case syncBatchNorm = "syncbn"
    case frozenBatchNorm = "frozenbn"
    case layerNorm = "ln"
    case instanceNorm = "in"
    case groupNorm = "gn"
    case groupNormWS = "gn+ws"
    case batchRenorm = "brn"
    case filterResponseNorm = "frn"
    case evoNormS0 = "evonorm"
    case none = "none"

    /// Whether the method uses batch statistics (and so PreciseBN applies).
    public var usesBatchStatistics: Bool {
        self == .batchNorm || self == .syncBatchNorm || self == .batchRenorm
    }

    /// Whether the method has a group count (gn, gn+ws, evonorm): a sweep varies
    /// `groups` only for these, and only these need groups that divide every width.
    public var hasGroups: Bool {
        self == .groupNorm || self == .groupNormWS || self == .evoNormS0
    }

    /// Whether the method's batch statistics span every worker of a step (SyncBN).
    public var sharesStatisticsAcrossWorkers: Bool { self == .syncBatchNorm }

    /// Whether the single-process simulation runs a step as one micro-batch of
    /// W × batch samples instead of W micro-batches: exactly SyncBN (BatchNorm over
    /// the concatenation), so its memory is that of the W × batch micro-batch.
    public var runsAsOneMicroBatch: Bool { sharesStatisticsAcrossWorkers }
}

/// A normalization method with its options: the engine's `NormalizationFactory`.
///
/// `make(channels:role:)` builds one layer per normalized convolution:
/// bn → `BatchNorm`; syncbn → `BatchNorm` with `IdentityReducer` (set each layer's
/// `reducer` to a real group to synchronize); frozenbn → `FrozenBatchNorm`;
/// ln, in, gn, gn+ws → `GroupNorm`; brn → `BatchNorm` with `renorm`;
/// frn → `FilterResponseNorm`; evonorm → `EvoNormS0`; none → nil (conv bias on).
public struct NormalizationSpec: NormalizationFactory, Equatable, Sendable {
    public var method: NormMethod
    public var epsilon: Float = 1e-5
    /// Learn per-channel γ, β.
    public var affine = true
    /// Groups for gn, gn+ws, evonorm (ignored when `channelsPerGroup` is set).
    public var groups = 32
    /// Channels per group instead of a fixed group count (GN paper's "channels per group").
    public var channelsPerGroup: Int?
    /// BN running-statistics momentum (PyTorch convention).
    public var momentum: Float = 0.1
    /// γ = 0 for the last normalization of a residual branch (GN paper, Goyal et al.).
    public var zeroInitLastGamma = true
    /// Batch Renormalization limits and warm-up (brn).
    public var renorm = BatchRenormOptions()
    /// Weight Standardization's ε (gn+ws).
    public var weightStandardizationEpsilon: Float = 1e-5

    public init(method: NormMethod) { self.method = method }

    /// Parses "gn", "gn:groups=16", "gn:cpg=4", "bn:momentum=0.01,eps=1e-3",
    /// "brn:rmax=3,dmax=5,warmup=5000", "evonorm:groups=8", "ln:affine=false".
    /// - Throws: `NormalizationError.unknownMethod` / `.invalidOption` naming the value and what was expected.
    public init(parsing text: String) throws {
        let parts = text.split(separator: ":", maxSplits: 1).map { String($0).trimmingCharacters(in: .whitespaces) }
        let name = parts.first?.lowercased() ?? ""
        guard let method = NormMethod(rawValue: name) else { throw NormalizationError.unknownMethod(text) }
        self.init(method: method)
        guard parts.count == 2 else { return }
        for item in parts[1].split(separator: ",") {
            let kv = item.split(separator: "=", maxSplits: 1).map { String($0).trimmingCharacters(in: .whitespaces) }
            let key = kv[0].lowercased(), value = kv.count == 2 ? kv[1] : ""
            func bad(_ expected: String) -> NormalizationError {
                .invalidOption(method: name, option: key, value: value, expected: expected)
            }
            func positiveInt() throws -> Int {
                guard let v = Int(value), v >= 1 else { throw bad("a positive integer, e.g. \(key)=16") }
                return v
            }
            func float(min: Float = 0) throws -> Float {
                guard let v = Float(value), v.isFinite, v >= min else { throw bad("a number ≥ \(min), e.g. \(key)=0.1") }
                return v
            }
            switch key {
            case "groups", "g": groups = try positiveInt(); channelsPerGroup = nil
            case "cpg", "channelspergroup": channelsPerGroup = try positiveInt()
            case "eps", "epsilon": epsilon = try float()
            case "momentum": momentum = try float()
            case "affine":
                guard let v = Bool(value) else { throw bad("true or false") }
                affine = v
            case "zerogamma", "zeroinitlastgamma":
                guard let v = Bool(value) else { throw bad("true or false") }
                zeroInitLastGamma = v
            case "rmax": renorm.rMax = try float(min: 1)
            case "dmax": renorm.dMax = try float()
            case "warmup":
                guard let v = Int(value), v >= 0 else { throw bad("a non-negative integer, e.g. warmup=5000") }
                renorm.warmupSteps = v
            default:
                throw bad("one of groups, cpg, eps, momentum, affine, zerogamma, rmax, dmax, warmup")
            }
        }
    }

    /// The short name with the options that differ from the defaults, e.g. "gn:groups=16".
    public var name: String {
        var options: [String] = []
        let defaults = NormalizationSpec(method: method)
        if let cpg = channelsPerGroup { options.append("cpg=\(cpg)") } else if groups != defaults.groups { options.append("groups=\(groups)") }
        if epsilon != defaults.epsilon { options.append("eps=\(epsilon)") }
        if momentum != defaults.momentum { options.append("momentum=\(momentum)") }
        if affine != defaults.affine { options.append("affine=\(affine)") }
        return options.isEmpty ? method.rawValue : method.rawValue + ":" + options.joined(separator: ",")
    }

    /// Groups for `channels` under this spec.
    /// - Throws: when `groups`/`channelsPerGroup` does not divide `channels`.
    public func groupCount(channels: Int, method label: String = "GroupNorm") throws -> Int {
        if let cpg = channelsPerGroup {
            guard cpg >= 1, channels % cpg == 0 else {
                throw NormalizationError.channelsPerGroupDoesNotDivide(method: label, channels: channels, channelsPerGroup: cpg)
            }
            return channels / cpg
        }
        guard groups >= 1, channels % groups == 0 else {
            throw NormalizationError.groupsDoNotDivide(method: label, channels: channels, groups: groups)
        }
        return groups
    }

    public func make(channels: Int, role: NormalizationRole) throws -> (any Layer)? {
        let gamma0: Float = (role == .residualLast && zeroInitLastGamma) ? 0 : 1
        switch method {
        case .none:
            return nil
        case .batchNorm:
            return BatchNorm(channels: channels, epsilon: epsilon, momentum: momentum, affine: affine, initialGamma: gamma0)
        case .syncBatchNorm:
            return BatchNorm(channels: channels, epsilon: epsilon, momentum: momentum, affine: affine, initialGamma: gamma0,
                             reducer: IdentityReducer())
        case .batchRenorm:
            return BatchNorm(channels: channels, epsilon: epsilon, momentum: momentum, affine: affine, initialGamma: gamma0,
                             renorm: renorm)
        case .frozenBatchNorm:
            return FrozenBatchNorm(channels: channels, epsilon: epsilon)
        case .layerNorm:
            return GroupNorm.layerNorm(channels: channels, epsilon: epsilon, affine: affine, initialGamma: gamma0)
        case .instanceNorm:
            return GroupNorm.instanceNorm(channels: channels, epsilon: epsilon, affine: affine, initialGamma: gamma0)
        case .groupNorm, .groupNormWS:
            return try GroupNorm(channels: channels, groups: groupCount(channels: channels), epsilon: epsilon,
                                 affine: affine, initialGamma: gamma0)
        case .filterResponseNorm:
            return FilterResponseNorm(channels: channels, epsilon: max(epsilon, 1e-6), initialGamma: gamma0)
        case .evoNormS0:
            return try EvoNormS0(channels: channels, groups: groupCount(channels: channels, method: "EvoNorm-S0"),
                                 epsilon: epsilon, initialGamma: gamma0)
        }
    }

    public func makeWeightTransform() -> (any WeightTransform)? {
        method == .groupNormWS ? WeightStandardization(epsilon: weightStandardizationEpsilon) : nil
    }
}

extension Parameter {
    /// γ (filled with `initialGamma`) and β of a normalization over `channels`
    /// channels, or nil for both when the layer is not affine.
    static func normAffine(channels: Int, initialGamma: Float, affine: Bool = true) -> (gamma: Parameter?, beta: Parameter?) {
        guard affine else { return (nil, nil) }
        let gamma = Parameter(name: "gamma", role: .normScale, shape: [channels])
        gamma.value.fill(initialGamma)
        return (gamma, Parameter(name: "beta", role: .normShift, shape: [channels]))
    }
}
