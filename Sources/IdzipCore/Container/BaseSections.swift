/// Sections `0x000A` (base) and `0x000B` (tensor modes and scales) of format version 3
/// (Formats/idz-v3.md sections 6 and 7): their bytes and their rules.
///
///     0x000A base:   32 bytes   SHA-256 of the base's weights (D float32 LE, parameter order)
///                    u32 n, n bytes   locator, UTF-8, n <= 4096 (may be 0)
///     0x000B modes:  u8  flags   bit 0: scales present; other bits 0
///                    u32 T       tensor count, = the tensor table's
///                    T x u8      mode of each tensor: 0 subspace, 1 direct, 2 frozen
///                    S x f32     (only with bit 0) one scale per subspace tensor, finite
///                    u64 V       values of the direct tensors, = their element count
///                    4 V bytes   the values as float32 byte planes (idz-v1.md 4.5), finite
enum BaseSections {
    static let scalesFlag: UInt8 = 1

    // MARK: Writing

    static func writeBase(_ writer: inout ByteWriter, _ base: BaseReference) {
        writer.raw(base.sha256)
        writer.string(base.locator)
    }

    static func writeModes(_ writer: inout ByteWriter, _ modes: TensorModes) {
        writer.u8(modes.scales == nil ? 0 : scalesFlag)
        writer.u32(UInt32(clamping: modes.modes.count))
        for mode in modes.modes { writer.u8(mode.rawValue) }
        for scale in modes.scales ?? [] { writer.f32(scale) }
        writer.count(modes.directValues.count)
        writer.raw(BytePlanes.split(modes.directValues))
    }

    // MARK: Reading

    /// The version a model needs: 3 with a base or modes, else nil (versions 1 and 2 decide).
    static func requiredVersion(_ model: IdzModel) -> UInt32? {
        model.base != nil || model.tensorModes != nil ? 3 : nil
    }

    static func readBase(_ reader: inout ByteReader) throws(IdzError) -> BaseReference {
        let digest = Array(try reader.raw(IdzLayout.sha256Size, "the base SHA-256"))
        let locator = try reader.string("base locator", limit: ContainerLimits.maxNameBytes)
        return BaseReference(sha256: digest, locator: locator)
    }

    /// Reads section 0x000B against the architecture's tensors; every count is checked
    /// against them and against the remaining bytes before anything is allocated.
    static func readModes(_ reader: inout ByteReader, tensors: [TensorSpec]) throws(IdzError) -> TensorModes {
        let flags = try reader.u8("tensor mode flags")
        guard flags & ~scalesFlag == 0 else {
            throw IdzError(.invalidValue, "tensor mode flags 0x\(String(flags, radix: 16)): version 3 defines only bit 0 (scales)")
        }
        let count = try reader.count32("tensor mode count", limit: Limits.maxParameters)
        guard count == tensors.count else {
            throw IdzError(.inconsistentShapes, "inconsistent shapes: the tensor modes section lists \(count) tensors, the architecture defines \(tensors.count)")
        }
        try reader.checkRoom(for: count, of: 1, "tensor modes")
        var modes: [TensorMode] = []
        for tensor in tensors {
            let code = try reader.u8("mode of \(tensor.name)")
            guard let mode = TensorMode(rawValue: code) else {
                throw IdzError(.unknownValue, "unknown tensor mode \(code) (tensor \(tensor.name))")
            }
            modes.append(mode)
        }
        var scales: [Float]?
        if flags & scalesFlag != 0 {
            let subspace = modes.lazy.filter { $0 == .subspace }.count
            try reader.checkRoom(for: subspace, of: 4, "tensor scales")
            var values: [Float] = []
            for _ in 0..<subspace { values.append(try reader.f32("tensor scale")) }
            scales = values
        }
        let expected = TensorModes(modes: modes).directCount(tensors: tensors)
        let directCount = try reader.count("direct value count", limit: Limits.maxParameters)
        guard directCount == expected else {
            throw IdzError(.inconsistentShapes, "inconsistent shapes: the tensor modes section stores \(directCount) direct values, its direct tensors have \(expected)")
        }
        try reader.checkRoom(for: directCount, of: 4, "direct values")
        let planes = try reader.raw(4 * directCount, "direct value byte planes")
        let values = BytePlanes.joinFloat32(planes, count: directCount)
        return TensorModes(modes: modes, scales: scales, directValues: values)
    }

    // MARK: Rules

    /// The rules of sections 6 and 7 that `IdzModelCheck.check` adds for version 3.
    static func check(_ model: IdzModel, tensors: [TensorSpec]) throws(IdzError) {
        if let base = model.base {
            guard base.sha256.count == IdzLayout.sha256Size else {
                throw IdzError(.invalidValue, "the base SHA-256 has \(base.sha256.count) bytes, not 32")
            }
            guard base.locator.utf8.count <= ContainerLimits.maxNameBytes else {
                throw IdzError(.limitExceeded, "the base locator has \(base.locator.utf8.count) bytes, over the limit \(ContainerLimits.maxNameBytes)")
            }
            guard model.theta0Seed == 0 else {
                throw IdzError(.invalidValue, "a model with a base stores theta0 seed 0 (theta0 is the base), not \(model.theta0Seed)")
            }
        }
        guard let modes = model.tensorModes else { return }
        guard modes.modes.count == tensors.count else {
            throw IdzError(.inconsistentShapes, "inconsistent shapes: \(modes.modes.count) tensor modes for \(tensors.count) tensors")
        }
        guard modes.scales != nil || modes.modes.contains(where: { $0 != .subspace }) else {
            throw IdzError(.invalidValue, "the tensor modes section puts every tensor in the subspace with no scales; a file without modes omits it")
        }
        guard model.projection.kind != .identity else {
            throw IdzError(.invalidValue, "tensor modes need a random projection; the identity projection already trains every tensor directly")
        }
        if let scales = modes.scales {
            guard scales.count == modes.subspaceCount else {
                throw IdzError(.invalidValue, "\(scales.count) tensor scales for \(modes.subspaceCount) subspace tensors")
            }
            if let index = scales.firstIndex(where: { !$0.isFinite }) {
                throw IdzError(.invalidValue, "tensor scale \(index) is \(scales[index]), not a finite number")
            }
        }
        let expected = modes.directCount(tensors: tensors)
        guard modes.directValues.count == expected else {
            throw IdzError(.inconsistentShapes, "inconsistent shapes: \(modes.directValues.count) direct values, the direct tensors have \(expected)")
        }
        if let index = modes.directValues.firstIndex(where: { !$0.isFinite }) {
            throw IdzError(.invalidValue, "direct value \(index) is not finite")
        }
    }
}
