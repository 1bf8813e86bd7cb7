import Foundation

/// Writes a network's full parameters as a safetensors file
/// (https://github.com/huggingface/safetensors): one little-endian F32 tensor per
/// parameter tensor of the architecture, named and shaped as PyTorch names them
/// (`layers.<i>.weight`, `layers.<i>.bias`), laid out back to back in parameter order
/// (Formats/idz-v1.md section 7), so the data buffer is theta itself.
///
/// Every file records its architecture as the `__metadata__` entry `idzip.architecture`
/// (the `Architecture.spec` name, e.g. `fc:784-200-200-10`, or for a network without one
/// its description, docs/architecture-files.md, on one line), whoever writes it, so that
/// `idzip eval` and `SafetensorsFile` users can rebuild the network without being told.
public enum SafetensorsWriter {
    /// The metadata key holding the architecture's spec.
    public static let architectureKey = "idzip.architecture"

    /// The header (8-byte length, then JSON padded with spaces to a multiple of 8) that
    /// precedes the D float32 values of `architecture`.
    ///
    /// `metadata` is kept in order; the `idzip.architecture` entry is set to
    /// `architecture.spec` (replacing a caller's value in place, else appended), or the
    /// one-line description of an architecture without a spec name. Batch-norm buffers
    /// (F32) and their `num_batches_tracked` (I64 scalars) follow the parameters.
    /// - Throws: `SafetensorsError` `.invalidShape` when the architecture is invalid.
    public static func header(
        for architecture: Architecture, metadata: [(key: String, value: String)] = []
    ) throws(SafetensorsError) -> [UInt8] {
        let tensors: [TensorSpec]
        let buffers: [TensorSpec]
        do {
            tensors = try architecture.parameterTensors()
            buffers = try architecture.bufferTensors()
        } catch {
            throw SafetensorsError(.invalidShape, error.description)
        }
        return encode(tensors: tensors, buffers: buffers, counters: architecture.batchesTrackedNames, metadata: recordingArchitecture(architecture, in: metadata))
    }

    /// The bytes after theta in a file whose architecture has batch normalisation: the
    /// buffer values (float32, `Architecture.bufferTensors()` order), then `batchesTracked`
    /// as one little-endian int64 per batch-norm layer (`num_batches_tracked`). Empty
    /// without batch normalisation.
    public static func bufferBytes(_ buffers: [Float], batchesTracked: UInt64, counters: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(buffers.count * 4 + counters * 8)
        for value in buffers { bytes += littleEndianBytes(UInt64(value.bitPattern)).prefix(4) }
        for _ in 0..<counters { bytes += littleEndianBytes(batchesTracked) }
        return bytes
    }

    /// Writes `theta` (D float32 values in parameter order) of `architecture` to `url`
    /// atomically: the file appears only when complete.
    /// - Throws: `SafetensorsError` `.wrongTensor` when theta.count is not D, `.invalidShape`
    ///   for an invalid architecture, `.io` when the file cannot be written.
    /// - Parameters:
    ///   - buffers: the batch-norm running statistics (`IdzModel.buffers`): exactly
    ///     `architecture.bufferCount()` values; written as `<name>.running_mean`,
    ///     `<name>.running_var` with `<name>.num_batches_tracked` = `batchesTracked`.
    public static func write(
        _ theta: [Float], architecture: Architecture, metadata: [(key: String, value: String)] = [],
        buffers: [Float] = [], batchesTracked: UInt64 = 0, to url: URL
    ) throws(SafetensorsError) {
        let count: Int
        let bufferCount: Int
        do {
            count = try architecture.parameterCount()
            bufferCount = try architecture.bufferCount()
        } catch {
            throw SafetensorsError(.invalidShape, error.description)
        }
        guard theta.count == count else {
            throw SafetensorsError(.wrongTensor, "\(theta.count) values for an architecture of \(count) parameters")
        }
        guard buffers.count == bufferCount else {
            throw SafetensorsError(.wrongTensor, "\(buffers.count) buffer values for batch-norm layers that hold \(bufferCount)")
        }
        let header = try header(for: architecture, metadata: metadata)
        let tail = bufferBytes(buffers, batchesTracked: batchesTracked, counters: architecture.batchesTrackedNames.count)
        do {
            try writeFile(header: header, theta: theta, tail: tail, to: url)
        } catch {
            throw SafetensorsError(.io, error.description)
        }
    }

    private static func writeFile(header: [UInt8], theta: [Float], tail: [UInt8], to url: URL) throws(FileWriteError) {
        let writer = try AtomicFileWriter(destination: url)
        try writer.write(header)
        var bytes = [UInt8]()
        bytes.reserveCapacity(theta.count * 4)
        for value in theta {
            let bits = value.bitPattern
            for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: bits >> UInt32(shift))) }
        }
        try writer.write(bytes)
        try writer.write(tail)
        try writer.commit()
    }

    /// `metadata` with `idzip.architecture` set to the architecture's spec.
    static func recordingArchitecture(
        _ architecture: Architecture, in metadata: [(key: String, value: String)]
    ) -> [(key: String, value: String)] {
        let spec = architecture.spec ?? ArchitectureDescription.json(architecture, pretty: false)
        var result: [(key: String, value: String)] = []
        var recorded = false
        for entry in metadata {
            if entry.key == architectureKey {
                if !recorded { result.append((architectureKey, spec)) }
                recorded = true
            } else {
                result.append(entry)
            }
        }
        if !recorded { result.append((architectureKey, spec)) }
        return result
    }

    /// The header for float32 `tensors` laid out back to back, with `metadata` as given.
    /// `buffers` (F32) follow the tensors, then one I64 scalar per name in `counters`.
    static func encode(
        tensors: [TensorSpec], buffers: [TensorSpec] = [], counters: [String] = [], metadata: [(key: String, value: String)]
    ) -> [UInt8] {
        var json = "{"
        if !metadata.isEmpty {
            json += "\"__metadata__\":{"
            json += metadata.map { "\(jsonString($0.key)):\(jsonString($0.value))" }.joined(separator: ",")
            json += "},"
        }
        var offset = 0
        json += (tensors + buffers).map { tensor in
            let start = offset
            offset += tensor.count * 4
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            return "\(jsonString(tensor.name)):{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(start),\(offset)]}"
        }.joined(separator: ",")
        for name in counters {
            json += ",\(jsonString(name)):{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[\(offset),\(offset + 8)]}"
            offset += 8
        }
        json += "}"
        var body = Array(json.utf8)
        while body.count % 8 != 0 { body.append(UInt8(ascii: " ")) }
        return littleEndianBytes(UInt64(body.count)) + body
    }

    static func jsonString(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20:
                let digits = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}

func littleEndianBytes(_ value: UInt64) -> [UInt8] {
    (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
}
