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

// MARK: Reading

extension NpyHeader {
    /// Why a header dictionary cannot be read (the reason, one line).
    package struct ParseFailure: Error, Sendable {
        package var reason: String
    }

    /// Parses the Python dict literal of a header, e.g. {'descr': '<f4', 'fortran_order': False,
    /// 'shape': (60000, 784), }, into the dtype string ('<f4') and the shape. Fortran order,
    /// a dimension outside 0...maxDimension and a rank above 8 are refused. The dtype is
    /// returned unchecked: each reader says which it takes. Shared by every NPY reader of
    /// the package (data sets, `idzip predict` inputs).
    package static func parseDictionary(_ header: String, maxDimension: Int) throws(ParseFailure) -> (descr: String, shape: [Int]) {
        func value(after key: String) throws(ParseFailure) -> Substring {
            for quote in ["'", "\""] {
                if let range = header.range(of: quote + key + quote) {
                    let rest = header[range.upperBound...].drop { $0 == " " }
                    if rest.first == ":" { return rest.dropFirst().drop { $0 == " " } }
                }
            }
            throw ParseFailure(reason: "NPY header has no '\(key)'")
        }
        let descrValue = try value(after: "descr")
        guard let quote = descrValue.first, quote == "'" || quote == "\"",
              let end = descrValue.dropFirst().firstIndex(of: quote)
        else { throw ParseFailure(reason: "NPY header has an unreadable 'descr'") }
        let descr = String(descrValue[descrValue.index(after: descrValue.startIndex)..<end])
        let fortran = try value(after: "fortran_order")
        if fortran.hasPrefix("True") { throw ParseFailure(reason: "Fortran-order arrays are not supported; save in C order") }
        guard fortran.hasPrefix("False") else { throw ParseFailure(reason: "NPY header has an unreadable 'fortran_order'") }
        let shapeValue = try value(after: "shape")
        guard shapeValue.first == "(", let close = shapeValue.firstIndex(of: ")") else {
            throw ParseFailure(reason: "NPY header has an unreadable 'shape'")
        }
        var shape: [Int] = []
        for part in shapeValue[shapeValue.index(after: shapeValue.startIndex)..<close].split(separator: ",") {
            var text = part
            while let first = text.first, first == " " || first == "L" { text = text.dropFirst() }
            while let last = text.last, last == " " || last == "L" { text = text.dropLast() }
            if text.isEmpty { continue }
            guard let dimension = Int(text), dimension >= 0, dimension <= maxDimension else {
                throw ParseFailure(reason: "NPY shape has a bad dimension '\(text)'")
            }
            shape.append(dimension)
        }
        guard shape.count <= 8 else { throw ParseFailure(reason: "NPY arrays of rank \(shape.count) are not supported") }
        return (descr, shape)
    }
}
