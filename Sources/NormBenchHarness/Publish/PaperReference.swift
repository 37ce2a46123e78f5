/// Numbers from the Group Normalization paper (Wu & He, ECCV 2018,
/// arXiv:1803.08494): ResNet-50 trained on ImageNet, top-1 validation error in
/// percent, batch = images per GPU, 8 GPUs. Shown beside normbench's own numbers
/// as a reference: the same question at a different scale (2D images, 1.28 M
/// training images, 100 epochs), not a target to match.
///
/// Checked against the paper's abstract and Figure 1: BN 23.6 → 34.7, GN 24.1 at
/// both ends (10.6 points apart at batch 2). The other values are transcribed
/// from Tables 1-3 and were not re-checked against the text. Kinetics (I3D) and
/// COCO (Mask R-CNN) numbers are not included: they could not be checked.
public enum PaperReference {
    /// Where the numbers come from, for captions.
    public static let source = "GN paper (Wu & He 2018, arXiv:1803.08494), ResNet-50 on ImageNet, top-1 error %"

    /// Batch sizes (images per GPU) of the paper's batch study (Table 2 / Figure 1).
    public static let batches = [32, 16, 8, 4, 2]

    /// Error (%) by method and batch per GPU (Table 2): BN degrades, GN stays flat.
    public static let errorByBatch: [String: [Int: Double]] = [
        "bn": [32: 23.6, 16: 23.7, 8: 24.8, 4: 27.3, 2: 34.7],
        "gn": [32: 24.1, 16: 24.2, 8: 24.0, 4: 24.2, 2: 24.1],
    ]

    /// Error (%) at 32 images per GPU by method (Table 1).
    public static let errorAt32: [String: Double] = ["bn": 23.6, "ln": 25.3, "in": 28.4, "gn": 24.1]

    /// Group ablation at 32 images per GPU (Table 3, top): error (%) by number of
    /// groups G; G = 1 is LN.
    public static let errorByGroups: [Int: Double] = [64: 24.6, 32: 24.1, 16: 24.6, 8: 24.4, 4: 24.6, 2: 24.7, 1: 25.6]

    /// Group ablation (Table 3, bottom): error (%) by channels per group; 1 is IN.
    public static let errorByChannelsPerGroup: [Int: Double] = [64: 24.4, 32: 24.5, 16: 24.2, 8: 24.3, 4: 24.8, 2: 25.6, 1: 28.4]
}
