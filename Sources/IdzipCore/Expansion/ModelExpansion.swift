import Foundation

/// Regenerating a model's full weights theta = theta0 + P theta_d (Formats/idz-v1.md
/// section 11): in memory, as a digest, or streamed to a weights file, always checked
/// against the SHA-256 that the `.idz` file records. `threads` never changes the bits.
public enum ModelExpansion {
    /// The expander for a model. Projection tables are regenerated block by block (not
    /// cached), so memory stays near one chunk plus O(d + threads x block) for any D.
    /// - Parameter threads: threads for P, theta0 and the addition.
    /// - Throws: `ExpansionError.invalidModel` when the architecture is invalid or theta_d
    ///   does not have d values (a model read by `IdzFile` never is).
    public static func expander(
        for model: IdzModel, threads: Int = ParallelLoop.defaultThreads
    ) throws(ExpansionError) -> WeightExpander {
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
        guard model.projection.dimension >= 1, model.projection.dimension <= rowCount,
              model.projection.kind != .identity || model.projection.dimension == rowCount
        else {
            throw .invalidModel("d = \(model.projection.dimension) does not fit D = \(rowCount) for a \(model.projection.kind.name) projection")
        }
        let threads = max(1, threads)
        let projection = makeProjection(
            kind: model.projection.kind, rowCount: rowCount, columnCount: model.projection.dimension,
            seed: model.projection.seed, threads: threads, cachesTables: false)
        var expander = WeightExpander(
            tensors: tensors, theta0Seed: model.theta0Seed, projection: projection, thetaD: thetaD, threads: threads)
        try attachVersion3Parts(of: model, tensors: tensors, to: &expander)
        return expander
    }

    /// A base's weights as theta0 and the per-tensor row plan (Formats/idz-v3.md 6 and 7).
    private static func attachVersion3Parts(
        of model: IdzModel, tensors: [TensorSpec], to expander: inout WeightExpander
    ) throws(ExpansionError) {
        let rowCount = expander.parameterCount
        if let base = model.base {
            guard let weights = base.weights else {
                throw .baseRequired("the model is fine-tuned from a base (\(base.summary)); give it with --base FILE")
            }
            guard weights.values.count == rowCount, weights.sha256 == base.sha256 else {
                throw .invalidModel("the attached base (sha256 \(hexString(weights.sha256)), \(weights.values.count) values) is not the model's (sha256 \(hexString(base.sha256)), \(rowCount) values)")
            }
            expander.baseValues = weights.values
        }
        if let modes = model.tensorModes {
            guard modes.modes.count == tensors.count, modes.scales.map({ $0.count == modes.subspaceCount }) ?? true,
                  modes.directValues.count == modes.directCount(tensors: tensors)
            else {
                throw .invalidModel("the tensor modes do not fit the architecture's \(tensors.count) tensors")
            }
            expander.rowPlan = TensorRowPlan(tensors: tensors, modes: modes)
        }
    }

    /// SHA-256 (32 bytes) of theta as D little-endian float32 values in parameter order,
    /// computed while streaming (memory as `expander(for:threads:)`); not compared with
    /// the model's recorded digest.
    /// - Throws: `ExpansionError.invalidModel` as `expander(for:threads:)`.
    public static func digest(
        of model: IdzModel, threads: Int = ParallelLoop.defaultThreads
    ) throws(ExpansionError) -> [UInt8] {
        var hasher = IdzChecksum.WeightsHasher()
        try expander(for: model, threads: threads).forEachChunk { (_, values) in hasher.update(values) }
        return hasher.finalize()
    }

    /// The full theta (D floats in parameter order), verified against the model's checksum.
    /// - Parameter alongside: what the caller will hold with it (activations, copies of
    ///   the weights, a data set): the D floats plus these must fit `MemoryBudget`'s limit,
    ///   checked before anything is allocated.
    /// - Throws: `ExpansionError.invalidModel`, `.tooLarge` when the memory budget is
    ///   exceeded, or `.checksumMismatch` when the weights do not match the recorded SHA-256.
    public static func weights(
        of model: IdzModel, threads: Int = ParallelLoop.defaultThreads, alongside: MemoryBudget = MemoryBudget(),
        task: String = "holding the model's weights"
    ) throws(ExpansionError) -> [Float] {
        let expander = try expander(for: model, threads: threads)
        try checkMemory(forParameters: expander.parameterCount, alongside: alongside, task: task)
        let theta = expander.expandAll()
        try verify(IdzChecksum.weightsSHA256(theta), against: model)
        return theta
    }

    /// Refuses, before allocating, weights in memory that this machine cannot hold: D
    /// floats plus `alongside` must fit `MemoryBudget`'s limit. Streaming expansion
    /// (`write`) has no such limit.
    /// - Throws: `ExpansionError.tooLarge` naming the bytes needed and the limit.
    package static func checkMemory(
        forParameters count: Int, alongside: MemoryBudget = MemoryBudget(), task: String = "holding the model's weights"
    ) throws(ExpansionError) {
        var budget = MemoryBudget()
        budget.add("weights (\(count) floats)", floats: count)
        for item in alongside.items { budget.add(item.what, bytes: item.bytes) }
        do {
            try budget.check(task, hint: "`idzip expand` streams models of any size to a file")
        } catch {
            throw .tooLarge(error.description)
        }
    }

