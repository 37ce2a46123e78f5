import Foundation
import NormBenchVideo

/// Files `normbench decode` writes: `.npy` tensors and PNG contact sheets.
/// Each is written under a temporary name and renamed, so no partial file is left;
/// temporary files of killed earlier runs are removed.
enum DecodeOutputs {
    /// One streaming `.npy` writer per input (`--sampling all`, T×H×W×C): frames go to
    /// disk as they are decoded.
    static func streams(files: [String], names: [String], npy: String, request: DecodeRequest) -> [NPYStreamWriter] {
        names.map { name in
            NPYStreamWriter(path: (npy as NSString).appendingPathComponent(name + ".npy"),
                            float: request.dtype == "float32", mean: request.mean, std: request.std)
        }
    }

    /// Files written for each input (nil: none).
    struct Written {
        var npy: [String?]
        var sheet: [String?]
    }

    /// Writes the outputs of every clip that decoded.
    static func write(_ results: [Result<Clip, VideoError>?], names: [String], request: DecodeRequest,
                      npy: String?, sheet: String?, streams: [NPYStreamWriter]?) throws(VideoError) -> Written {
        var written = Written(npy: Array(repeating: nil, count: results.count), sheet: Array(repeating: nil, count: results.count))
        let decoded = results.indices.compactMap { i -> (Clip, String, Int)? in
            if case .success(let c)? = results[i] { return (c, names[i], i) } else { return nil }
        }
        if let streams {
            for (i, stream) in streams.enumerated() {
                guard case .success(let clip)? = results[i] else { stream.discard(); continue }
                try stream.finish(shape: [clip.frames, clip.height, clip.width, clip.channels])
                written.npy[i] = stream.path
            }
        } else if let dir = npy {
            for (clip, name, i) in decoded {
                let path = (dir as NSString).appendingPathComponent(name + ".npy")
                let shape = request.layout == .thwc
                    ? [clip.frames, clip.height, clip.width, clip.channels]
                    : [clip.channels, clip.frames, clip.height, clip.width]
                if request.dtype == "float32" {
                    try NPYWriter.write(clip.floatData(layout: request.layout, mean: request.mean, std: request.std), shape: shape, to: path)
                } else {
                    try NPYWriter.write(clip.uint8Data(layout: request.layout), shape: shape, to: path)
                }
                written.npy[i] = path
            }
        }
        if let sheet {
            for (clip, name, i) in decoded {
                let path = decoded.count == 1 && results.count == 1 ? sheet : String(sheet.dropLast(4)) + "-\(name).png"
                let image = ImageWriter.contactSheet(clip)
                try ImageWriter.writePNG(image.rgb, width: image.width, height: image.height, to: path)
                written.sheet[i] = path
            }
        }
        return written
    }

    /// Output names for the inputs, in order: the file name without extension; inputs
    /// sharing a name get "-2", "-3", ... in command-line order (failed inputs keep their
    /// number, so a name does not depend on which other clips decoded).
    static func uniqueNames(_ paths: [String]) -> [String] {
        let bases = paths.map { ((($0 as NSString).lastPathComponent) as NSString).deletingPathExtension }
        var taken = Set<String>()
        var next: [String: Int] = [:]
        return bases.map { base in
            // The first free of base, base-2, base-3, ... (also free of other inputs' own names).
            var n = next[base, default: 1]
            var name = n == 1 ? base : "\(base)-\(n)"
            while taken.contains(name) || (n > 1 && bases.contains(name)) {
                n += 1
                name = "\(base)-\(n)"
            }
            next[base] = n + 1
            taken.insert(name)
            return name
        }
    }
}
