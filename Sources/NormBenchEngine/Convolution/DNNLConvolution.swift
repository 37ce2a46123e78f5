internal import CDNNL
import Foundation

/// The one funnel between the engine and oneDNN's C API.
///
/// Primitives are created once per (geometry, pass) and cached; scratchpads are
/// "user" mode, allocated per call as ledger workspace. Activations are plain
/// NDHWC; weights are created with format "any" because oneDNN 2.6's jit:avx2
/// kernels do not accept plain `odhwi` filters (it falls back to `ref:any`,
/// ~1000× slower): the engine keeps filters plain `[cOut, kd, kh, kw, cIn]`
/// and each call reorders them into (or, for the weight gradient, out of) the
/// primitive's blocked layout through a cached reorder, in a workspace buffer. Every execution goes
/// through one lock (one engine, one stream): convolutions never overlap each
/// other, and oneDNN's OpenMP team gets `Parallel.threads` threads.
final class DNNL: @unchecked Sendable {
    static let shared = DNNL()

    private let engine: dnnl_engine_t
    private let stream: dnnl_stream_t
    private let lock = NSLock()
    private var cache: [Key: Primitive] = [:]
    /// The implementation of every primitive executed since the last `takeExecuted()`.
    private var executed: [Key: String] = [:]

    /// Primitives depend on the thread count: oneDNN partitions work and sizes
    /// per-thread scratchpads for the OpenMP threads at creation time.
    struct Key: Hashable {
        var geometry: ConvolutionGeometry
        var pass: ConvolutionPass
        var threads: Int
    }

    /// One created primitive with the memory descriptors of its arguments.
    final class Primitive {
        let pd: dnnl_primitive_desc_t
        let primitive: dnnl_primitive_t
        var src = dnnl_memory_desc_t()
        var weights = dnnl_memory_desc_t()
        var bias = dnnl_memory_desc_t()
        var dst = dnnl_memory_desc_t()
        var scratchpad = dnnl_memory_desc_t()
        /// The weights layout the primitive chose ("any"); `weights` is the plain `odhwi` one.
        var internalWeights = dnnl_memory_desc_t()
        /// Reorder between `weights` and `internalWeights` (plain→internal for forward and
        /// backward-data, internal→plain for backward-weights); nil when they are the same.
        var reorder: dnnl_primitive_t?
        var internalWeightsBytes = 0
        let scratchpadBytes: Int
        let implementation: String

