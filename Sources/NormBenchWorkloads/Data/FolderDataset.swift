import NormBenchEngine
import Foundation

/// A user's own clips: a CSV manifest (`path,label,split`) and, for detection,
/// a JSON file of per-frame boxes, both relative to `data.folder.root`.
///
/// Loading checks every line before any decoding: a missing file, a label
/// outside `0..<classes`, an unknown split or a malformed line is an error that
/// names the manifest, the line and the fix. Clips are not hashed (they may be
/// large): the data set digest covers paths, sizes, modification times and labels.
public enum FolderDataset {
    public static func load(_ spec: WorkloadSpec) throws -> (folder: String, manifest: DatasetManifest) {
        guard let f = spec.data.folder else {
            throw DatasetError.manifest(path: spec.name, problem: "no data.folder", fix: "add data.folder: {root: ..., manifest: ..., classes: ...}")
        }
        let csvPath = f.manifest.hasPrefix("/") ? f.manifest : "\(f.root)/\(f.manifest)"
        guard let text = try? String(contentsOfFile: csvPath, encoding: .utf8) else {
            throw DatasetError.manifest(path: csvPath, problem: "cannot read the clip manifest", fix: "check data.folder.root and data.folder.manifest")
        }
        let boxes = try f.boxes.map { try readBoxes(path: $0.hasPrefix("/") ? $0 : "\(f.root)/\($0)") }
        var entries: [DatasetManifest.Entry] = []
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            func bad(_ problem: String, _ fix: String) -> DatasetError {
                .manifest(path: "\(csvPath):\(n + 1)", problem: problem, fix: fix)
            }
            if n == 0 && fields.count >= 2 && Int(fields[1]) == nil { continue }  // header
            guard fields.count == 3 else { throw bad("expected `path,label,split`, got \(fields.count) fields", "e.g. `clips/a.mp4,3,train`") }
            guard let label = Int(fields[1]), (spec.task == .detection || (0..<f.classes).contains(label)) else {
                throw bad("label \"\(fields[1])\" is not in 0..<\(f.classes)", "use class indices 0...\(f.classes - 1) or raise data.folder.classes")
            }
            let split: String
            switch fields[2].lowercased() {
            case "train": split = "train"
            case "eval", "val", "test": split = "eval"
            default: throw bad("split \"\(fields[2])\" is not train or eval", "use `train` or `eval` (val and test mean eval)")
            }
            let path = "\(f.root)/\(fields[0])"
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: path), let size = attributes[.size] as? Int else {
                throw bad("clip \(path) does not exist", "fix the path (relative to data.folder.root) or remove the line")
            }
            let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            var h = FNV1a()
            h.add("\(fields[0])|\(size)|\(modified)")
            var clipBoxes: [[SyntheticRenderer.Box]]?
            if let boxes {
                guard let b = boxes[fields[0]] else { throw bad("no boxes for \(fields[0]) in \(f.boxes!)", "add its per-frame boxes") }
                clipBoxes = b
            }
            entries.append(.init(path: fields[0], split: split, label: label, bytes: size, digest: h.hex, boxes: clipBoxes))
        }
        for split in ["train", "eval"] where !entries.contains(where: { $0.split == split }) {
            throw DatasetError.manifest(path: csvPath, problem: "no \(split) clips", fix: "mark some lines `\(split)` in the split column")
        }
        let description = "folder \(f.root): \(entries.filter { $0.split == "train" }.count) train + \(entries.filter { $0.split == "eval" }.count) eval clips"
        return (f.root, DatasetManifest(description: description, settingsDigest: "", entries: entries))
    }

    private static func readBoxes(path: String) throws -> [String: [[SyntheticRenderer.Box]]] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DatasetError.manifest(path: path, problem: "cannot read the boxes file", fix: "check data.folder.boxes")
        }
        do {
            return try JSONDecoder().decode([String: [[SyntheticRenderer.Box]]].self, from: data)
        } catch {
            throw DatasetError.manifest(
                path: path, problem: "not a boxes file (\(error.localizedDescription))",
                fix: "write {\"clip.mp4\": [[{\"x0\": 1, \"y0\": 2, \"x1\": 30, \"y1\": 40, \"label\": 0}], ...]} with one list per frame")
        }
    }
}
