/// The data-parallel gradient exchange: every parameter's gradient summed over
/// the ranks in one all-reduce.
///
/// Workers scale their loss gradient by 1/W (as the single-process simulation
/// does for its W micro-batches), so the sum is the gradient of the mean loss.
/// The gradients are packed into one buffer of `count` floats (ledger:
/// workspace, allocated for the exchange and freed after it, when the step's
/// activations are already gone), reduced, and unpacked: one call per step
/// instead of one per parameter.
public final class GradientAllReduce {
    public let parameters: [Parameter]
    /// Floats exchanged per step: every parameter element.
    public let count: Int

    public init(parameters: [Parameter]) {
        self.parameters = parameters
        count = parameters.reduce(0) { $0 + $1.grad.count }
    }

    /// Bytes handed to the all-reduce per step.
    public var payloadBytes: Int { count * MemoryLayout<Float>.stride }

    /// Replaces every gradient with its sum over the ranks of `communicator`;
    /// the all-reduce's time goes to `meter` under `.gradients`.
    public func run(_ communicator: any Communicator, meter: CollectiveMeter) {
        guard count > 0 else { return }
        let packed = Tensor(shape: [count], category: .workspace)
        var offset = 0
        for p in parameters {
            (packed.data + offset).update(from: p.grad.data, count: p.grad.count)
            offset += p.grad.count
        }
        meter.measure(.gradients, payload: payloadBytes) { communicator.allReduceSum(packed.data, count: count) }
        offset = 0
        for p in parameters {
            p.grad.data.update(from: packed.data + offset, count: p.grad.count)
            offset += p.grad.count
        }
    }
}
