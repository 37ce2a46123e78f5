import Foundation

/// The page comparing a workload with the GN paper: normbench's means beside
/// the paper's ImageNet numbers, which answer the same question at another
/// scale. Paper columns appear on this page only.
extension WorkloadPage {
    func paperPage() -> String? {
        guard hasTop1 else { return nil }
        var md = "# \(name): beside the GN paper\n\n"
        md += "normbench's own numbers ([\(name).md](\(name).md), mean ± 95 % CI over seeds, † one seed) next to \(PaperReference.source). "
        md += "The paper trains ResNet-50 on ImageNet (2D images, 1.28 M training images, 100 epochs): the same question at another scale, "
        md += "a reference, not a target.\n\n"
        md += Self.commitWarning(grid.records)
        if !isGroupAblationPage {
            md += "## Top-1 error (%) by batch per worker\n\n"
            let refBatches = Set(PaperReference.batches)
            var table = MarkdownTable(header: ["method"] + grid.batches.map { "batch \($0)" } + ["paper (ImageNet, reference), batch 32"])
            for m in grid.methods {
                let comparable = m.norm != "gn" || m.groups == "32"
                let ref = comparable ? PaperReference.errorAt32[m.norm].map { Format.fixed($0, 1) } ?? "–" : "–"
                table.rows.append([grid.label(m)] + grid.batches.map { b in interval(m, batch: b).map(StudyFormat.cell) ?? grid.missing(m, batch: b) } + [ref])
            }
            md += table.render()
            md += "\nThe paper's GN number is for G = 32; rows with another G have none.\n\n"
            md += "### paper (ImageNet, reference): the batch study\n\n"
            var paper = MarkdownTable(header: ["method (paper)"] + PaperReference.batches.map { "batch \($0)" })
            for norm in ["bn", "gn"] {
                paper.rows.append([norm.uppercased()] + PaperReference.batches.map { Format.fixed(PaperReference.errorByBatch[norm]![$0]!, 1) })
            }
            md += paper.render()
            let shared = grid.batches.filter(refBatches.contains)
            md += "\n\(PaperReference.source), images per GPU (Table 2 / Figure 1)"
            md += shared.isEmpty ? "." : "; batches measured here too: \(shared.map(String.init).joined(separator: ", "))."
            md += " Kinetics (I3D) numbers are not reproduced: they were not verified against the paper's text.\n\n"
        } else {
            md += "## Group ablation: top-1 error (%) by number of groups\n\n"
            var table = MarkdownTable(header: ["groups G"] + grid.batches.map { "batch \($0)" } + ["paper (ImageNet, reference), same G", "paper (ImageNet, reference), 1 channel/group"])
            for m in grid.methods.filter({ $0.norm == "gn" && $0.groups != "-" }) {
                var row = [m.groups == "C" ? "C (= IN)" : (m.groups == "1" ? "1 (= LN)" : m.groups)]
                row += grid.batches.map { b in interval(m, batch: b).map(StudyFormat.cell) ?? "–" }
                row.append(Int(m.groups).flatMap { PaperReference.errorByGroups[$0] }.map { Format.fixed($0, 1) } ?? "–")
                row.append(m.groups == "C" ? Format.fixed(PaperReference.errorByChannelsPerGroup[1]!, 1) : "–")
                table.rows.append(row)
            }
            md += table.render()
            md += "\n\(PaperReference.source), 32 images per GPU (Table 3). The paper's G = 1 is LN (\(Format.fixed(PaperReference.errorByGroups[1]!, 1))); "
            md += "its one channel per group is IN (\(Format.fixed(PaperReference.errorByChannelsPerGroup[1]!, 1))). "
            md += "Its layers have 64-2048 channels, so the same G means more channels per group there than here.\n\n"
        }
        md += Provenance.line(grid.records) + "\n"
        return md
    }

    private var isGroupAblationPage: Bool {
        Set(grid.methods.filter { $0.norm == "gn" && $0.groups != "-" }.map(\.groups)).count > 1
    }
}
