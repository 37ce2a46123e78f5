import Foundation
import NormBenchVideo

/// `normbench decode`'s summary lines and JSON.
struct DecodeReport: Encodable {
    struct ClipEntry: Encodable {
        var path: String
        var ok: Bool
        var error: String?
        var errorKind: String?
        var info: VideoInfo?
        var frames: Int?
        var height: Int?
        var width: Int?
        var frameIndices: [Int]?
        var timestamps: [Double]?
        var framesDecoded: Int?
        var seeks: Int?
        var lostPackets: Int?
        var corruptFrames: Int?
        var undecodableLeadingPackets: Int?
        var paddedFrames: Int?
        var frameIndex: String?
        var truncation: String?
        var output: String?
        var sheet: String?
        var timings: DecodeTimings?
        var framesPerSecond: Double?
    }
    struct Total: Encodable {
        var clips: Int
        var ok: Int
        var failed: Int
        var skipped: Int
        var frames: Int
        var wallSeconds: Double
        var framesPerSecond: Double
        var failures: [String]
    }
    var clips: [ClipEntry]
    var total: Total

    init(files: [String], results: [Result<Clip, VideoError>?], outputs: DecodeOutputs.Written, wall: Double) {
        clips = files.indices.map { i in
            let file = files[i]
            switch results[i] {
            case .success(let c)?:
                return ClipEntry(path: file, ok: true, info: c.info, frames: c.frames, height: c.height, width: c.width,
                                 frameIndices: c.frameIndices, timestamps: c.timestamps, framesDecoded: c.framesDecoded,
                                 seeks: c.seeks, lostPackets: c.lostPackets, corruptFrames: c.corruptFrames,
                                 undecodableLeadingPackets: c.undecodableLeadingPackets, paddedFrames: c.paddedFrames,
                                 frameIndex: c.frameIndex, truncation: c.truncation, output: outputs.npy[i], sheet: outputs.sheet[i], timings: c.timings,
                                 framesPerSecond: Double(c.frames) / max(c.timings.total, 1e-9))
            case .failure(let e)?:
                return ClipEntry(path: file, ok: false, error: e.description, errorKind: e.kind)
            case nil:
                return ClipEntry(path: file, ok: false, error: "skipped after an earlier failure (--strict)", errorKind: "skipped")
            }
        }
        let ok = clips.filter(\.ok)
        let frames = ok.reduce(0) { $0 + ($1.frames ?? 0) }
        total = Total(clips: files.count, ok: ok.count,
                      failed: results.filter { if case .failure? = $0 { return true } else { return false } }.count,
                      skipped: results.filter { $0 == nil }.count, frames: frames, wallSeconds: wall,
                      framesPerSecond: Double(frames) / max(wall, 1e-9),
                      failures: clips.filter { !$0.ok }.map(\.path))
    }

    func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// One line per clip: file, codec, resolution, fps, frames, time, frames/s.
    static func line(_ c: Clip, output: String? = nil) -> String {
        let i = c.info
        let fps = String(format: "%.2f", i.averageFrameRate)
        let ms = String(format: "%.1f", c.timings.total * 1000)
        let rate = String(format: "%.0f", Double(c.frames) / max(c.timings.total, 1e-9))
        return "\(i.path)  \(i.codec)  \(i.width)x\(i.height) -> \(c.width)x\(c.height)  \(fps) fps  "
            + "\(c.frames) frames (\(c.framesDecoded) decoded, \(c.seeks) seeks"
            + (c.paddedFrames > 0 ? ", \(c.paddedFrames) padded" : "") + ")  \(ms) ms  \(rate) frames/s"
            + (output.map { "  -> \($0)" } ?? "")
    }

    static func total(clips: [Clip], failures: [VideoError], skipped: Int, wall: Double) -> String {
        let frames = clips.reduce(0) { $0 + $1.frames }
        var s = "total: \(clips.count) clips ok, \(failures.count) failed"
        if skipped > 0 { s += ", \(skipped) skipped" }
        s += ", \(frames) frames in " + String(format: "%.1f ms (%.0f frames/s)", wall * 1000, Double(frames) / max(wall, 1e-9))
        if !failures.isEmpty { s += "; failed: " + failures.map(\.path).joined(separator: ", ") }
        return s
    }
}
