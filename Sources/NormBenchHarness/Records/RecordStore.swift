import Foundation
import NormBenchWorkloads

/// Result records on disk: one JSON file per cell under `<run>/cells/`.
public enum RecordStore {
    /// Sorted keys and pretty printing: the same record always gives the same bytes.
    public static func encode<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(value)
        data.append(0x0A)
        return data
    }

    /// The file that holds `cell`'s record in run folder `run`.
    public static func path(of cell: CellKey, in run: String) -> String {
        "\(run)/cells/\(cell.id).json"
    }

    /// Writes one record atomically (a crash leaves the old file or the new one),
    /// at a path checked to stay inside `run/cells/`.
    public static func write(_ record: ResultRecord, in run: String) throws {
        try AtomicFile.write(encode(record), to: OutputPath.resolve("cells/\(record.cell.id).json", under: run))
    }

    /// Reads one record file.
    public static func read(path: String) throws -> ResultRecord {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw HarnessError.read(path: path, reason: FileManager.default.fileExists(atPath: path) ? "unreadable" : "no such file")
        }
        let record: ResultRecord
        do { record = try JSONDecoder().decode(ResultRecord.self, from: data) } catch {
            throw HarnessError.read(path: path, reason: "not a normbench result record: \(decodingReason(error))")
        }
        guard record.schema == ResultRecord.currentSchema else {
            throw HarnessError.read(path: path, reason: "schema \(record.schema), this normbench reads \(ResultRecord.currentSchema)")
        }
        // The workload and the cell id name published files: a record is data, never a path.
        for (field, value) in [("cell.workload", record.cell.workload), ("cell id (norm, groups)", record.cell.id)] {
            if let problem = SafeName.problem(value) {
                throw HarnessError.read(path: path, reason: "`\(field)` \(problem); it must be \(SafeName.rule)")
            }
        }
        return record
    }

    /// Every record of a run folder (its `cells/*.json`), or of a folder holding
    /// run folders, sorted by cell. Temporary files of interrupted writes are ignored.
    public static func readAll(_ folder: String) throws -> [ResultRecord] {
        try readAllWithPaths(folder).map(\.record)
    }

    /// `readAll`, refusing a cell that two files hold (e.g. an older and a newer
    /// run of the same sweep under one folder): which one counts is not for a
    /// reader to guess.
    /// - Throws: `HarnessError.mismatch` naming both files.
    public static func readUnique(_ folder: String) throws -> [ResultRecord] {
        var seen: [CellKey: String] = [:]
        return try readAllWithPaths(folder).map { path, record in
            if let other = seen.updateValue(path, forKey: record.cell) {
                throw HarnessError.mismatch("\(other) and \(path) hold the same cell \(record.cell.workload)/\(record.cell.id); pass one run folder, or move one of the two away")
            }
            return record
        }
    }

    /// Every record file under `folder` with its record, sorted by cell.
    ///
    /// With `skippingNestedResults`, a subfolder that is a results folder of its own
    /// (it holds a published `cells.csv` but no `cells/` records of its own, e.g.
    /// `Results/distributed/`) is left out: it is published on its own.
    static func readAllWithPaths(_ folder: String, skippingNestedResults: Bool = false) throws -> [(path: String, record: ResultRecord)] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) else {
            throw HarnessError.read(path: folder, reason: "no such file or folder")
        }
        if !isDirectory.boolValue { return [(folder, try read(path: folder))] }
        guard let walker = FileManager.default.enumerator(atPath: folder) else {
            throw HarnessError.read(path: folder, reason: "cannot list folder")
        }
        var relative: [String] = []
        var nested: [String] = []
        for case let rel as String in walker {
            let name = (rel as NSString).lastPathComponent
            // A record is `cells/<name>.json`: other JSON files (a workload's `bench.json`) are not records.
            let parent = ((rel as NSString).deletingLastPathComponent as NSString).lastPathComponent
            if parent == "cells" && name.hasSuffix(".json") && !name.hasPrefix(".") { relative.append(rel) }
            if skippingNestedResults, name == "cells.csv", rel.contains("/") {
                let dir = (rel as NSString).deletingLastPathComponent
                if !FileManager.default.fileExists(atPath: "\(folder)/\(dir)/cells") { nested.append(dir + "/") }
            }
        }
        let paths = relative.filter { rel in !nested.contains { rel.hasPrefix($0) } }.map { "\(folder)/\($0)" }
        return try paths.sorted().map { ($0, try read(path: $0)) }.sorted { $0.record.cell < $1.record.cell }
    }

    private static func decodingReason(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let ctx):
            return "missing `\((ctx.codingPath + [key]).map(\.stringValue).joined(separator: "."))`"
        case DecodingError.typeMismatch(_, let ctx), DecodingError.valueNotFound(_, let ctx):
            return "wrong type at `\(ctx.codingPath.map(\.stringValue).joined(separator: "."))`"
        case DecodingError.dataCorrupted(let ctx):
            return ctx.codingPath.isEmpty ? "invalid JSON" : "invalid value at `\(ctx.codingPath.map(\.stringValue).joined(separator: "."))`"
        default:
            return "invalid JSON"
        }
    }
}
