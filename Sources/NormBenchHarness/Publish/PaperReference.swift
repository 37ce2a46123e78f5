/// Numbers from the Group Normalization paper (Wu & He, ECCV 2018,
/// arXiv:1803.08494): ResNet-50 trained on ImageNet, top-1 validation error in
/// percent, batch = images per GPU, 8 GPUs. Shown beside normbench's own numbers
/// as a reference: the same question at a different scale (2D images, 1.28 M
/// training images, 100 epochs), not a target to match.
///
/// Checked against the paper's abstract, Figure 1 and Tables 1-3 as arXiv's HTML
/// rendering (ar5iv) gives them: BN 23.6 → 34.7, GN 24.1 at both ends (10.6
/// points apart at batch 2); the model with G = 1 in Table 3 is Table 1's LN
/// (25.3), one channel per group its IN (28.4), G = 32 its GN (24.1). Kinetics (I3D) and
/// the paper's own COCO (Mask R-CNN) tables are not included: they could not be
/// checked; `detectronBoxAP` gives the authors' published COCO models instead.
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
    public static let errorByGroups: [Int: Double] = [64: 24.6, 32: 24.1, 16: 24.6, 8: 24.4, 4: 24.6, 2: 24.7, 1: 25.3]

    /// Group ablation (Table 3, bottom): error (%) by channels per group; 1 is IN.
    public static let errorByChannelsPerGroup: [Int: Double] = [64: 24.4, 32: 24.5, 16: 24.2, 8: 24.3, 4: 24.8, 2: 25.6, 1: 28.4]

    /// Mask R-CNN on COCO as FAIR's Detectron (the GN paper's codebase) publishes
    /// it in `projects/GN/README.md` (github.com/facebookresearch/Detectron, checked
    /// at commit 04155a0): ResNet-50-FPN, 2 images per GPU, box AP (%, IoU 0.5:0.95),
    /// fine-tuned from ImageNet with BN frozen (BN*) or with GN, or GN from scratch,
    /// with the 2x (180k iterations) or 3x (270k) schedule.
    public static let detectronBoxAP = (bnFrozen2x: 38.6, gn2x: 40.3, bnFrozen3x: 38.9, gn3x: 40.8, gnScratch3x: 39.5)

    /// The reference sentence of a transfer page: Detectron's COCO numbers and the
    /// two directions they show (GN ahead of BN*, fine-tuned GN ahead of GN from scratch).
    static var detectronSentence: String {
        let d = detectronBoxAP
        func points(_ a: Double, _ b: Double) -> String { StudyFormat.signed((a - b) / 100) }
        return "For reference, at another scale and in another metric (not a target): Mask R-CNN with a ResNet-50-FPN backbone on COCO, "
            + "2 images per GPU, box AP over IoU 0.5:0.95 as FAIR's Detectron publishes it (`projects/GN/README.md` of "
            + "github.com/facebookresearch/Detectron): fine-tuned from ImageNet, BN* \(d.bnFrozen2x) and GN \(d.gn2x) "
            + "(GN \(points(d.gn2x, d.bnFrozen2x))) with the 2x schedule, BN* \(d.bnFrozen3x) and GN \(d.gn3x) "
            + "(\(points(d.gn3x, d.bnFrozen3x))) with 3x; GN trained from scratch \(d.gnScratch3x) (3x, "
            + "\(points(d.gnScratch3x, d.gn3x)) against GN fine-tuned). The directions to compare with the table above: "
            + "GN against BN*, and each method fine-tuned against the same method from scratch."
    }
}
