/// A model's complete trained state as one flat array, for comparing replicas
/// and runs: every learned parameter (in `parameters` order), then every
/// BatchNorm's running mean and variance (in forward order).
public enum ModelState {
    public static func values(of model: any Layer) -> [Float] {
        var out: [Float] = []
        for p in model.parameters { out += p.value.buffer }
        for bn in NormalizationLayers.batchNorms(in: model) {
            out += bn.runningMean.buffer
            out += bn.runningVariance.buffer
        }
        return out
    }

    /// FNV-1a (64 bit) over the values' bytes: equal digests ⇔ (almost surely) bitwise equal states.
    public static func digest(_ values: [Float]) -> UInt64 {
        var h = FNV1a()
        h.add(values)
        return h.value
    }
}
