import Foundation

/// Regenerating a model's full weights: in memory, or streamed to a weights file, always
/// checked against the SHA-256 that the `.idz` file records.
public enum ModelExpansion {
    /// The expander for a model. Large Fastfood models regenerate their tables block by
    /// block, so memory stays near one chunk plus O(d).
    public static func expander(for model: IdzModel) throws(ExpansionError) -> WeightExpander {
        let tensors: [TensorSpec]
        do {
            tensors = try model.architecture.parameterTensors()
        } catch {
            throw .invalidModel(error.description)
        }
        let rowCount = tensors.reduce(0) { $0 + $1.count }
        let thetaD = model.theta.decoded()
        guard thetaD.count == model.projection.dimension else {
            throw .invalidModel("theta_d has \(thetaD.count) values but d is \(model.projection.dimension)")
        }
        let projection = makeProjection(
            kind: model.projection.kind, rowCount: rowCount, columnCount: model.projection.dimension,
            seed: model.projection.seed, cachesTables: false)
        return WeightExpander(tensors: tensors, theta0Seed: model.theta0Seed, projection: projection, thetaD: thetaD)
    }

    /// SHA-256 of theta as D little-endian float32 values in parameter order.
    public static func digest(of model: IdzModel) throws(ExpansionError) -> [UInt8] {
        var hasher = IdzChecksum.WeightsHasher()
        try expander(for: model).forEachChunk { (_, values) in hasher.update(values) }
        return hasher.finalize()
    }

    /// The full theta (D floats), verified against the model's checksum.
    public static func weights(of model: IdzModel) throws(ExpansionError) -> [Float] {
        let theta = try expander(for: model).expandAll()
        try verify(IdzChecksum.weightsSHA256(theta), against: model)
        return theta
    }

    /// Streams the weights into `url` in `format`. The file appears only when complete and
    /// verified; on any error no output file is left behind.
    @discardableResult
    public static func write(
        _ model: IdzModel, to url: URL, format: WeightsFileFormat, metadata: [(key: String, value: String)] = []
    ) throws(ExpansionError) -> ExpansionReport {
        let started = DispatchTime.now().uptimeNanoseconds
        let expander = try expander(for: model)
        let writer: AtomicFileWriter
        do {
            writer = try AtomicFileWriter(destination: url)
        } catch {
            throw .output(error.description)
        }
        var hasher = IdzChecksum.WeightsHasher()
        var bytesWritten = 0
        do {
            let header = switch format {
            case .safetensors: SafetensorsHeader.encode(tensors: expander.tensors, metadata: metadata)
            case .npy: NpyHeader.encode(float32Count: expander.parameterCount)
            }
            try writer.write(header)
            bytesWritten += header.count
            try expander.forEachChunk { (_, values) throws(FileWriteError) in
                hasher.update(values)
                try writeLittleEndian(values, to: writer)
                writer.startWriteback()
                bytesWritten += values.count * 4
            }
        } catch {
            writer.discard()
            throw .output(error.description)
        }
        let digest = hasher.finalize()
        do {
            try verify(digest, against: model)
        } catch {
            writer.discard()
            throw error
        }
        do {
            try writer.commit()
        } catch {
            throw .output(error.description)
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        return ExpansionReport(parameterCount: expander.parameterCount, bytesWritten: bytesWritten, sha256: digest, seconds: seconds)
    }

    static func verify(_ digest: [UInt8], against model: IdzModel) throws(ExpansionError) {
        guard digest == model.weightsSHA256 else {
            throw .checksumMismatch(expected: hexString(model.weightsSHA256), actual: hexString(digest))
        }
    }

    static func writeLittleEndian(_ values: UnsafeBufferPointer<Float>, to writer: AtomicFileWriter) throws(FileWriteError) {
        #if _endian(little)
        try writer.write(UnsafeRawBufferPointer(values))
        #else
        let bytes = values.map { $0.bitPattern.littleEndian }
        var failure: FileWriteError?
        bytes.withUnsafeBytes { raw in
            do throws(FileWriteError) { try writer.write(raw) } catch { failure = error }
        }
        if let failure { throw failure }
        #endif
    }
}

/// What an expansion produced.
public struct ExpansionReport: Sendable, Equatable {
    public var parameterCount: Int
    public var bytesWritten: Int
    public var sha256: [UInt8]
    public var seconds: Double
}

/// A model that could not be expanded.
public enum ExpansionError: Error, CustomStringConvertible, Equatable {
    case invalidModel(String)
    case checksumMismatch(expected: String, actual: String)
    case output(String)

    public var description: String {
        switch self {
        case .invalidModel(let message): "cannot expand the model: \(message)"
        case .checksumMismatch(let expected, let actual):
            "expanded weights do not match the file's checksum (expected sha256 \(expected), got \(actual)); nothing was written"
        case .output(let message): message
        }
    }
}

/// Lower-case hexadecimal.
public func hexString(_ bytes: [UInt8]) -> String {
    bytes.map { byte in
        let digits = String(byte, radix: 16)
        return digits.count == 1 ? "0" + digits : digits
    }.joined()
}
