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
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for v in values {
            var bits = v.bitPattern
            for _ in 0..<4 {
                h = (h ^ UInt64(bits & 0xFF)) &* 0x0100_0000_01B3
                bits >>= 8
            }
        }
        return h
    }
}
