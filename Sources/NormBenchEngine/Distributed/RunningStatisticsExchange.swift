/// Per-worker BatchNorm's running statistics across data-parallel replicas.
///
/// In the single-process simulation of W workers one model runs the W
/// micro-batches in turn, so each BN layer's running mean and variance take W
/// updates per step, in worker order. A real replica sees only its own
/// micro-batch. To end every step with the simulation's buffers (and identical
/// buffers on every replica), each replica defers its updates
/// (`BatchNorm.defersRunningUpdates`), sends them in `payload()`, and after an
/// all-gather applies every rank's updates in rank order with the layer's own
/// arithmetic (`apply(_:)`). Training forwards do not read the running
/// statistics (except Batch Renorm's, which is therefore not supported here),
/// so deferring them to the end of the step changes nothing else.
///
/// SyncBN layers are left out: their statistics are already the same on every rank.
///
/// Payload per layer and forward: a flag (1: has a variance update), the
/// mean and the unbiased variance per channel, as doubles.
public final class RunningStatisticsExchange {
    /// The per-worker BN layers, in forward order.
    public let layers: [BatchNorm]

    /// Takes over every BatchNorm of `model` that normalizes with its own
    /// worker's statistics (no reducer, or a reducer of one worker).
    public init(model: any Layer) {
        layers = NormalizationLayers.batchNorms(in: model).filter { ($0.reducer?.workers ?? 1) == 1 }
        for bn in layers {
            precondition(bn.renorm == nil, "RunningStatisticsExchange: Batch Renorm reads its running statistics in forward; deferring their updates would change its numbers")
            bn.defersRunningUpdates = true
        }
    }

    /// This replica's deferred updates since the last call, encoded for `apply`.
    public func payload() -> [Double] {
        var out: [Double] = []
        for bn in layers {
            let updates = bn.takePendingRunningUpdates()
            out.append(Double(updates.count))
            for u in updates {
                out.append(u.unbiasedVariance == nil ? 0 : 1)
                out += u.mean
                out += u.unbiasedVariance ?? [Double](repeating: 0, count: bn.channels)
            }
        }
        return out
    }

    /// Applies every rank's payload, rank 0 first, each layer's updates in the order they were made.
    public func apply(_ payloads: [[Double]]) {
        for payload in payloads {
            var i = 0
            for bn in layers {
                precondition(i < payload.count, "RunningStatisticsExchange: payload of \(payload.count) values is too short")
                let forwards = Int(payload[i])
                i += 1
                let c = bn.channels
                for _ in 0..<forwards {
                    precondition(i + 1 + 2 * c <= payload.count, "RunningStatisticsExchange: payload of \(payload.count) values is too short")
                    let hasVariance = payload[i] != 0
                    let mean = Array(payload[(i + 1)..<(i + 1 + c)])
                    let variance = Array(payload[(i + 1 + c)..<(i + 1 + 2 * c)])
                    bn.applyRunningUpdate(BatchNorm.RunningUpdate(mean: mean, unbiasedVariance: hasVariance ? variance : nil))
                    i += 1 + 2 * c
                }
            }
            precondition(i == payload.count, "RunningStatisticsExchange: payload has \(payload.count - i) values left over; replicas built different models")
        }
    }

    /// Gives the layers back their own running statistics (before PreciseBN and evaluation).
    public func detach() {
        for bn in layers {
            precondition(bn.pendingRunningUpdates.isEmpty, "RunningStatisticsExchange.detach: updates not exchanged")
            bn.defersRunningUpdates = false
        }
    }
}
