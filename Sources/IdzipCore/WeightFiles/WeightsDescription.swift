import Foundation

/// What a file of full weights must carry to be used without the `.idz` it came from: the
/// architecture, the input preprocessing, the data set it was trained on (name and
/// SHA-256) and the weights' SHA-256. Safetensors files carry it as `idzip.*` metadata
/// strings; a `.npy` vector carries it in a JSON sidecar, `<file>.npy.json` (numpy refuses
/// extra keys in the .npy header itself).
///
/// The sidecar, one JSON object (Formats/idz-v1.md section 7):
/// `{"architecture": "fc:784-200-200-10", "parameters": 199210,
///   "preprocessing": {"input_scale": 0.003921569, "mean": [0], "std": [1]},
///   "dataset": "mnist", "dataset_sha256": "...", "weights_sha256": "..."}`.
/// Floats are written in their shortest decimal form that reads back as the same float32.
public struct WeightsDescription: Sendable, Equatable {
    /// The architecture's spec ("lenet", "fc:784-200-200-10").
    public var architecture: String
    /// D.
    public var parameters: Int
    public var preprocessing: Preprocessing
    /// The data set the model was trained on, as the model records it; nil if none is recorded.
    public var dataset: String?
    /// Its SHA-256 (64 hex digits), nil if none is recorded.
    public var datasetSHA256: String?
    /// SHA-256 of the D weights as little-endian float32 values (64 hex digits).
    public var weightsSHA256: String

    /// Metadata keys of safetensors files.
    public static let preprocessingKey = "idzip.preprocessing"
    public static let datasetKey = "idzip.dataset"
    public static let datasetDigestKey = "idzip.dataset.sha256"
    /// Largest sidecar read, in bytes (a real one is a few hundred).
    public static let maxSidecarBytes = 1 << 20

    public init(
        architecture: String, parameters: Int, preprocessing: Preprocessing, dataset: String?, datasetSHA256: String?,
        weightsSHA256: String
    ) {
        self.architecture = architecture
        self.parameters = parameters
        self.preprocessing = preprocessing
        self.dataset = dataset
        self.datasetSHA256 = datasetSHA256
        self.weightsSHA256 = weightsSHA256
    }

    /// The description of a `.idz` model's expanded weights; nil when its architecture has
    /// no spec (it cannot be named in a weights file).
    public init?(model: IdzModel) {
        guard let spec = model.architecture.spec, let count = try? model.architecture.parameterCount() else { return nil }
        var dataset: String?
        if case .string(let name) = model.metadata["dataset"] { dataset = name }
        var digest: String?
        if case .bytes(let bytes) = model.metadata["dataset.sha256"] { digest = hexString(bytes) }
        self.init(
            architecture: spec, parameters: count, preprocessing: model.preprocessing, dataset: dataset, datasetSHA256: digest,
            weightsSHA256: hexString(model.weightsSHA256))
    }

    /// The sidecar path of a .npy weights file: the path with ".json" appended.
    public static func sidecarPath(of path: String) -> String { path + ".json" }

    // MARK: Preprocessing as text

    /// The preprocessing as the JSON object written in both places:
    /// {"input_scale": 0.003921569, "mean": [0], "std": [1]}.
    public static func json(_ preprocessing: Preprocessing) -> String {
        func number(_ value: Float) -> String {
            let text = "\(value)"
            return text.hasSuffix(".0") ? String(text.dropLast(2)) : text
        }
        return "{\"input_scale\": \(number(preprocessing.inputScale)), \"mean\": [\(preprocessing.mean.map(number).joined(separator: ", "))], "
            + "\"std\": [\(preprocessing.standardDeviation.map(number).joined(separator: ", "))]}"
    }

    /// Reads `json(_:)`'s object (any JSON object with those three keys).
    /// - Throws: `WeightsDescriptionError` when a key is missing or not finite numbers.
    public static func preprocessing(json text: String) throws(WeightsDescriptionError) -> Preprocessing {
        guard let decoded = try? JSONDecoder().decode(PreprocessingJSON.self, from: Data(text.utf8)) else {
            throw WeightsDescriptionError("the preprocessing is not a JSON object with input_scale, mean and std")
        }
        return try decoded.checked()
    }

    /// The JSON form; numbers are read as float32 from their decimal text.
    struct PreprocessingJSON: Decodable {
        var input_scale: Float
        var mean: [Float]
        var std: [Float]

        func checked() throws(WeightsDescriptionError) -> Preprocessing {
            guard !mean.isEmpty, mean.count == std.count, mean.count <= Limits.maxDimension else {
                throw WeightsDescriptionError("the preprocessing needs mean and std lists of one length")
            }
            guard input_scale.isFinite, mean.allSatisfy(\.isFinite), std.allSatisfy({ $0.isFinite && $0 > 0 }) else {
                throw WeightsDescriptionError("the preprocessing needs a finite scale, finite means and positive finite standard deviations")
            }
            return Preprocessing(inputScale: input_scale, mean: mean, standardDeviation: std)
        }
    }

    struct SidecarJSON: Decodable {
        var architecture: String
        var parameters: Int
        var preprocessing: PreprocessingJSON
        var dataset: String?
        var dataset_sha256: String?
        var weights_sha256: String
    }

    // MARK: Safetensors metadata

