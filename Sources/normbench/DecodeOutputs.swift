import Foundation
import NormBenchVideo

/// Files `normbench decode` writes: `.npy` tensors and PNG contact sheets.
/// Each is written under a temporary name and renamed, so no partial file is left.
enum DecodeOutputs {
    static func write(_ clips: [Clip], request: DecodeRequest, npy: String?, sheet: String?) throws(VideoError) {
        let names = uniqueNames(clips.map(\.info.path))
        if let dir = npy {
            for (clip, name) in zip(clips, names) {
                let path = (dir as NSString).appendingPathComponent(name + ".npy")
                let shape = request.layout == .thwc
                    ? [clip.frames, clip.height, clip.width, clip.channels]
                    : [clip.channels, clip.frames, clip.height, clip.width]
                if request.dtype == "float32" {
                    try NPYWriter.write(clip.floatData(layout: request.layout, mean: request.mean, std: request.std), shape: shape, to: path)
                } else {
                    try NPYWriter.write(clip.uint8Data(layout: request.layout), shape: shape, to: path)
                }
            }
        }
        if let sheet {
            for (clip, name) in zip(clips, names) {
                let path = clips.count == 1 ? sheet : String(sheet.dropLast(4)) + "-\(name).png"
                let image = ImageWriter.contactSheet(clip)
                try ImageWriter.writePNG(image.rgb, width: image.width, height: image.height, to: path)
            }
        }
    }

    /// File names without extension; repeated names get "-2", "-3", ...
    static func uniqueNames(_ paths: [String]) -> [String] {
        var seen: [String: Int] = [:]
        return paths.map { path in
            let base = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
            let n = seen[base, default: 0] + 1
            seen[base] = n
            return n == 1 ? base : "\(base)-\(n)"
        }
    }
}