    /// Streams the weights into `url` in `format` (safetensors: named tensors with
    /// `metadata` plus the `idzip.architecture` entry; npy: one float32 vector of D
    /// values). The file appears only when complete and verified; on any error no output
    /// file is left behind.
    /// - Returns: D, the bytes written, the SHA-256 and the seconds taken.
    /// - Throws: `ExpansionError.invalidModel`, `.checksumMismatch`, or `.output` when the
    ///   file cannot be written.
    @discardableResult
    public static func write(
        _ model: IdzModel, to url: URL, format: WeightsFileFormat, metadata: [(key: String, value: String)] = [],
        threads: Int = ParallelLoop.defaultThreads
    ) throws(ExpansionError) -> ExpansionReport {
        try write(model, to: .file(url), format: format, metadata: metadata, threads: threads)
    }

    /// Expands `model` into `target`: a regular file as `write(_:to:format:metadata:threads:)`;
    /// a stream (FIFO, character device, standard output) receives the bytes as they are
    /// made, so a checksum mismatch, found at the end, is thrown after they were sent.
    @discardableResult
    public static func write(
        _ model: IdzModel, to target: OutputTarget, format: WeightsFileFormat, metadata: [(key: String, value: String)] = [],
        threads: Int = ParallelLoop.defaultThreads
    ) throws(ExpansionError) -> ExpansionReport {
        let started = DispatchTime.now().uptimeNanoseconds
        let expander = try expander(for: model, threads: threads)
        let header: [UInt8]
        let tail = try bufferBytes(of: model, format: format)
        do throws(SafetensorsError) {
            header = switch format {
            case .safetensors: try SafetensorsWriter.header(for: model.architecture, metadata: metadata)
            case .npy: NpyHeader.encode(float32Count: expander.parameterCount)
            }
        } catch {
            throw .invalidModel(error.description)
        }
        let writer: AtomicFileWriter
        do {
            writer = try AtomicFileWriter(target: target)
        } catch {
            throw .output(error.description)
        }
        var hasher = IdzChecksum.WeightsHasher()
        var bytesWritten = 0
        do {
            try writer.write(header)
            bytesWritten += header.count
            try expander.forEachChunk { (_, values) throws(FileWriteError) in
                hasher.update(values)
                try writeLittleEndian(values, to: writer)
                writer.startWriteback()
                bytesWritten += values.count * 4
            }
            try writer.write(tail)
            bytesWritten += tail.count
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

    /// What follows theta in the file: the batch-norm buffers and their counts in
    /// safetensors (Formats/idz-v3.md section 5); nothing without batch normalisation.
    /// - Throws: `.invalidModel` for buffers that do not fit the architecture, or a model
    ///   with buffers expanded to .npy (one vector of theta cannot hold them).
    static func bufferBytes(of model: IdzModel, format: WeightsFileFormat) throws(ExpansionError) -> [UInt8] {
        let count: Int
        do { count = try model.architecture.bufferCount() } catch { throw .invalidModel(error.description) }
        guard count > 0 else { return [] }
        guard format == .safetensors else {
            throw .invalidModel("the network has batch normalisation, whose running statistics a .npy vector of theta cannot hold; expand to .safetensors")
        }
        guard model.buffers.count == count else {
            throw .invalidModel("\(model.buffers.count) buffer values, but the batch-norm layers need \(count)")
        }
        return SafetensorsWriter.bufferBytes(model.buffers, batchesTracked: model.batchesTracked, counters: model.architecture.batchesTrackedNames.count)
    }

    /// A compact file may keep only the first bytes of the digest, or none (then nothing
    /// is checked: Formats/idz-v2.md, "Integrity").
    static func verify(_ digest: [UInt8], against model: IdzModel) throws(ExpansionError) {
        guard digest.prefix(model.weightsSHA256.count).elementsEqual(model.weightsSHA256) else {
            throw .checksumMismatch(expected: hexString(model.weightsSHA256), actual: hexString(Array(digest.prefix(model.weightsSHA256.count))))
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

/// What `ModelExpansion.write` produced.
public struct ExpansionReport: Sendable, Equatable {
    /// D, the float32 values written.
    public var parameterCount: Int
    /// The file's size in bytes: header plus 4 D.
    public var bytesWritten: Int
    /// SHA-256 of the D values (32 bytes), equal to the model's recorded digest.
    public var sha256: [UInt8]
    /// Wall-clock seconds of the expansion and write.
    public var seconds: Double
}

/// A model that could not be expanded.
public enum ExpansionError: Error, CustomStringConvertible, Equatable {
    /// The model's parts do not fit together (architecture, d, theta_d); the message says how.
    case invalidModel(String)
    /// The expanded weights do not match the model's SHA-256 (hexadecimal digests).
    case checksumMismatch(expected: String, actual: String)
    /// The output file could not be written; the message names it and the reason.
    case output(String)
    /// Holding the weights in memory would exceed `MemoryBudget`'s limit; the message says by how much.
    case tooLarge(String)
    /// The model is fine-tuned from a base whose weights were not attached (`IdzModel.attachBase`).
    case baseRequired(String)

    /// One line naming the problem.
    public var description: String {
        switch self {
        case .invalidModel(let message): "cannot expand the model: \(message)"
        case .checksumMismatch(let expected, let actual):
            "expanded weights do not match the file's checksum (expected sha256 \(expected), got \(actual)); nothing was written"
        case .output(let message): message
        case .tooLarge(let message): message
        case .baseRequired(let message): message
        }
    }
}

/// Lower-case hexadecimal, two digits per byte.
package func hexString(_ bytes: [UInt8]) -> String {
    bytes.map { byte in
        let digits = String(byte, radix: 16)
        return digits.count == 1 ? "0" + digits : digits
    }.joined()
}
