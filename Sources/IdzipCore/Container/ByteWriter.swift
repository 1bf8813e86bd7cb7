/// Appends little-endian fields to a byte array: the one encoder of idzip's binary files
/// (the `.idz` payload, training checkpoints).
package struct ByteWriter {
    package init() {}
    package private(set) var bytes: [UInt8] = []

    package mutating func u8(_ value: UInt8) { bytes.append(value) }

    package mutating func u16(_ value: UInt16) { littleEndian(value) }

    package mutating func u32(_ value: UInt32) { littleEndian(value) }

    package mutating func u64(_ value: UInt64) { littleEndian(value) }

    package mutating func f32(_ value: Float) { littleEndian(value.bitPattern) }

    package mutating func f64(_ value: Double) { littleEndian(value.bitPattern) }

    package mutating func raw(_ data: [UInt8]) { bytes.append(contentsOf: data) }

    /// A count or size: always non-negative in a valid model.
    package mutating func count(_ value: Int) { u64(UInt64(clamping: value)) }

    /// Unsigned LEB128: 7 bits per byte, least significant first, high bit = more follow
    /// (the shortest form; Formats/idz-v2.md).
    package mutating func varint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    /// A varint count (never negative in a valid model).
    package mutating func varint(_ value: Int) { varint(UInt64(clamping: value)) }

    /// u32 byte length, then the UTF-8 bytes.
    package mutating func string(_ value: String) {
        let utf8 = Array(value.utf8)
        u32(UInt32(clamping: utf8.count))
        raw(utf8)
    }

    /// u32 length, then the bytes.
    package mutating func blob(_ value: [UInt8]) {
        u32(UInt32(clamping: value.count))
        raw(value)
    }

    private mutating func littleEndian<T: FixedWidthInteger>(_ value: T) {
        var remaining = value.littleEndian
        withUnsafeBytes(of: &remaining) { bytes.append(contentsOf: $0) }
    }
}
