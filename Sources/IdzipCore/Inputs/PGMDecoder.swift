/// Decodes Netpbm gray images: P5 (binary) and P2 (plain text), as
/// https://netpbm.sourceforge.net/doc/pgm.html defines them.
///
/// The header is "P5" or "P2", the width, the height and the maximum value (1 ... 65535),
/// separated by whitespace, with `#` comments to the end of a line; one whitespace byte
/// ends it. P5 pixels are bytes (maxval < 256) or big-endian 16-bit values; P2 pixels are
/// decimal numbers. Values are scaled to 0 ... 255 as round(v x 255 / maxval). The size is
/// checked against `InputLimits` before allocation; a pixel above maxval, a short raster
/// and bytes after it (a second image) are errors.
package enum PGMDecoder {
    /// "P5" or "P2" followed by whitespace.
    package static func hasMagic(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 3 && bytes[0] == UInt8(ascii: "P") && (bytes[1] == UInt8(ascii: "5") || bytes[1] == UInt8(ascii: "2"))
            && isWhitespace(bytes[2])
    }

    package static func decode(_ bytes: [UInt8], name: String) throws(InputError) -> InputImage {
        guard hasMagic(bytes) else { throw .malformed(name: name, kind: "PGM", reason: "no P5 or P2 magic number") }
        let plain = bytes[1] == UInt8(ascii: "2")
        var position = 2
        func malformed(_ reason: String) -> InputError { .malformed(name: name, kind: "PGM", reason: reason) }

        /// Skips whitespace and comments, then reads a decimal number (at most 9 digits).
        func number(_ what: String) throws(InputError) -> Int {
            while position < bytes.count {
                if isWhitespace(bytes[position]) {
                    position += 1
                } else if bytes[position] == UInt8(ascii: "#") {
                    while position < bytes.count && bytes[position] != 0x0A && bytes[position] != 0x0D { position += 1 }
                } else {
                    break
                }
            }
            var value = 0, digits = 0
            while position < bytes.count, bytes[position] >= UInt8(ascii: "0"), bytes[position] <= UInt8(ascii: "9") {
                guard digits < 9 else { throw malformed("the \(what) has too many digits") }
                value = value * 10 + Int(bytes[position] - UInt8(ascii: "0"))
                digits += 1
                position += 1
            }
            guard digits > 0 else {
                throw malformed(position >= bytes.count ? "the file ends before the \(what)" : "the \(what) is not a number")
            }
            return value
        }

        let width = try number("width"), height = try number("height"), maxval = try number("maximum value")
        guard width >= 1, height >= 1 else { throw malformed("the image is \(width) x \(height) pixels") }
        guard (1...65535).contains(maxval) else { throw malformed("maximum value \(maxval) is outside 1 to 65535") }
        guard width <= InputLimits.maxImageSide, height <= InputLimits.maxImageSide, width * height <= InputLimits.maxImageBytes else {
            throw .tooLarge(
                name: name, reason: "a \(width) x \(height) PGM image exceeds \(InputLimits.maxImageSide) pixels a side or \(InputLimits.maxImageBytes) bytes")
        }
        let count = width * height
        func scaled(_ value: Int) -> UInt8 { maxval == 255 ? UInt8(value) : UInt8((value * 255 + maxval / 2) / maxval) }
        var pixels = [UInt8](repeating: 0, count: 0)
        if plain {
            // A plain raster has at least two bytes per pixel: refuse a short file before allocating.
            guard bytes.count - position >= 2 * count - 1 else { throw malformed("the file ends inside the raster") }
            pixels.reserveCapacity(count)
            for index in 0..<count {
                let value = try number("pixel \(index)")
                guard value <= maxval else { throw malformed("pixel \(index) is \(value), above the maximum value \(maxval)") }
                pixels.append(scaled(value))
            }
            while position < bytes.count && isWhitespace(bytes[position]) { position += 1 }
            guard position == bytes.count else { throw malformed("there are bytes after the raster") }
        } else {
            guard position < bytes.count, isWhitespace(bytes[position]) else { throw malformed("no whitespace after the header") }
            position += 1
            let size = maxval < 256 ? 1 : 2
            let rasterBytes = count * size
            guard bytes.count - position >= rasterBytes else {
                throw malformed("the file ends inside the raster (\(bytes.count - position) of \(rasterBytes) bytes)")
            }
            guard bytes.count - position == rasterBytes else { throw malformed("there are bytes after the raster") }
            pixels = [UInt8](repeating: 0, count: count)
            for index in 0..<count {
                let offset = position + index * size
                let value = size == 1 ? Int(bytes[offset]) : Int(bytes[offset]) << 8 | Int(bytes[offset + 1])
                guard value <= maxval else { throw malformed("pixel \(index) is \(value), above the maximum value \(maxval)") }
                pixels[index] = scaled(value)
            }
        }
        return InputImage(width: width, height: height, channels: 1, pixels: pixels)
    }

    /// Netpbm whitespace: space, tab, CR, LF, VT, FF.
    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (0x09...0x0D).contains(byte)
    }
}
