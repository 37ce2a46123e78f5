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
