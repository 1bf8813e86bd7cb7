import Foundation

/// A safetensors file (https://github.com/huggingface/safetensors), read as hostile input
/// and held to the `.idz` reader's standard: the header length is bounded (100 MB) before
/// anything is allocated, the JSON is parsed with a bounded depth and duplicate names
/// rejected, every tensor's dtype, shape and byte count agree, every `data_offsets` pair
/// lies in the data buffer, and the tensors tile that buffer exactly (sorted by offset, no
/// gap, no overlap, no trailing bytes).
///
/// Layout: an 8-byte little-endian header length N, N bytes of UTF-8 JSON, then the data
/// buffer; offsets are relative to the buffer's start.
public struct SafetensorsFile: Sendable {
    /// One tensor's entry in the header.
    public struct Tensor: Sendable, Equatable {
        /// The safetensors dtype name: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL, ...
        public var dtype: String
        /// Dimensions, outermost first (C order); [] is a scalar.
        public var shape: [Int]
        /// The tensor's bytes within the data buffer.
        public var byteRange: Range<Int>
    }

    /// Tensors by name.
    public let tensors: [String: Tensor]
    /// The `__metadata__` strings (empty when the header has none).
    public let metadata: [String: String]
    private let bytes: Data
    private let dataStart: Int

    /// The longest JSON header read: 100 MB, as the safetensors reference implementation allows.
    public static let maxHeaderLength = 100_000_000

    /// Bytes per element of each safetensors dtype.
    static let elementSizes: [String: Int] = [
        "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1,
        "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U64": 8, "U32": 4, "U16": 2, "U8": 1, "BOOL": 1,
    ]

