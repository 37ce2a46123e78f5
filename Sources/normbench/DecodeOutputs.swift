import Foundation
import NormBenchVideo

/// Files `normbench decode` writes: `.npy` tensors and PNG contact sheets.
/// Each is written under a temporary name and renamed, so no partial file is left;
/// temporary files of killed earlier runs are removed.
enum DecodeOutputs {
    /// Where one input's frames go as they are decoded (`--sampling all`): a T×H×W×C
    /// `.npy` written as it comes, and/or a spool of frames on disk that a second pass
    /// turns into a C×T×H×W `.npy` or a contact sheet.
    final class Stream: @unchecked Sendable {
        let npy: NPYStreamWriter?
        let spool: FrameSpool?

        init(npy: NPYStreamWriter?, spool: FrameSpool?) {
            self.npy = npy
            self.spool = spool
        }

        func append(_ frame: UnsafeBufferPointer<UInt8>) throws(VideoError) {
            try npy?.append(frame)
            try spool?.append(frame)
        }

        /// Removes every temporary file (safe after success too).
        func discard() {
            npy?.discard()
            spool?.discard()
        }
    }

    /// One stream per input. T×H×W×C `.npy`: written directly (a sheet is then read back
    /// from that file when it is uint8). C×T×H×W `.npy`: frames spooled next to it. Sheet
    /// alone: frames spooled next to the sheet.
    static func streams(files: [String], names: [String], npy: String?, sheet: String?, request: DecodeRequest) -> [Stream] {
        names.map { name in
            if let npy {
                let path = (npy as NSString).appendingPathComponent(name + ".npy")
                if request.layout == .thwc {
                    // A float32 .npy holds no uint8 frames for the sheet: those are spooled too.
                    let float = request.dtype == "float32"
                    return Stream(npy: NPYStreamWriter(path: path, float: float, mean: request.mean, std: request.std),
                                  spool: float && sheet != nil ? FrameSpool(nextTo: path) : nil)
                }
                return Stream(npy: nil, spool: FrameSpool(nextTo: path))
            }
            let sheet = sheet!
            let target = ((sheet as NSString).deletingLastPathComponent as NSString).appendingPathComponent(name + ".png")
            return Stream(npy: nil, spool: FrameSpool(nextTo: target, reportedPath: sheet))
        }
    }

    /// Files written for each input (nil: none).
    struct Written {
        var npy: [String?]
        var sheet: [String?]
    }

    /// Writes the outputs of every clip that decoded.
    static func write(_ results: [Result<Clip, VideoError>?], names: [String], request: DecodeRequest,
                      npy: String?, sheet: String?, streams: [Stream]?) throws(VideoError) -> Written {
        var written = Written(npy: Array(repeating: nil, count: results.count), sheet: Array(repeating: nil, count: results.count))
        let decoded = results.indices.compactMap { i -> (Clip, String, Int)? in
            if case .success(let c)? = results[i] { return (c, names[i], i) } else { return nil }
        }
        // Temporary files go whatever happens below.
        defer { streams?.forEach { $0.discard() } }
        if let streams {
            for (i, stream) in streams.enumerated() {
                guard case .success(let clip)? = results[i], let dir = npy else { continue }
                let path = (dir as NSString).appendingPathComponent(names[i] + ".npy")
                if let writer = stream.npy {
                    try writer.finish(shape: [clip.frames, clip.height, clip.width, clip.channels])
                } else if let spool = stream.spool {
                    try NPYWriter.writeCTHW(from: spool, height: clip.height, width: clip.width, float: request.dtype == "float32",
                                            mean: request.mean, std: request.std, to: path)
                }
                written.npy[i] = path
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
                if let stream = streams?[i] {
                    // The frames are on disk: the spool, or the streamed T×H×W×C .npy past its header.
                    let frames = stream.spool ?? FrameSpool(reading: written.npy[i]!, offset: NPYStreamWriter.headerBytes,
                                                            frames: clip.frames, frameBytes: clip.height * clip.width * clip.channels)
                    try ImageWriter.writeContactSheet(from: frames, frameWidth: clip.width, frameHeight: clip.height, to: path)
                } else {
                    let image = ImageWriter.contactSheet(clip)
                    try ImageWriter.writePNG(image.rgb, width: image.width, height: image.height, to: path)
                }
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
