import Foundation

/// Reads float32 tensors from a safetensors file (https://github.com/huggingface/safetensors),
/// checking it as a hostile input: header at most 100 MB, every tensor's byte range inside
/// the data and matching its dtype and shape, no overlapping ranges.
public struct SafetensorsFile: Sendable {
    public struct Tensor: Sendable, Equatable {
        public var dtype: String
        public var shape: [Int]
        public var byteRange: Range<Int>
    }

    public let tensors: [String: Tensor]
    public let metadata: [String: String]
    private let bytes: Data
    private let dataStart: Int

    public static let maxHeaderLength = 100_000_000

    public init(contentsOf url: URL) throws(SafetensorsError) {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw SafetensorsError("cannot read \(url.path): \(error.localizedDescription)")
        }
        try self.init(data: data)
    }

    public init(data: Data) throws(SafetensorsError) {
        guard data.count >= 8 else { throw SafetensorsError("not a safetensors file: shorter than its 8-byte header length") }
        let headerLength = data.prefix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard headerLength <= UInt64(Self.maxHeaderLength) else {
            throw SafetensorsError("not a safetensors file: header length \(headerLength) exceeds 100 MB")
        }
        guard Int(headerLength) <= data.count - 8 else {
            throw SafetensorsError("truncated safetensors file: the header needs \(headerLength) bytes")
        }
        let headerData = data.subdata(in: (data.startIndex + 8)..<(data.startIndex + 8 + Int(headerLength)))
        guard let object = try? JSONSerialization.jsonObject(with: headerData), let header = object as? [String: Any] else {
            throw SafetensorsError("not a safetensors file: the header is not a JSON object")
        }
        let dataStart = 8 + Int(headerLength)
        let dataLength = data.count - dataStart
        var tensors: [String: Tensor] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                guard let entries = value as? [String: Any] else { throw SafetensorsError("__metadata__ must be an object of strings") }
                for (key, entry) in entries {
                    guard let text = entry as? String else { throw SafetensorsError("__metadata__ value of '\(key)' is not a string") }
                    metadata[key] = text
                }
                continue
            }
            guard let fields = value as? [String: Any],
                  let dtype = fields["dtype"] as? String,
                  let shapeValues = fields["shape"] as? [Any],
                  let offsetValues = fields["data_offsets"] as? [Any], offsetValues.count == 2
            else { throw SafetensorsError("tensor '\(name)' lacks a dtype, shape or data_offsets") }
            let shape = try shapeValues.map { (value) throws(SafetensorsError) -> Int in
                guard let number = value as? Int, number >= 0, number <= Limits.maxParameters else {
                    throw SafetensorsError("tensor '\(name)' has an invalid shape")
                }
                return number
            }
            guard let start = offsetValues[0] as? Int, let end = offsetValues[1] as? Int,
                  start >= 0, start <= end, end <= dataLength
            else { throw SafetensorsError("tensor '\(name)' has data offsets outside the file") }
            var count = 1
            for dimension in shape {
                let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
                guard !overflow, product <= Limits.maxParameters else { throw SafetensorsError("tensor '\(name)' is too large") }
                count = product
            }
            let elementSize = ["F32": 4, "F16": 2, "BF16": 2, "F64": 8, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1][dtype]
            guard let elementSize else { throw SafetensorsError("tensor '\(name)' has unknown dtype \(dtype)") }
            guard end - start == count * elementSize else {
                throw SafetensorsError("tensor '\(name)': \(end - start) bytes do not hold shape \(shape) of \(dtype)")
            }
            tensors[name] = Tensor(dtype: dtype, shape: shape, byteRange: start..<end)
        }
        let ranges = tensors.values.map(\.byteRange).filter { !$0.isEmpty }.sorted { $0.lowerBound < $1.lowerBound }
        for (first, second) in zip(ranges, ranges.dropFirst()) where first.upperBound > second.lowerBound {
            throw SafetensorsError("tensors overlap in the data buffer")
        }
        self.tensors = tensors
        self.metadata = metadata
        self.bytes = data
        self.dataStart = dataStart
    }

    /// The values of a float32 tensor, which must have `shape`.
    public func float32(_ name: String, shape: [Int]) throws(SafetensorsError) -> [Float] {
        guard let tensor = tensors[name] else { throw SafetensorsError("no tensor named '\(name)'") }
        guard tensor.dtype == "F32" else { throw SafetensorsError("tensor '\(name)' is \(tensor.dtype), not F32") }
        guard tensor.shape == shape else { throw SafetensorsError("tensor '\(name)' has shape \(tensor.shape), the model needs \(shape)") }
        let count = tensor.byteRange.count / 4
        let start = bytes.startIndex + dataStart + tensor.byteRange.lowerBound
        return bytes[start..<(start + tensor.byteRange.count)].withUnsafeBytes { raw in
            (0..<count).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
    }

    /// The full parameter vector of `architecture` from its named tensors.
    public func parameters(for architecture: Architecture) throws(SafetensorsError) -> [Float] {
        let specs: [TensorSpec]
        do { specs = try architecture.parameterTensors() } catch { throw SafetensorsError(error.description) }
        var theta: [Float] = []
        theta.reserveCapacity(specs.reduce(0) { $0 + $1.count })
        for spec in specs {
            theta += try float32(spec.name, shape: spec.shape)
        }
        return theta
    }
}

/// A safetensors file that cannot be used.
public struct SafetensorsError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
