/// Finding the normalization layers of a model, for the steps that act on all of
/// them: PreciseBN before evaluation, and wiring SyncBN's reducer per worker.
public enum NormalizationLayers {
    /// Every leaf layer of `model` in forward order (walks `Sequential` and
    /// `ResidualBlock`: branch, then shortcut).
    public static func leaves(of model: any Layer) -> [any Layer] {
        if let seq = model as? Sequential { return seq.layers.flatMap { leaves(of: $0) } }
        if let block = model as? ResidualBlock {
            return leaves(of: block.branch) + (block.shortcut.map { leaves(of: $0) } ?? [])
        }
        return [model]
    }

    /// The BatchNorm layers (BN, SyncBN, BRN) of `model`, in forward order.
    public static func batchNorms(in model: any Layer) -> [BatchNorm] {
        leaves(of: model).compactMap { $0 as? BatchNorm }
    }

    /// Makes every BatchNorm of `model` synchronize through `reducer` (nil: per-worker BN).
    /// With W workers in one process, give each worker's model replica the endpoint of
    /// its rank: `CommunicatorReducer` over `LocalCommunicatorGroup(size: W).endpoint(rank: r)`.
    public static func synchronize(_ model: any Layer, reducer: (any StatisticsReducer)?) {
        for bn in batchNorms(in: model) { bn.reducer = reducer }
    }
}

extension PreciseBN {
    /// PreciseBN over every BN-type layer of `model`: `forwardBatch(k)` must run the
    /// model's training-mode forward on batch k (no backward, no optimizer step).
    public static func recompute(model: any Layer, batches: Int, _ forwardBatch: (Int) throws -> Void) rethrows {
        try recompute(layers: NormalizationLayers.leaves(of: model), batches: batches, forwardBatch)
    }
}
