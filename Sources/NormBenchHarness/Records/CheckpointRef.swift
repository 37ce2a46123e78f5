/// A record's `checkpoint` section: the cell's saved model (`run --save-model`,
/// `training.saveModel`), a safetensors file (docs/checkpoints.md).
public struct CheckpointRef: Codable, Sendable, Equatable {
    /// Relative to the run folder: `models/<cell id>.safetensors`.
    public var path: String
    /// SHA-256 of the file's bytes, lowercase hex (what `sha256sum` prints).
    public var sha256: String

    public init(path: String, sha256: String) {
        self.path = path
        self.sha256 = sha256
    }
}

/// A record's `startedFrom` section: the checkpoint a fine-tuning cell loaded
/// before its first step (`model.init`, docs/transfer.md).
public struct StartedFrom: Codable, Sendable, Hashable {
    /// The file as the run read it (relative to the working directory, or absolute).
    public var path: String
    /// SHA-256 of the file's bytes when the run started, lowercase hex.
    public var sha256: String
    /// The pretraining workload, run folder and cell, when `model.init` named
    /// them (`{workload: ...}` or `{run: ..., cell: ...}`).
    public var workload: String?
    public var run: String?
    public var cell: String?

    public init(path: String, sha256: String, workload: String? = nil, run: String? = nil, cell: String? = nil) {
        self.path = path
        self.sha256 = sha256
        self.workload = workload
        self.run = run
        self.cell = cell
    }
}
