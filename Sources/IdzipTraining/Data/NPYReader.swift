import IdzipCore

/// Reads NumPy `.npy` files (format versions 1, 2 and 3): little-endian, C order.
public enum NPYReader {
    public enum ElementType: String, Sendable, CaseIterable {
        case uint8 = "u1", int8 = "i1", uint16 = "u2", int16 = "i2", uint32 = "u4", int32 = "i4"
        case uint64 = "u8", int64 = "i8", float32 = "f4", float64 = "f8"

        public var size: Int { Int(rawValue.dropFirst())! }
        public var isInteger: Bool { self != .float32 && self != .float64 }
    }

    /// An array as stored: its shape, element type and raw little-endian bytes.
    public struct Array: Sendable {
        public var path: String
        public var shape: [Int]
        public var elementType: ElementType
        public var bytes: [UInt8]
        public var count: Int { shape.reduce(1, *) }

        /// The elements as float32 (float64 is rounded; integers are converted).
        public func floats() -> [Float] {
            bytes.withUnsafeBytes { raw in
                (0..<count).map { index -> Float in
                    switch elementType {
                    case .float32: Float(bitPattern: raw.loadUnaligned(fromByteOffset: 4 * index, as: UInt32.self).littleEndian)
                    case .float64: Float(Double(bitPattern: raw.loadUnaligned(fromByteOffset: 8 * index, as: UInt64.self).littleEndian))
                    default: Float(integer(raw, index))
                    }
                }
            }
        }

        /// The elements as integers; throws for floating-point arrays.
        public func integers() throws(DataError) -> [Int64] {
            guard elementType.isInteger else {
                throw .malformed(path: path, reason: "expected integer labels, found \(elementType) elements")
            }
            return bytes.withUnsafeBytes { raw in (0..<count).map { integer(raw, $0) } }
        }

        private func integer(_ raw: UnsafeRawBufferPointer, _ index: Int) -> Int64 {
            switch elementType {
            case .uint8: Int64(raw[index])
            case .int8: Int64(Int8(bitPattern: raw[index]))
            case .uint16: Int64(raw.loadUnaligned(fromByteOffset: 2 * index, as: UInt16.self).littleEndian)
            case .int16: Int64(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * index, as: Int16.self)))
            case .uint32: Int64(raw.loadUnaligned(fromByteOffset: 4 * index, as: UInt32.self).littleEndian)
            case .int32: Int64(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * index, as: Int32.self)))
            case .uint64: Int64(truncatingIfNeeded: raw.loadUnaligned(fromByteOffset: 8 * index, as: UInt64.self).littleEndian)
            case .int64: Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * index, as: Int64.self))
            case .float32, .float64: 0
            }
        }
    }

    public static func read(path: String) throws(DataError) -> Array {
        let (reader, elementType, shape, total) = try open(path: path)
        let bytes = try reader.readBytes(total, what: "array data")
        try reader.expectEnd()
        return Array(path: path, shape: shape, elementType: elementType, bytes: bytes)
    }

    /// The element type and shape a file's header declares, without reading the array.
    /// - Throws: `DataError` as `read(path:)` for a missing or malformed header.
    public static func declaredShape(path: String) throws(DataError) -> (elementType: ElementType, shape: [Int]) {
        let (_, elementType, shape, _) = try open(path: path)
        return (elementType, shape)
    }

    /// Opens a file and reads its header: the stream at the array, its type, shape and bytes.
    private static func open(path: String) throws(DataError) -> (DataFileStream, ElementType, [Int], Int) {
        let reader = try DataFileStream(path: path)
        guard !reader.isCompressed else { throw .malformed(path: path, reason: "compressed .npy files are not supported") }
        let preamble = try reader.readBytes(8, what: "NPY header")
        guard preamble[0..<6].elementsEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]) else {
            throw .malformed(path: path, reason: "no NPY magic number")
        }
        let major = preamble[6]
        let headerLength: Int
        switch major {
        case 1:
            let bytes = try reader.readBytes(2, what: "NPY header")
            headerLength = Int(bytes[0]) | Int(bytes[1]) << 8
        case 2, 3:
            let bytes = try reader.readBytes(4, what: "NPY header")
            headerLength = bytes.reversed().reduce(0) { $0 << 8 | Int($1) }
        default:
            throw .malformed(path: path, reason: "NPY format version \(major) is not supported (1, 2 or 3)")
        }
        guard headerLength <= DataLimits.maxHeaderBytes else {
            throw .malformed(path: path, reason: "NPY header of \(headerLength) bytes is too long")
        }
        let headerBytes = try reader.readBytes(headerLength, what: "NPY header")
        guard let header = String(validating: headerBytes, as: UTF8.self) else {
            throw .malformed(path: path, reason: "NPY header is not text")
        }
        let (elementType, shape) = try parseHeader(header, path: path)
        var total = elementType.size
        for dimension in shape {
            let (product, overflow) = total.multipliedReportingOverflow(by: dimension)
            guard !overflow, product <= DataLimits.maxArrayBytes else {
                throw .malformed(path: path, reason: "declared shape \(shape) exceeds \(DataLimits.maxArrayBytes) bytes")
            }
            total = product
        }
        return (reader, elementType, shape, total)
    }

    /// Parses the Python dict literal, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (60000, 784), }
    /// (with IdzipCore's `NpyHeader.parseDictionary`), and checks the dtype.
    static func parseHeader(_ header: String, path: String) throws(DataError) -> (ElementType, [Int]) {
        let parsed: (descr: String, shape: [Int])
        do {
            parsed = try NpyHeader.parseDictionary(header, maxDimension: DataLimits.maxArrayBytes)
        } catch {
            throw .malformed(path: path, reason: error.reason)
        }
        let descr = parsed.descr
        guard let order = descr.first, "<|=>".contains(order) else {
            throw .malformed(path: path, reason: "unsupported dtype '\(descr)'")
        }
        guard let elementType = ElementType(rawValue: String(descr.dropFirst())) else {
            throw .malformed(path: path, reason: "unsupported dtype '\(descr)' (use uint8, float32 or integer labels)")
        }
        guard order != ">" || elementType.size == 1 else {
            throw .malformed(path: path, reason: "big-endian dtype '\(descr)' is not supported")
        }
        return (elementType, parsed.shape)
    }
}
