import Foundation

/// Writes a network's full parameters as a safetensors file
/// (https://github.com/huggingface/safetensors): one little-endian F32 tensor per
/// parameter tensor of the architecture, named and shaped as PyTorch names them
/// (`layers.<i>.weight`, `layers.<i>.bias`), laid out back to back in parameter order
/// (Formats/idz-v1.md section 7), so the data buffer is theta itself.
///
/// Every file records its architecture as the `__metadata__` entry `idzip.architecture`
/// (the `Architecture.spec` name, e.g. `fc:784-200-200-10`), whoever writes it, so that
/// `idzip eval` and `SafetensorsFile` users can rebuild the network without being told.
public enum SafetensorsWriter {
    /// The metadata key holding the architecture's spec.
    public static let architectureKey = "idzip.architecture"

    /// The header (8-byte length, then JSON padded with spaces to a multiple of 8) that
    /// precedes the D float32 values of `architecture`.
    ///
    /// `metadata` is kept in order; the `idzip.architecture` entry is set to
    /// `architecture.spec` (replacing a caller's value in place, else appended). An
    /// architecture without a spec name (built in code, not from a name) is written
    /// without that entry.
    /// - Throws: `SafetensorsError` `.invalidShape` when the architecture is invalid.
    public static func header(
        for architecture: Architecture, metadata: [(key: String, value: String)] = []
    ) throws(SafetensorsError) -> [UInt8] {
        let tensors: [TensorSpec]
        do { tensors = try architecture.parameterTensors() } catch { throw SafetensorsError(.invalidShape, error.description) }
        return encode(tensors: tensors, metadata: recordingArchitecture(architecture, in: metadata))
    }

    /// Writes `theta` (D float32 values in parameter order) of `architecture` to `url`
    /// atomically: the file appears only when complete.
    /// - Throws: `SafetensorsError` `.wrongTensor` when theta.count is not D, `.invalidShape`
    ///   for an invalid architecture, `.io` when the file cannot be written.
    public static func write(
        _ theta: [Float], architecture: Architecture, metadata: [(key: String, value: String)] = [], to url: URL
    ) throws(SafetensorsError) {
        let count: Int
        do { count = try architecture.parameterCount() } catch { throw SafetensorsError(.invalidShape, error.description) }
        guard theta.count == count else {
            throw SafetensorsError(.wrongTensor, "\(theta.count) values for an architecture of \(count) parameters")
        }
        let header = try header(for: architecture, metadata: metadata)
        do {
            try writeFile(header: header, theta: theta, to: url)
        } catch {
            throw SafetensorsError(.io, error.description)
        }
    }

    private static func writeFile(header: [UInt8], theta: [Float], to url: URL) throws(FileWriteError) {
        let writer = try AtomicFileWriter(destination: url)
        try writer.write(header)
        var bytes = [UInt8]()
        bytes.reserveCapacity(theta.count * 4)
        for value in theta {
            let bits = value.bitPattern
            for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: bits >> UInt32(shift))) }
        }
        try writer.write(bytes)
        try writer.commit()
    }

    /// `metadata` with `idzip.architecture` set to the architecture's spec.
    static func recordingArchitecture(
        _ architecture: Architecture, in metadata: [(key: String, value: String)]
    ) -> [(key: String, value: String)] {
        guard let spec = architecture.spec else { return metadata.filter { $0.key != architectureKey } }
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
    static func encode(tensors: [TensorSpec], metadata: [(key: String, value: String)]) -> [UInt8] {
        var json = "{"
        if !metadata.isEmpty {
            json += "\"__metadata__\":{"
            json += metadata.map { "\(jsonString($0.key)):\(jsonString($0.value))" }.joined(separator: ",")
            json += "},"
        }
        var offset = 0
        json += tensors.map { tensor in
            let start = offset
            offset += tensor.count * 4
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            return "\(jsonString(tensor.name)):{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(start),\(offset)]}"
        }.joined(separator: ",")
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
