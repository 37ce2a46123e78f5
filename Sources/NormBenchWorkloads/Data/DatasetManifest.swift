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

/// FNV-1a 64-bit: a fast, dependency-free content digest (not cryptographic).
public struct FNV1a: Sendable {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    public init() {}

    /// The digest of `text`'s UTF-8 bytes, hex.
    public static func hex(of text: String) -> String {
        var h = FNV1a()
        h.add(text)
        return h.hex
    }

    public mutating func add(_ bytes: UnsafeRawBufferPointer) {
        var h = value
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        value = h
    }

    public mutating func add(_ text: String) {
        var t = text
        t.withUTF8 { add(UnsafeRawBufferPointer($0)) }
    }

    public var hex: String { String(value, radix: 16).leftPadded(to: 16) }

    /// Digest of a file's bytes, or nil when it cannot be read.
    static func file(_ path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        var h = FNV1a()
        data.withUnsafeBytes { h.add($0) }
        return h.hex
    }
}

extension String {
    func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
