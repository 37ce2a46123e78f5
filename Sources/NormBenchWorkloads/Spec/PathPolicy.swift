import Foundation

/// Names that become one path component: workload names (`Results/<name>/`,
/// `<name>.md`, `<name>-error.svg`), cell ids (`cells/<id>.json`), output stems.
///
/// A safe name is 1-100 characters of `A-Z a-z 0-9 . _ -`, and not `.` or `..`:
/// it cannot hold a `/`, climb out of its folder, or be empty. Names are checked
/// where they enter (a workload file, a record file), so nothing read from data
/// is ever used as a path unchecked.
public enum SafeName {
    public static let maxLength = 100
    /// What a valid name looks like, for messages.
    public static let rule = "1-\(maxLength) characters of A-Z a-z 0-9 . _ - (not . or ..)"

    /// nil when `name` is safe, else what is wrong with it.
    public static func problem(_ name: String) -> String? {
        if name.isEmpty { return "is empty" }
        if name.utf8.count > maxLength { return "is \(name.utf8.count) bytes long" }
        if name == "." || name == ".." { return "is \"\(name)\", which names a folder, not a file" }
        let allowed = name.unicodeScalars.allSatisfy { s in
            (s >= "A" && s <= "Z") || (s >= "a" && s <= "z") || (s >= "0" && s <= "9") || s == "." || s == "_" || s == "-"
        }
        return allowed ? nil : "is \"\(escaped(name))\", which has characters outside A-Z a-z 0-9 . _ -"
    }

    /// `name` shown on one line: control characters and newlines escaped, long names cut.
    public static func escaped(_ name: String) -> String {
        let shown = name.unicodeScalars.prefix(120).map { s in
            s.value < 0x20 || s.value == 0x7F ? "\\u{\(String(s.value, radix: 16))}" : String(s)
        }.joined()
        return name.unicodeScalars.count > 120 ? shown + "…" : shown
    }
}

/// Writes confined to their intended folder: every file the harness writes is
/// `root` + a relative path made of safe names, and the resolved path must stay
/// under the resolved root (symbolic links in the relative part included).
public enum OutputPath {
    /// A path problem: one line naming the path or option, the problem and a fix.
    public struct Refused: Error, CustomStringConvertible, Equatable {
        public let message: String
        public var description: String { message }
    }

    /// `root/relative`, checked: each component of `relative` is a safe name and the
    /// result, with symbolic links resolved, lies under `root`.
    /// - Throws: `Refused` naming the root and the bad component.
    public static func resolve(_ relative: String, under root: String) throws -> String {
        try checkRoot(root, option: "output folder")
        let parts = relative.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        for part in parts {
            if let problem = SafeName.problem(part) {
                throw Refused(message: "\(root): refusing to write \"\(SafeName.escaped(relative))\": the component \(problem); names must be \(SafeName.rule)")
            }
        }
        let path = "\(root)/\(relative)"
        let resolvedRoot = realPath(root)
        let resolved = realPath(path)
        guard resolved.hasPrefix(resolvedRoot == "/" ? "/" : resolvedRoot + "/") else {
            throw Refused(message: "\(path): resolves to \(resolved), outside \(resolvedRoot); remove the symbolic link or pass another output folder")
        }
        return path
    }

    /// `path` absolute, with the symbolic links of its longest existing prefix
    /// resolved (the rest, not yet created, appended as written).
    public static func realPath(_ path: String) -> String {
        var existing = URL(fileURLWithPath: path).standardizedFileURL.path
        var rest: [String] = []
        while true {
            if let r = realpath(existing, nil) {
                defer { free(r) }
                let base = String(cString: r)
                return rest.isEmpty ? base : (base == "/" ? "" : base) + "/" + rest.reversed().joined(separator: "/")
            }
            guard existing != "/", !existing.isEmpty else { return path }
            rest.append((existing as NSString).lastPathComponent)
            existing = (existing as NSString).deletingLastPathComponent
        }
    }

    /// Refuses an output folder option that cannot be meant: empty (it would mean
    /// the filesystem root) or holding control characters.
    public static func checkRoot(_ root: String, option: String, example: String = "Results/my-run") throws {
        if root.isEmpty {
            throw Refused(message: "\(option): is empty (it would name the filesystem root or no file); pass a path, e.g. \(option) \(example)")
        }
        if root.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw Refused(message: "\(option): \"\(SafeName.escaped(root))\" holds control characters; pass a plain folder path")
        }
    }
}