        init(pd: dnnl_primitive_desc_t, primitive: dnnl_primitive_t) {
            self.pd = pd
            self.primitive = primitive
            scratchpad = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0)!.pointee
            scratchpadBytes = dnnl_memory_desc_get_size(&scratchpad)
            var info: UnsafePointer<CChar>?
            dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &info)
            implementation = info.map { String(cString: $0) } ?? "unknown"
        }
    }

    private init() {
        var e: dnnl_engine_t?
        Self.check(dnnl_engine_create(&e, dnnl_cpu, 0), "dnnl_engine_create(cpu)")
        engine = e!
        var s: dnnl_stream_t?
        Self.check(dnnl_stream_create(&s, engine, dnnl_stream_default_flags.rawValue), "dnnl_stream_create")
        stream = s!
    }

    static func check(_ status: dnnl_status_t, _ what: @autoclosure () -> String) {
        precondition(status == dnnl_success, "oneDNN: \(what()) failed with status \(status.rawValue)")
    }

    /// The implementation oneDNN chose for a pass (e.g. "jit:avx2", "gemm:jit").
    func implementation(_ geometry: ConvolutionGeometry, _ pass: ConvolutionPass) -> String {
        lock.lock()
        defer { lock.unlock() }
        return primitive(geometry, pass).implementation
    }

    /// One line per (pass, layer shape, threads) executed since the last call with
    /// the implementation that ran it, sorted and without repeats; starts a new
    /// record. The batch is left out: the cell fixes it, and cells that differ only
    /// in batch should share a fingerprint when oneDNN picks the same kernels.
    func takeExecuted() -> [String] {
        lock.lock()
        defer { lock.unlock() }
        let lines = Set(executed.map { key, implementation in
            let g = key.geometry
            return "\(key.pass) \(g.input)x\(g.inChannels)->\(g.outChannels) k\(g.kernel) s\(g.stride) p\(g.padding) t\(key.threads): \(implementation)"
        })
        executed = [:]
        return lines.sorted()
    }

    /// Records that the engine's own kernel `implementation` ran `pass` of `geometry`
    /// (it appears in `takeExecuted()` like oneDNN's primitives).
    func recordExecuted(_ geometry: ConvolutionGeometry, _ pass: ConvolutionPass, _ implementation: String) {
        lock.lock()
        defer { lock.unlock() }
        executed[Key(geometry: geometry, pass: pass, threads: Parallel.threads)] = implementation
    }

    /// Scratchpad bytes a pass needs (ledger: workspace, per call).
    func scratchpadBytes(_ geometry: ConvolutionGeometry, _ pass: ConvolutionPass) -> Int {
        lock.lock()
        defer { lock.unlock() }
        return primitive(geometry, pass).scratchpadBytes
    }

    /// Runs one pass. Pointers: forward (src, weights, bias?, dst);
    /// backward-data (diffSrc as `src`, weights, diffDst as `dst`);
    /// backward-weights (src, diffWeights as `weights`, diffBias as `bias`, diffDst as `dst`).
    func execute(
        _ geometry: ConvolutionGeometry, _ pass: ConvolutionPass,
        src: UnsafeMutablePointer<Float>, weights: UnsafeMutablePointer<Float>,
        bias: UnsafeMutablePointer<Float>?, dst: UnsafeMutablePointer<Float>
    ) {
        lock.lock()
        defer { lock.unlock() }
        _ = nb_omp_set_num_threads(Int32(Parallel.threads))
        let p = primitive(geometry, pass)
        executed[Key(geometry: geometry, pass: pass, threads: Parallel.threads)] = p.implementation
        let scratch = p.scratchpadBytes > 0
            ? Tensor(shape: [(p.scratchpadBytes + 3) / 4], category: .workspace) : nil
        var memories: [dnnl_memory_t] = []
        defer { for m in memories { dnnl_memory_destroy(m) } }
        func memory(_ md: inout dnnl_memory_desc_t, _ ptr: UnsafeMutableRawPointer) -> dnnl_memory_t {
            var m: dnnl_memory_t?
            Self.check(dnnl_memory_create(&m, &md, engine, ptr), "dnnl_memory_create")
            memories.append(m!)
            return m!
        }
        // Filters in the primitive's own layout (a workspace copy when it differs from plain).
        let blocked = p.reorder == nil ? nil : Tensor(shape: [(p.internalWeightsBytes + 3) / 4], category: .workspace)
        let plainWeights = memory(&p.weights, weights)
        let primitiveWeights = blocked.map { memory(&p.internalWeights, $0.data) } ?? plainWeights
        if let reorder = p.reorder, pass != .backwardWeights {
            let a = [dnnl_exec_arg_t(arg: nb_dnnl_arg_from(), memory: plainWeights),
                     dnnl_exec_arg_t(arg: nb_dnnl_arg_to(), memory: primitiveWeights)]
            Self.check(dnnl_primitive_execute(reorder, stream, 2, a), "weights reorder \(pass) \(geometry)")
        }
        var args: [dnnl_exec_arg_t] = []
        switch pass {
        case .forward:
            args.append(dnnl_exec_arg_t(arg: nb_dnnl_arg_src(), memory: memory(&p.src, src)))
            args.append(dnnl_exec_arg_t(arg: nb_dnnl_arg_weights(), memory: primitiveWeights))
            if let bias { args.append(dnnl_exec_arg_t(arg: nb_dnnl_arg_bias(), memory: memory(&p.bias, bias))) }
            args.append(dnnl_exec_arg_t(arg: nb_dnnl_arg_dst(), memory: memory(&p.dst, dst)))
        case .backwardData:
            args.append(dnnl_exec_arg_t(arg: nb_dnnl_arg_diff_src(), memory: memory(&p.src, src)))
            args.append(dnnl_exec_arg_t(arg: nb_dnnl_arg_weights(), memory: primitiveWeights))
            args.append(dnnl_exec_arg_t(arg: nb_dnnl_arg_diff_dst(), memory: memory(&p.dst, dst)))
        case .backwardWeights:
            args.append(dnnl_exec_arg_t(arg: nb_dnnl_arg_src(), memory: memory(&p.src, src)))
            args.append(dnnl_exec_arg_t(arg: nb_dnnl_arg_diff_weights(), memory: primitiveWeights))
            if let bias { args.append(dnnl_exec_arg_t(arg: nb_dnnl_arg_diff_bias(), memory: memory(&p.bias, bias))) }
            args.append(dnnl_exec_arg_t(arg: nb_dnnl_arg_diff_dst(), memory: memory(&p.dst, dst)))
        }
        if let scratch {
            args.append(dnnl_exec_arg_t(arg: nb_dnnl_arg_scratchpad(), memory: memory(&p.scratchpad, scratch.data)))
        }
        Self.check(dnnl_primitive_execute(p.primitive, stream, Int32(args.count), args), "execute \(pass) \(geometry)")
        if let reorder = p.reorder, pass == .backwardWeights {
            let a = [dnnl_exec_arg_t(arg: nb_dnnl_arg_from(), memory: primitiveWeights),
                     dnnl_exec_arg_t(arg: nb_dnnl_arg_to(), memory: plainWeights)]
            Self.check(dnnl_primitive_execute(reorder, stream, 2, a), "weights reorder \(pass) \(geometry)")
        }
        Self.check(dnnl_stream_wait(stream), "dnnl_stream_wait")
        withExtendedLifetime(scratch) {}
        withExtendedLifetime(blocked) {}
    }

    /// C[m, n] = Aᵀ·B with A `[k, m]`, B `[k, n]`, C `[m, n]`, all row-major (oneDNN's sgemm).
    func gemmTransposedA(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>) {
        lock.lock()
        defer { lock.unlock() }
        _ = nb_omp_set_num_threads(Int32(Parallel.threads))
        Self.check(dnnl_sgemm(CChar(UInt8(ascii: "T")), CChar(UInt8(ascii: "N")), Int64(m), Int64(n), Int64(k),
                              1, a, Int64(m), b, Int64(n), 0, c, Int64(n)), "sgemm \(m)x\(n)x\(k)")
    }

    // MARK: - Creation (called with the lock held)

    private func primitive(_ g: ConvolutionGeometry, _ pass: ConvolutionPass) -> Primitive {
        let key = Key(geometry: g, pass: pass, threads: Parallel.threads)
        if let p = cache[key] { return p }
        _ = nb_omp_set_num_threads(Int32(Parallel.threads))
        let hint: Primitive? = pass == .forward ? nil : primitive(g, .forward)
        var src = Self.desc([g.batch, g.inChannels] + g.input, dnnl_ndhwc)
        let plainWeights = Self.desc([g.outChannels, g.inChannels] + g.kernel, dnnl_odhwi)
        var weights = Self.desc([g.outChannels, g.inChannels] + g.kernel, dnnl_format_tag_any)
        var bias = Self.desc([g.outChannels], dnnl_a)
        var dst = Self.desc([g.batch, g.outChannels] + g.output, dnnl_ndhwc)
        let strides = g.stride.map(Int64.init)
        let padL = g.padding.map(Int64.init)
        let padR = g.paddingRight.map(Int64.init)
        var cd = dnnl_convolution_desc_t()
        let status: dnnl_status_t
        switch pass {
        case .forward:
            status = g.hasBias
                ? dnnl_convolution_forward_desc_init(&cd, dnnl_forward_training, dnnl_convolution_direct,
                                                     &src, &weights, &bias, &dst, strides, padL, padR)
                : dnnl_convolution_forward_desc_init(&cd, dnnl_forward_training, dnnl_convolution_direct,
                                                     &src, &weights, nil, &dst, strides, padL, padR)
        case .backwardData:
            status = dnnl_convolution_backward_data_desc_init(&cd, dnnl_convolution_direct,
                                                              &src, &weights, &dst, strides, padL, padR)
        case .backwardWeights:
            status = g.hasBias
                ? dnnl_convolution_backward_weights_desc_init(&cd, dnnl_convolution_direct,
                                                              &src, &weights, &bias, &dst, strides, padL, padR)
                : dnnl_convolution_backward_weights_desc_init(&cd, dnnl_convolution_direct,
                                                              &src, &weights, nil, &dst, strides, padL, padR)
        }
        Self.check(status, "convolution \(pass) descriptor for \(g)")
        var attr: dnnl_primitive_attr_t?
        Self.check(dnnl_primitive_attr_create(&attr), "dnnl_primitive_attr_create")
        defer { dnnl_primitive_attr_destroy(attr) }
        Self.check(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "scratchpad mode")
        var pd: dnnl_primitive_desc_t?
        Self.check(withUnsafePointer(to: &cd) { dnnl_primitive_desc_create(&pd, $0, attr, engine, hint?.pd) },
                   "convolution \(pass) primitive descriptor for \(g)")
        var prim: dnnl_primitive_t?
        Self.check(dnnl_primitive_create(&prim, pd), "convolution \(pass) primitive for \(g)")
        let p = Primitive(pd: pd!, primitive: prim!)
        p.src = src
        p.weights = plainWeights
        p.internalWeights = dnnl_primitive_desc_query_md(
            pd, pass == .backwardWeights ? dnnl_query_diff_weights_md : dnnl_query_weights_md, 0)!.pointee
        p.internalWeightsBytes = dnnl_memory_desc_get_size(&p.internalWeights)
        if dnnl_memory_desc_equal(&p.weights, &p.internalWeights) == 0 {
            var rpd: dnnl_primitive_desc_t?
            let status = pass == .backwardWeights
                ? dnnl_reorder_primitive_desc_create(&rpd, &p.internalWeights, engine, &p.weights, engine, nil)
                : dnnl_reorder_primitive_desc_create(&rpd, &p.weights, engine, &p.internalWeights, engine, nil)
            Self.check(status, "weights reorder descriptor for \(pass) \(g)")
            var r: dnnl_primitive_t?
            Self.check(dnnl_primitive_create(&r, rpd), "weights reorder for \(pass) \(g)")
            p.reorder = r
        }
        p.bias = bias
        p.dst = dst
        cache[key] = p
        return p
    }

    private static func desc(_ dims: [Int], _ tag: dnnl_format_tag_t) -> dnnl_memory_desc_t {
        var md = dnnl_memory_desc_t()
        let d = dims.map(Int64.init)
        check(dnnl_memory_desc_init_by_tag(&md, Int32(dims.count), d, dnnl_f32, tag), "memory descriptor \(dims)")
        return md
    }
}
