/// The rules a model must satisfy to be stored in, or read from, a `.idz` file. The
/// writer runs them too, so that it never produces a file a reader rejects.
enum IdzModelCheck {
    /// Throws the first rule `model` breaks; returns its parameter tensors.
    @discardableResult
    static func check(_ model: IdzModel) throws(IdzError) -> [TensorSpec] {
        let tensors = try parameterTensors(of: model.architecture)
        try checkBuffers(model)
        let parameterCount = tensors.last.map { $0.offset + $0.count } ?? 0
        try checkProjection(model.projection, parameterCount: parameterCount)
        try checkTheta(model.theta, dimension: model.projection.dimension)
        try checkPreprocessing(model.preprocessing, inputShape: model.architecture.inputShape)
        try checkLabels(model.labels, architecture: model.architecture)
        try checkMetadata(model.metadata)
        try BaseSections.check(model, tensors: tensors)
        guard ContainerProfile.allowedDigestBytes.contains(model.weightsSHA256.count) else {
            throw IdzError(.invalidValue, "the weights SHA-256 has \(model.weightsSHA256.count) bytes, not 32 (or 0, 4, 8, 16 kept by a compact file)")
        }
        return tensors
    }

    /// The buffers fit the architecture: exactly `bufferCount()` finite values, variances
    /// not negative, and no count of batches without buffers (Formats/idz-v3.md section 5).
    static func checkBuffers(_ model: IdzModel) throws(IdzError) {
        let bufferTensors: [TensorSpec]
        do { bufferTensors = try model.architecture.bufferTensors() } catch { throw IdzError(.invalidArchitecture, error.description) }
        let count = bufferTensors.reduce(0) { $0 + $1.count }
        if model.buffers.isEmpty && count == 0 {
            guard model.batchesTracked == 0 else {
                throw IdzError(.invalidValue, "\(model.batchesTracked) batches tracked, but the network has no batch normalisation")
            }
            return
        }
        guard model.buffers.count == count else {
            throw IdzError(.invalidValue, "\(model.buffers.count) buffer values, but the batch-norm layers need \(count)")
        }
        for tensor in bufferTensors {
            for index in tensor.range {
                let value = model.buffers[index]
                guard value.isFinite, tensor.initScheme != .ones || value >= 0 else {
                    throw IdzError(.invalidValue, "buffer \(tensor.name) entry \(index - tensor.offset) is \(value); it must be finite (and a variance not negative)")
                }
            }
        }
    }

    /// Version 3's layers, layer graph and buffers have no compact encoding
    /// (Formats/idz-v3.md section 5.1): a model that uses them is refused in that layout.
    static func checkEncodable(_ model: IdzModel, layout: ContainerProfile.Layout) throws(IdzError) {
        guard layout == .standard || !model.needsVersion3 else {
            throw IdzError(.invalidValue, "the compact layout cannot hold version 3 layers, layer names or buffers; write the standard layout")
        }
    }

    static func parameterTensors(of architecture: Architecture) throws(IdzError) -> [TensorSpec] {
        do {
            return try architecture.parameterTensors()
        } catch {
            throw IdzError(.invalidArchitecture, error.description)
        }
    }

    static func checkProjection(_ projection: ProjectionSpec, parameterCount: Int) throws(IdzError) {
        let d = projection.dimension
        guard d >= 1 else { throw IdzError(.invalidValue, "d is \(d); it must be at least 1") }
        guard d <= Limits.maxSubspaceDimension else {
            throw IdzError(.limitExceeded, "declared d \(d) exceeds the limit \(Limits.maxSubspaceDimension)")
        }
        guard d <= parameterCount else {
            throw IdzError(.invalidValue, "d \(d) exceeds the \(parameterCount) parameters (D) of the architecture")
        }
        if projection.kind == .identity && d != parameterCount {
            throw IdzError(.invalidValue, "the identity projection needs d = D = \(parameterCount), got d \(d)")
        }
        if projection.kind == .fastfood {
            let blockLength = FastfoodProjection.blockLength(columnCount: d)
            let blockCount = (parameterCount + blockLength - 1) / blockLength
            guard blockCount <= 1 << 32 else {
                throw IdzError(.limitExceeded, "Fastfood with d \(d) needs \(blockCount) blocks for D \(parameterCount), more than the limit 2^32")
            }
        }
    }

    static func checkTheta(_ theta: StoredTheta, dimension: Int) throws(IdzError) {
        guard theta.count == dimension else {
            throw IdzError(.invalidValue, "theta_d has \(theta.count) values, but d is \(dimension)")
        }
        let firstNonFinite: Int?
        switch theta {
        case .float32(let values):
            firstNonFinite = values.firstIndex { !$0.isFinite }
        case .float16(let values):
            firstNonFinite = values.firstIndex { $0 & 0x7C00 == 0x7C00 }
        case .int8(_, let scale):
            guard scale.isFinite, scale > 0 else {
                throw IdzError(.invalidValue, "the int8 scale of theta_d is \(scale); it must be finite and positive")
            }
            firstNonFinite = nil
        case .codebook(let levels, let symbols):
            try checkCodebook(levels: levels, symbols: symbols)
            firstNonFinite = nil
        }
        if let index = firstNonFinite {
            throw IdzError(.invalidValue, "theta_d value \(index) is not finite")
        }
    }