    /// The `idzip.*` entries a safetensors file of these weights carries (the architecture
    /// is added by `SafetensorsWriter`, the weights' digest by `idzip expand` as `weights_sha256`).
    public var safetensorsMetadata: [(key: String, value: String)] {
        var entries: [(key: String, value: String)] = [(Self.preprocessingKey, Self.json(preprocessing))]
        if let dataset { entries.append((Self.datasetKey, dataset)) }
        if let datasetSHA256 { entries.append((Self.datasetDigestKey, datasetSHA256)) }
        return entries
    }

    // MARK: Sidecar

    /// The sidecar's JSON text (one object, keys in a fixed order, a final newline).
    public var sidecarJSON: String {
        func quoted(_ text: String) -> String {
            let data = (try? JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes])) ?? Data("[\"\"]".utf8)
            let array = String(decoding: data, as: UTF8.self)
            return String(array.dropFirst().dropLast())
        }
        var lines = [
            "  \"architecture\": \(quoted(architecture))",
            "  \"parameters\": \(parameters)",
            "  \"preprocessing\": \(Self.json(preprocessing))",
        ]
        if let dataset { lines.append("  \"dataset\": \(quoted(dataset))") }
        if let datasetSHA256 { lines.append("  \"dataset_sha256\": \(quoted(datasetSHA256))") }
        lines.append("  \"weights_sha256\": \(quoted(weightsSHA256))")
        return "{\n" + lines.joined(separator: ",\n") + "\n}\n"
    }

    /// Reads a sidecar's bytes.
    /// - Throws: `WeightsDescriptionError` for more than `maxSidecarBytes`, text that is not
    ///   one JSON object, or a missing or malformed architecture, parameter count or preprocessing.
    public init(sidecar bytes: [UInt8]) throws(WeightsDescriptionError) {
        guard bytes.count <= Self.maxSidecarBytes else {
            throw WeightsDescriptionError("the sidecar has \(bytes.count) bytes, more than \(Self.maxSidecarBytes)")
        }
        let sidecar: SidecarJSON
        do {
            sidecar = try JSONDecoder().decode(SidecarJSON.self, from: Data(bytes))
        } catch {
            throw WeightsDescriptionError("the sidecar is not a JSON object with architecture, parameters, preprocessing and weights_sha256")
        }
        guard sidecar.parameters >= 1, sidecar.parameters <= Limits.maxParameters else {
            throw WeightsDescriptionError("the sidecar's parameter count \(sidecar.parameters) is out of range")
        }
        self.init(
            architecture: sidecar.architecture, parameters: sidecar.parameters, preprocessing: try sidecar.preprocessing.checked(),
            dataset: sidecar.dataset, datasetSHA256: sidecar.dataset_sha256, weightsSHA256: sidecar.weights_sha256)
    }
}

/// A weights description that cannot be read; the message says why.
public struct WeightsDescriptionError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Reading the flat float32 vector `idzip expand --format npy` writes.
public enum NpyWeights {
    /// The D values of a .npy file holding one little-endian float32 vector of shape (D,).
    /// The header is checked and the file size must be exactly header + 4 D before anything
    /// is allocated.
    /// - Throws: `WeightsDescriptionError` for a file that cannot be read, another dtype or
    ///   shape, or a size that does not match.
    public static func read(_ url: URL, maxCount: Int = 1 << 34) throws(WeightsDescriptionError) -> [Float] {
        let handle: FileHandle
        do {
            handle = try FileHandle(forReadingFrom: url)
        } catch {
            throw WeightsDescriptionError("cannot read \(url.path): \(error.localizedDescription)")
        }
        defer { try? handle.close() }
        guard let prefix = try? handle.read(upToCount: 12), prefix.count >= 10, Array(prefix.prefix(6)) == NPYInput.magic else {
            throw WeightsDescriptionError("not a .npy file (no NPY magic number)")
        }
        let bytes = [UInt8](prefix)
        let (headerStart, headerLength) = bytes[6] == 1
            ? (10, Int(bytes[8]) | Int(bytes[9]) << 8)
            : (12, bytes.count < 12 ? 0 : Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24)
        guard [1, 2, 3].contains(bytes[6]), headerLength > 0, headerLength <= 1 << 20 else {
            throw WeightsDescriptionError("unsupported .npy version or header length")
        }
        guard (try? handle.seek(toOffset: UInt64(headerStart))) != nil, let headerData = try? handle.read(upToCount: headerLength),
              headerData.count == headerLength, let header = String(data: headerData, encoding: .utf8)
        else { throw WeightsDescriptionError("the .npy header is cut short or not text") }
        let parsed: (descr: String, shape: [Int])
        do {
            parsed = try NpyHeader.parseDictionary(header, maxDimension: maxCount)
        } catch {
            throw WeightsDescriptionError(error.reason)
        }
        guard parsed.descr == "<f4", parsed.shape.count == 1, let count = parsed.shape.first, count >= 1 else {
            throw WeightsDescriptionError("weights must be one float32 vector ('<f4', shape (D,)), not '\(parsed.descr)' of shape \(parsed.shape)")
        }
        let dataStart = headerStart + headerLength
        guard let end = try? handle.seekToEnd(), Int(end) == dataStart + count * 4 else {
            throw WeightsDescriptionError("the file does not hold exactly \(count) float32 values after its header")
        }
        do {
            try ModelExpansion.checkMemory(forParameters: count)
        } catch {
            throw WeightsDescriptionError(error.description)
        }
        guard (try? handle.seek(toOffset: UInt64(dataStart))) != nil, let data = try? handle.read(upToCount: count * 4), data.count == count * 4 else {
            throw WeightsDescriptionError("cannot read the \(count) values")
        }
        return data.withUnsafeBytes { raw in
            (0..<count).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
    }
}
