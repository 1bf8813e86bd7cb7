/// The header of a numpy .npy file (format version 1.0,
/// https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html) for a
/// little-endian float32 vector, padded so that the data starts on a 64-byte boundary.
/// `idzip expand --format npy` writes this header followed by theta: D float32 values,
/// little-endian, in parameter order (Formats/idz-v1.md section 7).
public enum NpyHeader {
    /// The header bytes (a multiple of 64) for a vector of `count` float32 values, shape (count,).
    public static func encode(float32Count count: Int) -> [UInt8] {
        let dictionary = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(count),), }"
        let prefixLength = 10  // magic (6), version (2), header length (2)
        var text = Array(dictionary.utf8)
        let padded = (prefixLength + text.count + 1 + 63) / 64 * 64
        text += [UInt8](repeating: UInt8(ascii: " "), count: padded - prefixLength - text.count - 1)
        text.append(UInt8(ascii: "\n"))
        let length = UInt16(text.count)
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)] + text
    }
}
