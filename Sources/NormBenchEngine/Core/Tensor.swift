/// A contiguous float32 tensor that owns its storage.
///
/// Activations are channels-last: a 5-D activation has shape `[n, d, h, w, c]`
/// (NDHWC), a 2-D one `[n, features]`. Convolution weights are `[cOut, kd, kh, kw, cIn]`.
/// Storage comes from `TensorAllocator` and is counted in the ledger under
/// `category` until the tensor is released (deinit). A tensor has reference
/// semantics: layers hand tensors to each other without copying.
public final class Tensor {
    /// Dimensions, outermost first.
    public let shape: [Int]
    /// Number of elements (product of `shape`).
    public let count: Int
    /// What the memory is for, in the ledger.
    public let category: MemoryCategory
    /// The elements, `count` of them, 64-byte aligned.
    public let data: UnsafeMutablePointer<Float>

    /// Allocates a tensor. Contents are uninitialized unless `zeroed`.
    public init(shape: [Int], category: MemoryCategory, zeroed: Bool = false) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in \(shape)")
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.category = category
        let raw = TensorAllocator.shared.allocate(bytes: count * MemoryLayout<Float>.stride, category: category)
        self.data = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        if zeroed { data.update(repeating: 0, count: count) }
    }

    /// A tensor holding a copy of `values`.
    public convenience init(shape: [Int], category: MemoryCategory, values: [Float]) {
        self.init(shape: shape, category: category)
        precondition(values.count == count, "Tensor: \(values.count) values for shape \(shape) (\(count) elements)")
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
    }

    deinit {
        TensorAllocator.shared.deallocate(UnsafeMutableRawPointer(data), bytes: byteCount, category: category)
    }

    /// Bytes of storage.
    public var byteCount: Int { count * MemoryLayout<Float>.stride }

    /// The elements as a buffer pointer.
    @inlinable public var buffer: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: data, count: count)
    }

    /// A copy of the elements (for tests and reports, not hot loops).
    public var array: [Float] { Array(buffer) }

    /// Sets every element to `value`.
    public func fill(_ value: Float) { data.update(repeating: value, count: count) }

    /// Copies `other`'s elements (same element count) into this tensor.
    public func copy(from other: Tensor) {
        precondition(other.count == count, "Tensor.copy: \(other.shape) into \(shape)")
        data.update(from: other.data, count: count)
    }
}