    /// Reads and checks the file at `url` (memory-mapped).
    /// - Throws: `SafetensorsError` of kind `.io` when the file cannot be read, else as `init(data:)`.
    public init(contentsOf url: URL) throws(SafetensorsError) {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            // The system's reason ("No such file or directory"), as the .idz reader gives it.
            let posix = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError
            let reason = posix?.domain == NSPOSIXErrorDomain ? String(cString: strerror(Int32(posix!.code))) : error.localizedDescription
            throw SafetensorsError(.io, "cannot read \(url.path): \(reason)")
        }
        try self.init(data: data)
    }

    /// Checks a whole safetensors file held in `data`.
    /// - Throws: `SafetensorsError`: `.truncated`, `.headerTooLarge`, `.invalidHeader`,
    ///   `.duplicateName`, `.unknownDtype`, `.invalidShape`, `.sizeMismatch`,
    ///   `.offsetsOutOfBounds` or `.notTiled`.
    public init(data: Data) throws(SafetensorsError) {
        guard data.count >= 8 else {
            throw SafetensorsError(.truncated, "not a safetensors file: \(data.count) bytes, shorter than its 8-byte header length")
        }
        let headerLength = data.prefix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard headerLength <= UInt64(Self.maxHeaderLength) else {
            throw SafetensorsError(.headerTooLarge, "not a safetensors file: header length \(headerLength) exceeds 100 MB")
        }
        guard Int(headerLength) <= data.count - 8 else {
            throw SafetensorsError(.truncated, "truncated safetensors file: the header needs \(headerLength) bytes, \(data.count - 8) follow")
        }
        let dataStart = 8 + Int(headerLength)
        let dataLength = data.count - dataStart
        let headerRange = (data.startIndex + 8)..<(data.startIndex + dataStart)
        let root: SafetensorsHeaderJSON.Value
        do {
            root = try data[headerRange].withUnsafeBytes { raw in try SafetensorsHeaderJSON.parse(raw) }
        } catch let error as SafetensorsError {
            throw error
        } catch {
            throw SafetensorsError(.invalidHeader, "not a safetensors file: \(error)")
        }
        guard case .object(let members) = root else {
            throw SafetensorsError(.invalidHeader, "not a safetensors file: the header is not a JSON object")
        }
        var tensors: [String: Tensor] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in members {
            if name == "__metadata__" {
                metadata = try Self.metadata(value)
            } else {
                tensors[name] = try Self.tensor(name, value, dataLength: dataLength)
            }
        }
        try Self.checkTiling(tensors, dataLength: dataLength)
        self.tensors = tensors
        self.metadata = metadata
        self.bytes = data
        self.dataStart = dataStart
    }

    private static func metadata(_ value: SafetensorsHeaderJSON.Value) throws(SafetensorsError) -> [String: String] {
        guard case .object(let entries) = value else {
            throw SafetensorsError(.invalidHeader, "__metadata__ must be an object of strings")
        }
        var metadata: [String: String] = [:]
        for (key, entry) in entries {
            guard case .string(let text) = entry else {
                throw SafetensorsError(.invalidHeader, "__metadata__ value of \(SafetensorsHeaderJSON.quote(key)) is not a string")
            }
            metadata[key] = text
        }
        return metadata
    }

    private static func tensor(_ name: String, _ value: SafetensorsHeaderJSON.Value, dataLength: Int) throws(SafetensorsError) -> Tensor {
        let quoted = SafetensorsHeaderJSON.quote(name)
        guard case .object(let fields) = value else {
            throw SafetensorsError(.invalidHeader, "tensor \(quoted) is not an object")
        }
        var dtypeValue: String?
        var shapeValues: [SafetensorsHeaderJSON.Value]?
        var offsetValues: [SafetensorsHeaderJSON.Value]?
        for (key, field) in fields {
            switch (key, field) {
            case ("dtype", .string(let text)): dtypeValue = text
            case ("shape", .array(let values)): shapeValues = values
            case ("data_offsets", .array(let values)): offsetValues = values
            default: throw SafetensorsError(.invalidHeader, "tensor \(quoted) has an unexpected field \(SafetensorsHeaderJSON.quote(key))")
            }
        }
        guard let dtype = dtypeValue, let shapeValues, let offsetValues else {
            throw SafetensorsError(.invalidHeader, "tensor \(quoted) lacks a dtype, shape or data_offsets")
        }
        guard let elementSize = elementSizes[dtype] else {
            throw SafetensorsError(.unknownDtype, "tensor \(quoted) has unknown dtype \(SafetensorsHeaderJSON.quote(dtype))")
        }
        guard shapeValues.count <= Limits.maxRank else {
            throw SafetensorsError(.invalidShape, "tensor \(quoted) has rank \(shapeValues.count), above \(Limits.maxRank)")
        }
        var shape: [Int] = []
        var count = 1
        for dimension in shapeValues {
            guard case .integer(let size) = dimension, size >= 0 else {
                throw SafetensorsError(.invalidShape, "tensor \(quoted) has a dimension that is not a non-negative integer")
            }
            let (product, overflow) = count.multipliedReportingOverflow(by: size)
            guard !overflow, product <= Limits.maxParameters else {
                throw SafetensorsError(.invalidShape, "tensor \(quoted) has more than 2^36 elements")
            }
            count = product
            shape.append(size)
        }
        guard offsetValues.count == 2, case .integer(let start) = offsetValues[0], case .integer(let end) = offsetValues[1],
              start >= 0, start <= end, end <= dataLength
        else {
            throw SafetensorsError(.offsetsOutOfBounds, "tensor \(quoted) has data_offsets outside the \(dataLength)-byte data buffer")
        }
        guard end - start == count * elementSize else {
            throw SafetensorsError(.sizeMismatch, "tensor \(quoted): \(end - start) bytes do not hold shape \(shape) of \(dtype)")
        }
        return Tensor(dtype: dtype, shape: shape, byteRange: start..<end)
    }

    /// Sorted by (start, end), each tensor must begin where the previous one ended, the
    /// first at 0 and the last ending at the buffer's end.
    private static func checkTiling(_ tensors: [String: Tensor], dataLength: Int) throws(SafetensorsError) {
        let sorted = tensors.sorted { ($0.value.byteRange.lowerBound, $0.value.byteRange.upperBound, $0.key) < ($1.value.byteRange.lowerBound, $1.value.byteRange.upperBound, $1.key) }
        var cursor = 0
        for (name, tensor) in sorted {
            let range = tensor.byteRange
            if range.lowerBound < cursor {
                throw SafetensorsError(.notTiled, "tensor \(SafetensorsHeaderJSON.quote(name)) overlaps the one before it in the data buffer (bytes \(range.lowerBound) to \(cursor - 1))")
            }
            if range.lowerBound > cursor {
                throw SafetensorsError(.notTiled, "the data buffer has a gap of bytes \(cursor) to \(range.lowerBound - 1) before tensor \(SafetensorsHeaderJSON.quote(name))")
            }
            cursor = range.upperBound
        }
        guard cursor == dataLength else {
            throw SafetensorsError(.notTiled, "the data buffer has \(dataLength - cursor) bytes after its last tensor")
        }
    }

    /// The values of a float32 tensor (little-endian F32), which must have `shape`.
    /// - Returns: shape.product floats in C order.
    /// - Throws: `.missingTensor` when there is no tensor `name`, `.wrongTensor` when its
    ///   dtype is not F32 or its shape is not `shape`.
    public func float32(_ name: String, shape: [Int]) throws(SafetensorsError) -> [Float] {
        let quoted = SafetensorsHeaderJSON.quote(name)
        guard let tensor = tensors[name] else { throw SafetensorsError(.missingTensor, "no tensor named \(quoted)") }
        guard tensor.dtype == "F32" else { throw SafetensorsError(.wrongTensor, "tensor \(quoted) is \(tensor.dtype), not F32") }
        guard tensor.shape == shape else {
            throw SafetensorsError(.wrongTensor, "tensor \(quoted) has shape \(tensor.shape), the model needs \(shape)")
        }
        let count = tensor.byteRange.count / 4
        let start = bytes.startIndex + dataStart + tensor.byteRange.lowerBound
        return bytes[start..<(start + tensor.byteRange.count)].withUnsafeBytes { raw in
            (0..<count).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
    }

    /// The full parameter vector theta of `architecture` (D floats in parameter order,
    /// Formats/idz-v1.md section 7) from its named F32 tensors.
    /// - Throws: `.invalidShape` when the architecture is invalid, else as `float32(_:shape:)`.
    public func parameters(for architecture: Architecture) throws(SafetensorsError) -> [Float] {
        let specs: [TensorSpec]
        do { specs = try architecture.parameterTensors() } catch { throw SafetensorsError(.invalidShape, error.description) }
        // Each tensor is read (and so checked to be in the file) before theta is allocated:
        // an architecture named in the metadata cannot make this reserve more than the file holds.
        var tensors: [[Float]] = []
        for spec in specs {
            tensors.append(try float32(spec.name, shape: spec.shape))
        }
        var theta: [Float] = []
        theta.reserveCapacity(tensors.reduce(0) { $0 + $1.count })
        for tensor in tensors { theta += tensor }
        return theta
    }

    /// The batch-norm buffers of `architecture` (Formats/idz-v3.md section 5) from their
    /// named tensors: `<name>.running_mean` and `<name>.running_var` (F32 [C]) in
    /// `Architecture.bufferTensors()` order, and the one count of batches, which every
    /// `<name>.num_batches_tracked` (I64 scalar) must hold. Empty and 0 without batch norm.
    /// - Throws: `.invalidShape` for an invalid architecture, `.missingTensor` or
    ///   `.wrongTensor` for a buffer that is absent or has another dtype or shape, or counts
    ///   that differ or are negative.
    public func buffers(for architecture: Architecture) throws(SafetensorsError) -> (buffers: [Float], batchesTracked: UInt64) {
        let specs: [TensorSpec]
        do { specs = try architecture.bufferTensors() } catch { throw SafetensorsError(.invalidShape, error.description) }
        var values: [Float] = []
        for spec in specs { values += try float32(spec.name, shape: spec.shape) }
        var count: Int64?
        for name in architecture.batchesTrackedNames {
            let quoted = SafetensorsHeaderJSON.quote(name)
            guard let tensor = tensors[name] else { throw SafetensorsError(.missingTensor, "no tensor named \(quoted)") }
            guard tensor.dtype == "I64", tensor.shape.isEmpty else {
                throw SafetensorsError(.wrongTensor, "tensor \(quoted) is \(tensor.dtype) \(tensor.shape), not an I64 scalar")
            }
            let start = bytes.startIndex + dataStart + tensor.byteRange.lowerBound
            let value = bytes[start..<(start + 8)].withUnsafeBytes { Int64(littleEndian: $0.loadUnaligned(as: Int64.self)) }
            guard value >= 0, count == nil || count == value else {
                throw SafetensorsError(.wrongTensor, "tensor \(quoted) holds \(value) batches; every num_batches_tracked must hold the same count, at least 0")
            }
            count = value
        }
        return (values, UInt64(count ?? 0))
    }
}