    static func checkCodebook(levels: [Float], symbols: [UInt16]) throws(IdzError) {
        guard levels.count >= 1, levels.count <= StoredTheta.maxCodebookLevels else {
            throw IdzError(.limitExceeded, "a codebook of \(levels.count) levels; the limit is 1...\(StoredTheta.maxCodebookLevels)")
        }
        if let index = levels.firstIndex(where: { !$0.isFinite }) {
            throw IdzError(.invalidValue, "codebook level \(index) is \(levels[index]), not a finite number")
        }
        if let index = symbols.firstIndex(where: { Int($0) >= levels.count }) {
            throw IdzError(.invalidValue, "theta_d symbol \(index) is \(symbols[index]), beyond the \(levels.count) codebook levels")
        }
    }

    static func checkPreprocessing(_ preprocessing: Preprocessing, inputShape: [Int]) throws(IdzError) {
        let channels = preprocessing.mean.count
        guard preprocessing.standardDeviation.count == channels else {
            throw IdzError(.invalidValue, "preprocessing has \(channels) means but \(preprocessing.standardDeviation.count) standard deviations")
        }
        let inputChannels = inputShape.count == 3 ? inputShape[0] : 1
        guard channels == 1 || channels == inputChannels else {
            throw IdzError(.invalidValue, "preprocessing has \(channels) channels; the input has \(inputChannels) (use 1 to share one mean and std)")
        }
        guard preprocessing.inputScale.isFinite else {
            throw IdzError(.invalidValue, "the preprocessing input scale is \(preprocessing.inputScale)")
        }
        for channel in 0..<channels {
            let mean = preprocessing.mean[channel]
            let deviation = preprocessing.standardDeviation[channel]
            guard mean.isFinite, deviation.isFinite, deviation > 0 else {
                throw IdzError(.invalidValue, "preprocessing channel \(channel) has mean \(mean) and std \(deviation); both must be finite and std positive")
            }
        }
    }

    static func checkLabels(_ labels: [String], architecture: Architecture) throws(IdzError) {
        guard !labels.isEmpty else { return }
        guard labels.count <= ContainerLimits.maxLabels else {
            throw IdzError(.limitExceeded, "\(labels.count) labels exceed the limit \(ContainerLimits.maxLabels)")
        }
        let outputs: Int
        do { outputs = try architecture.outputCount() } catch { throw IdzError(.invalidArchitecture, error.description) }
        guard labels.count == outputs else {
            throw IdzError(.invalidValue, "\(labels.count) labels for a network with \(outputs) outputs")
        }
        for (index, label) in labels.enumerated() where label.utf8.count > ContainerLimits.maxNameBytes {
            throw IdzError(.limitExceeded, "label \(index) has \(label.utf8.count) bytes, over the limit \(ContainerLimits.maxNameBytes)")
        }
    }

    static func checkMetadata(_ metadata: [MetadataEntry]) throws(IdzError) {
        guard metadata.count <= ContainerLimits.maxMetadataEntries else {
            throw IdzError(.limitExceeded, "\(metadata.count) metadata entries exceed the limit \(ContainerLimits.maxMetadataEntries)")
        }
        // Keys are compared as bytes: Swift's String == treats canonically equivalent
        // spellings as equal, other implementations would not.
        var keys = Set<[UInt8]>()
        for entry in metadata {
            guard !entry.key.isEmpty else { throw IdzError(.invalidValue, "a metadata key is empty") }
            guard entry.key.utf8.count <= ContainerLimits.maxNameBytes else {
                throw IdzError(.limitExceeded, "a metadata key has \(entry.key.utf8.count) bytes, over the limit \(ContainerLimits.maxNameBytes)")
            }
            guard keys.insert(Array(entry.key.utf8)).inserted else {
                throw IdzError(.duplicateMetadataKey, "duplicate metadata key \(IdzError.quote(entry.key))")
            }
            let valueSize: Int
            switch entry.value {
            case .string(let text): valueSize = text.utf8.count
            case .bytes(let bytes): valueSize = bytes.count
            case .int, .double, .bool: valueSize = 0
            }
            guard valueSize <= ContainerLimits.maxMetadataValueBytes else {
                throw IdzError(.limitExceeded, "metadata \(IdzError.quote(entry.key)) has \(valueSize) bytes, over the limit \(ContainerLimits.maxMetadataValueBytes)")
            }
        }
    }
}
