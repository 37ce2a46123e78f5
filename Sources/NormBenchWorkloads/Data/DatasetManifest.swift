import NormBenchEngine
import Foundation

/// The files of a data set, with what is needed to check them on reuse.
///
/// Written as `manifest.json` in the data set's cache folder after every file
/// is complete; a reader compares each file's size and FNV-1a digest with it.
public struct DatasetManifest: Codable, Sendable, Equatable {
    public var version = 1
    /// "synthetic seed 1: 512 train + 256 eval clips, 96x96, 24 frames, h264".
    public var description: String
    /// Digest of the settings the files were made from.
    public var settingsDigest: String
    public var entries: [Entry]

    public struct Entry: Codable, Sendable, Equatable {
        /// Path relative to the data set folder.
        public var path: String
        public var split: String
        /// Class (classification); -1 where there is none.
        public var label: Int
        public var bytes: Int
        /// FNV-1a 64 of the file's bytes, hex.
        public var digest: String
        /// Per frame, boxes in pixels of the stored video (detection).
        public var boxes: [[SyntheticRenderer.Box]]?
    }

    /// One digest for the whole data set: changes when any file or label changes.
    public var digest: String {
        var h = FNV1a()
        for e in entries { h.add("\(e.path)|\(e.split)|\(e.label)|\(e.bytes)|\(e.digest);") }
        return h.hex
    }
}

extension String {
    func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
