import Foundation
import NormBenchEngine
import NormBenchVideo

/// Generates a workload's synthetic data set as real video files, once, and
/// checks it on every later use.
///
/// The folder is `<cache>/<task>-<digest of the settings>/`: changed settings
/// make a new folder, never a mix. Each clip is rendered (`SyntheticRenderer`),
/// encoded with `VideoEncoder` (atomic: temporary name, then rename), and listed
/// in `manifest.json` with its size and digest, written last. On reuse a missing,
/// truncated or altered file is regenerated (generation is deterministic) and
/// reported through `log`.
public enum SyntheticDataset {
    /// Returns the manifest of the data set `spec` describes, generating what is missing.
    /// - Parameters:
    ///   - threads: clips rendered and encoded at once.
    ///   - log: progress and repair messages, one line each.
    public static func prepare(
        _ spec: WorkloadSpec, threads: Int = Parallel.threads, log: (String) -> Void = { _ in }
    ) throws -> (folder: String, manifest: DatasetManifest) {
        let s = spec.data.synthetic
        let folder = "\(spec.data.cache)/\(spec.task.rawValue)-\(settingsDigest(spec))"
        let manifestPath = "\(folder)/manifest.json"
        let ext = s.codec.fileExtension
        let wanted = (0..<s.trainClips).map { ("train", $0) } + (0..<s.evalClips).map { ("eval", $0) }
        let renderer = SyntheticRenderer(spec: s)

        var known: [String: DatasetManifest.Entry] = [:]
        if let data = FileManager.default.contents(atPath: manifestPath) {
            if let m = try? JSONDecoder().decode(DatasetManifest.self, from: data) {
                for e in m.entries { known[e.path] = e }
            } else {
                log("\(manifestPath): unreadable manifest; checking every clip again")
            }
        }
        do {
            try FileManager.default.createDirectory(atPath: "\(folder)/train", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: "\(folder)/eval", withIntermediateDirectories: true)
        } catch {
            throw DatasetError.generation(path: folder, problem: "cannot create folder: \(error.localizedDescription)")
        }

        // Which clips need (re)generation: missing from the manifest, missing on disk, or altered.
        var entries = [DatasetManifest.Entry?](repeating: nil, count: wanted.count)
        var todo: [Int] = []
        for (i, (split, index)) in wanted.enumerated() {
            let rel = "\(split)/\(String(index).leftPadded(to: 6)).\(ext)"
            if let e = known[rel] {
                let size = (try? FileManager.default.attributesOfItem(atPath: "\(folder)/\(rel)")[.size] as? Int) ?? nil
                if size == e.bytes && FNV1a.file("\(folder)/\(rel)") == e.digest {
                    entries[i] = e
                    continue
                }
                log("\(folder)/\(rel): \(size == nil ? "missing" : "changed (\(size!) bytes, manifest says \(e.bytes))"); regenerating it")
            }
            todo.append(i)
        }
        if !todo.isEmpty {
            log("generating \(todo.count) synthetic clips in \(folder)")
            let results = UncheckedSendable(UnsafeMutableBufferPointer<Result<DatasetManifest.Entry, DatasetError>?>.allocate(capacity: todo.count))
            defer { results.value.deallocate() }
            results.value.initialize(repeating: nil)
            Parallel.forEach(chunks: todo.count, threads: threads) { k in
                let (split, index) = wanted[todo[k]]
                do throws(DatasetError) {
                    results.value[k] = .success(try makeClip(
                        renderer, task: spec.task, split: split, index: index, folder: folder, ext: ext, fps: s.fps, codec: s.codec))
                } catch {
                    results.value[k] = .failure(error)
                }
            }
            for (k, i) in todo.enumerated() { entries[i] = try results.value[k]!.get() }
        }
        let manifest = DatasetManifest(
            description: "synthetic seed \(s.seed): \(s.trainClips) train + \(s.evalClips) eval clips, \(s.width)x\(s.height), \(s.frames) frames, \(s.codec.rawValue)",
            settingsDigest: settingsDigest(spec), entries: entries.map { $0! })
        if !todo.isEmpty || known.count != manifest.entries.count {
            do {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                try encoder.encode(manifest).write(to: URL(fileURLWithPath: manifestPath), options: .atomic)
            } catch {
                throw DatasetError.generation(path: manifestPath, problem: "cannot write manifest: \(error.localizedDescription)")
            }
        }
        return (folder, manifest)
    }

    /// Renders, encodes and describes one clip.
    private static func makeClip(
        _ renderer: SyntheticRenderer, task: WorkloadSpec.Task, split: String, index: Int,
        folder: String, ext: String, fps: Int, codec: SyntheticSpec.Codec
    ) throws(DatasetError) -> DatasetManifest.Entry {
        let rel = "\(split)/\(String(index).leftPadded(to: 6)).\(ext)"
        let path = "\(folder)/\(rel)"
        let which: SyntheticRenderer.Split = split == "train" ? .train : .eval
        let clip = task == .classification
            ? renderer.classificationClip(index, split: which)
            : renderer.detectionClip(index, split: which)
        do {
            let encoder = try VideoEncoder(
                path: path, width: renderer.width, height: renderer.height, fps: fps,
                codec: codec == .ffv1 ? .ffv1 : .h264(crf: 18, gop: 250, bFrames: 3, preset: "fast"))
            let frameBytes = renderer.width * renderer.height * 3
            try clip.rgb.withUnsafeBufferPointer { all throws(VideoError) in
                for t in 0..<renderer.frames {
                    try encoder.append(UnsafeBufferPointer(rebasing: all[(t * frameBytes)..<((t + 1) * frameBytes)]))
                }
            }
            try encoder.finish()
        } catch {
            throw .generation(path: path, problem: "\(error)")
        }
        guard let digest = FNV1a.file(path),
              let bytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? Int else {
            throw .generation(path: path, problem: "file vanished after writing")
        }
        return DatasetManifest.Entry(
            path: rel, split: split, label: clip.label, bytes: bytes, digest: digest,
            boxes: task == .detection ? clip.boxes : nil)
    }

    /// Digest of everything that decides the files' content (it names the cache folder).
    public static func settingsDigest(_ spec: WorkloadSpec) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var h = FNV1a()
        h.add(spec.task.rawValue)
        if let data = try? encoder.encode(spec.data.synthetic) { data.withUnsafeBytes { h.add($0) } }
        return String(h.hex.prefix(12))
    }
}
