/// Serialises a checked model into the uncompressed payload: its sections in ascending
/// tag order (critical first), each `u16 tag, u32 length, bytes`.
enum PayloadEncoder {
    static func payload(for model: IdzModel, tensors: [TensorSpec]) -> [UInt8] {
        var payload = ByteWriter()
        func section(_ tag: SectionTag, _ body: (inout ByteWriter) -> Void) {
            var writer = ByteWriter()
            body(&writer)
            payload.u16(tag.rawValue)
            payload.u32(UInt32(clamping: writer.bytes.count))
            payload.raw(writer.bytes)
        }
        section(.architecture) { architecture(&$0, model.architecture) }
        section(.tensorTable) { tensorTable(&$0, tensors) }
        section(.theta0) { $0.u64(model.theta0Seed) }
        section(.projection) {
            $0.u8(model.projection.kind.rawValue)
            $0.u64(model.projection.seed)
            $0.count(model.projection.dimension)
        }
        section(.thetaD) { theta(&$0, model.theta) }
        section(.preprocessing) { preprocessing(&$0, model.preprocessing) }
        section(.weightsSHA256) { $0.raw(model.weightsSHA256) }
        // Version 3 (Formats/idz-v3.md sections 4 and 5), in tag order.
        if !model.buffers.isEmpty || model.batchesTracked != 0 {
            section(.buffers) { Version3Sections.writeBuffers(&$0, model) }
        }
        if Version3Sections.hasGraph(model.architecture) {
            section(.layerGraph) { Version3Sections.writeGraph(&$0, model.architecture) }
        }
        if let base = model.base {
            section(.base) { BaseSections.writeBase(&$0, base) }
        }
        if let modes = model.tensorModes {
            section(.tensorModes) { BaseSections.writeModes(&$0, modes) }
        }
        if !model.labels.isEmpty {
            section(.labels) { writer in
                writer.u32(UInt32(clamping: model.labels.count))
                for label in model.labels { writer.string(label) }
            }
        }
        if !model.metadata.isEmpty {
            section(.metadata) { metadata(&$0, model.metadata) }
        }
        return payload.bytes
    }

    static func architecture(_ writer: inout ByteWriter, _ architecture: Architecture) {
        writer.u8(UInt8(clamping: architecture.inputShape.count))
        for dimension in architecture.inputShape { writer.count(dimension) }
        writer.u32(UInt32(clamping: architecture.layers.count))
        for layer in architecture.layers {
            guard let code = LayerCode(layer) else {
                Version3Sections.write(&writer, layer)  // codes 7 to 16 (Formats/idz-v3.md section 3)
                continue
            }
            writer.u8(code.rawValue)
            switch layer {
            case .dense(let units):
                writer.count(units)
            case .conv2d(let filters, let kernel, let padding):
                writer.count(filters)
                writer.count(kernel)
                writer.u8(padding.rawValue)
            case .maxPool(let size):
                writer.count(size)
            case .relu, .flatten:
                break
            case .toyGroupSum(let groups, let size):
                writer.count(groups)
                writer.count(size)
            case .convolution, .batchNorm, .averagePool, .globalAveragePool, .add, .dropout, .activation:
                break
            }
        }
    }

    private static func tensorTable(_ writer: inout ByteWriter, _ tensors: [TensorSpec]) {
        writer.u32(UInt32(clamping: tensors.count))
        for tensor in tensors {
            writer.string(tensor.name)
            writer.u8(UInt8(clamping: tensor.shape.count))
            for dimension in tensor.shape { writer.count(dimension) }
            writer.u8(tensor.initScheme.rawValue)
        }
    }

    /// float32 and float16 values go out as byte planes (Formats/idz-v1.md 4.5); int8 as is.
    static func theta(_ writer: inout ByteWriter, _ theta: StoredTheta) {
        writer.u8(theta.encoding.rawValue)
        writer.count(theta.count)
        switch theta {
        case .float32(let values):
            writer.raw(BytePlanes.split(values))
        case .float16(let values):
            writer.raw(BytePlanes.split(values))
        case .int8(let values, let scale):
            writer.f32(scale)
            for value in values { writer.u8(UInt8(bitPattern: value)) }
        case .codebook(let levels, let symbols):
            CodebookBlock.write(&writer, levels: levels, symbols: symbols)
        }
    }

    static func preprocessing(_ writer: inout ByteWriter, _ preprocessing: Preprocessing) {
        writer.f32(preprocessing.inputScale)
        writer.u32(UInt32(clamping: preprocessing.mean.count))
        for mean in preprocessing.mean { writer.f32(mean) }
        for deviation in preprocessing.standardDeviation { writer.f32(deviation) }
    }

    private static func metadata(_ writer: inout ByteWriter, _ entries: [MetadataEntry]) {
        writer.u32(UInt32(clamping: entries.count))
        for entry in entries {
            writer.string(entry.key)
            writer.u8(entry.value.typeCode.rawValue)
            switch entry.value {
            case .int(let value): writer.u64(UInt64(bitPattern: value))
            case .double(let value): writer.f64(value)
            case .string(let value): writer.string(value)
            case .bool(let value): writer.u8(value ? 1 : 0)
            case .bytes(let value): writer.blob(value)
            }
        }
    }
}
