/// Reads little-endian fields from a slice of bytes, never past its end: every read
/// checks the remaining length first and throws instead of trapping.
package struct ByteReader {
    private let bytes: ArraySlice<UInt8>
    package private(set) var position: Int
    /// Names the bytes being read in error messages, e.g. "architecture section".
    package let context: String

    package init(_ bytes: ArraySlice<UInt8>, context: String) {
        self.bytes = bytes
        self.position = bytes.startIndex
        self.context = context
    }

    package var remaining: Int { bytes.endIndex - position }
    package var isAtEnd: Bool { remaining == 0 }

    package mutating func u8(_ field: String) throws(IdzError) -> UInt8 {
        try need(1, field)
        defer { position += 1 }
        return bytes[position]
    }

    package mutating func u16(_ field: String) throws(IdzError) -> UInt16 { try littleEndian(field) }

    package mutating func u32(_ field: String) throws(IdzError) -> UInt32 { try littleEndian(field) }

    package mutating func u64(_ field: String) throws(IdzError) -> UInt64 { try littleEndian(field) }

    package mutating func f32(_ field: String) throws(IdzError) -> Float { Float(bitPattern: try littleEndian(field)) }

    package mutating func f64(_ field: String) throws(IdzError) -> Double { Double(bitPattern: try littleEndian(field)) }

    /// The next `count` bytes.
    package mutating func raw(_ count: Int, _ field: String) throws(IdzError) -> ArraySlice<UInt8> {
        try need(count, field)
        defer { position += count }
        return bytes[position..<(position + count)]
    }

    /// A u64 size or count, at most `limit` (checked before anything is allocated).
    package mutating func count(_ field: String, limit: Int) throws(IdzError) -> Int {
        let value = try u64(field)
        guard value <= UInt64(limit) else {
            throw IdzError(.limitExceeded, "\(field) \(value) exceeds the limit \(limit) (\(context))")
        }
        return Int(value)
    }

    /// An unsigned LEB128 varint in its shortest form (at most 10 bytes, no value above
    /// 2^64 - 1, no final 0x00 byte after the first).
    package mutating func varint(_ field: String) throws(IdzError) -> UInt64 {
        var value: UInt64 = 0
        for index in 0..<10 {
            let byte = try u8(field)
            let bits = UInt64(byte & 0x7F)
            if index == 9 && byte > 1 {
                throw IdzError(.malformedSection, "\(field) is a varint above 2^64 - 1 (\(context))")
            }
            value |= bits << (7 * UInt64(index))
            if byte & 0x80 == 0 {
                if byte == 0 && index > 0 {
                    throw IdzError(.malformedSection, "\(field) is a varint with a redundant zero byte (\(context))")
                }
                return value
            }
        }
        throw IdzError(.malformedSection, "\(field) is a varint longer than 10 bytes (\(context))")
    }

    /// A varint size or count, at most `limit`.
    package mutating func varintCount(_ field: String, limit: Int) throws(IdzError) -> Int {
        let value = try varint(field)
        guard value <= UInt64(limit) else {
            throw IdzError(.limitExceeded, "\(field) \(value) exceeds the limit \(limit) (\(context))")
        }
        return Int(value)
    }

    /// A varint-prefixed byte string of at most `limit` bytes.
    package mutating func varintBlob(_ field: String, limit: Int) throws(IdzError) -> ArraySlice<UInt8> {
        let length = try varint("\(field) length")
        guard length <= UInt64(limit) else {
            throw IdzError(.limitExceeded, "\(field) of \(length) bytes exceeds the limit \(limit) (\(context))")
        }
        return try raw(Int(length), field)
    }

    /// A varint-prefixed UTF-8 string of at most `limit` bytes.
    package mutating func varintString(_ field: String, limit: Int) throws(IdzError) -> String {
        let utf8 = try varintBlob(field, limit: limit)
        guard let string = String(validating: utf8, as: UTF8.self) else {
            throw IdzError(.invalidUTF8, "\(field) is not valid UTF-8 (\(context))")
        }
        return string
    }

    /// The bytes from here to the end.
    package mutating func rest() -> ArraySlice<UInt8> {
        defer { position = bytes.endIndex }
        return bytes[position...]
    }

    /// A u32 count, at most `limit`.
    package mutating func count32(_ field: String, limit: Int) throws(IdzError) -> Int {
        let value = try u32(field)
        guard UInt64(value) <= UInt64(limit) else {
            throw IdzError(.limitExceeded, "\(field) \(value) exceeds the limit \(limit) (\(context))")
        }
        return Int(value)
    }

    /// A u32-prefixed UTF-8 string of at most `limit` bytes.
    package mutating func string(_ field: String, limit: Int) throws(IdzError) -> String {
        let utf8 = try blob(field, limit: limit)
        guard let string = String(validating: utf8, as: UTF8.self) else {
            throw IdzError(.invalidUTF8, "\(field) is not valid UTF-8 (\(context))")
        }
        return string
    }

    /// A u32-prefixed byte string of at most `limit` bytes.
    package mutating func blob(_ field: String, limit: Int) throws(IdzError) -> ArraySlice<UInt8> {
        let length = try u32("\(field) length")
        guard length <= UInt32(clamping: limit) else {
            throw IdzError(.limitExceeded, "\(field) of \(length) bytes exceeds the limit \(limit) (\(context))")
        }
        return try raw(Int(length), field)
    }

    /// Throws unless `count` items of at least `minimumSize` bytes each can still follow.
    package func checkRoom(for count: Int, of minimumSize: Int, _ items: String) throws(IdzError) {
        let (needed, overflow) = count.multipliedReportingOverflow(by: minimumSize)
        guard !overflow, needed <= remaining else {
            throw IdzError(.malformedSection, "more \(items) than bytes: \(count) \(items) need at least \(overflow ? "more than \(Int.max)" : String(needed)) bytes, \(remaining) remain (\(context))")
        }
    }

    /// Throws if anything is left: a section must be consumed exactly.
    package func expectEnd() throws(IdzError) {
        guard isAtEnd else {
            throw IdzError(.malformedSection, "\(remaining) unexpected trailing bytes in the \(context)")
        }
    }

    private func need(_ count: Int, _ field: String) throws(IdzError) {
        guard count >= 0, count <= remaining else {
            throw IdzError(.malformedSection, "\(context) ends inside \(field): needs \(count) bytes, \(remaining) remain")
        }
    }

    private mutating func littleEndian<T: FixedWidthInteger>(_ field: String) throws(IdzError) -> T {
        let size = MemoryLayout<T>.size
        try need(size, field)
        var value: T = 0
        for offset in 0..<size {
            value |= T(bytes[position + offset]) << (8 * offset)
        }
        position += size
        return value
    }
}
