/// A `.npy` array given to a model: shape and elements as float32.
///
/// NPY format versions 1, 2 and 3, C order, little-endian (or one-byte) uint8, float32 or
/// float64 elements (float64 is rounded to float32). The header is parsed with
/// `NpyHeader.parseDictionary`, the element count is checked against `InputLimits` before
/// anything is allocated, and a short array or bytes after it are errors.
package struct NPYInput: Sendable {
    package var shape: [Int]
    package var values: [Float]

    package static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]

    /// The number of elements the header of `bytes` declares (what `decode` turns into as
    /// many floats), read from the header only; nil when the header does not parse (then
    /// `decode` says why).
    package static func declaredElementCount(_ bytes: [UInt8]) -> Int? {
        try? header(bytes, name: "").count
    }

    /// Shape, element size, data offset and element count of the header of `bytes`,
    /// checked against `InputLimits` (nothing is allocated for the data).
    private static func header(_ bytes: [UInt8], name: String) throws(InputError)
        -> (shape: [Int], size: Int, dataStart: Int, count: Int)
    {
        func malformed(_ reason: String) -> InputError { .malformed(name: name, kind: "NPY", reason: reason) }
        guard bytes.starts(with: magic) else { throw malformed("no NPY magic number") }
        guard bytes.count >= 10 else { throw malformed("the file ends inside the header") }
        let headerLength: Int, headerStart: Int
        switch bytes[6] {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw malformed("the file ends inside the header") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        default:
            throw malformed("NPY format version \(bytes[6]) is not supported (1, 2 or 3)")
        }
        guard bytes.count - headerStart >= headerLength else { throw malformed("the file ends inside the header") }
        guard let header = String(validating: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self) else {
            throw malformed("the header is not text")
        }
        let parsed: (descr: String, shape: [Int])
        do {
            parsed = try NpyHeader.parseDictionary(header, maxDimension: InputLimits.maxArrayElements)
        } catch {
            throw malformed(error.reason)
        }
        let size: Int
        switch parsed.descr {
        case "|u1", "<u1", "=u1", ">u1": size = 1
        case "<f4": size = 4
        case "<f8": size = 8
        default: throw malformed("dtype '\(parsed.descr)' is not supported (use uint8, float32 or float64, little-endian)")
        }
        var count = 1
        for dimension in parsed.shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow, product <= InputLimits.maxArrayElements else {
                throw .tooLarge(name: name, reason: "an NPY array of shape \(parsed.shape) exceeds \(InputLimits.maxArrayElements) elements")
            }
            count = product
        }
        return (parsed.shape, size, headerStart + headerLength, count)
    }

    package static func decode(_ bytes: [UInt8], name: String) throws(InputError) -> NPYInput {
        func malformed(_ reason: String) -> InputError { .malformed(name: name, kind: "NPY", reason: reason) }
        let (shape, size, dataStart, count) = try header(bytes, name: name)
        guard bytes.count - dataStart >= count * size else {
            throw malformed("the file ends inside the array data (\(bytes.count - dataStart) of \(count * size) bytes)")
        }
        guard bytes.count - dataStart == count * size else { throw malformed("there are bytes after the array data") }
        let values = bytes.withUnsafeBytes { raw in
            let data = UnsafeRawBufferPointer(rebasing: raw[dataStart...])
            return (0..<count).map { index -> Float in
                switch size {
                case 1: Float(data[index])
                case 4: Float(bitPattern: data.loadUnaligned(fromByteOffset: 4 * index, as: UInt32.self).littleEndian)
                default: Float(Double(bitPattern: data.loadUnaligned(fromByteOffset: 8 * index, as: UInt64.self).littleEndian))
                }
            }
        }
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw malformed("element \(bad) is \(values[bad]) (values must be finite)")
        }
        return NPYInput(shape: shape, values: values)
    }
}
