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
    /// 'shape': (60000, 784), }, into the dtype string ('<f4') and the shape. The literal is
    /// read whole, as numpy's `ast.literal_eval` would: exactly the keys descr, fortran_order
    /// and shape, each once (a repeated key, which numpy would silently take the last of, is
    /// refused), nothing after the closing brace but spaces and the newline. Fortran order,
    /// a dimension outside 0...maxDimension and a rank above 8 are refused. The dtype is
    /// returned unchecked: each reader says which it takes. Shared by every NPY reader of
    /// the package (data sets, `idzip predict` inputs).
    package static func parseDictionary(_ header: String, maxDimension: Int) throws(ParseFailure) -> (descr: String, shape: [Int]) {
        let entries = try dictionaryEntries(Array(header.utf8))
        func value(_ key: String) throws(ParseFailure) -> DictionaryValue {
            guard let value = entries[key] else { throw ParseFailure(reason: "NPY header has no '\(key)'") }
            return value
        }
        guard case .text(let descr) = try value("descr") else { throw ParseFailure(reason: "NPY header has an unreadable 'descr'") }
        switch try value("fortran_order") {
        case .word("False"): break
        case .word("True"): throw ParseFailure(reason: "Fortran-order arrays are not supported; save in C order")
        default: throw ParseFailure(reason: "NPY header has an unreadable 'fortran_order'")
        }
        guard case .tuple(let parts) = try value("shape") else { throw ParseFailure(reason: "NPY header has an unreadable 'shape'") }
        var shape: [Int] = []
        for part in parts {
            var text = Substring(part)
            while let last = text.last, last == "L" { text = text.dropLast() }
            guard let dimension = Int(text), dimension >= 0, dimension <= maxDimension else {
                throw ParseFailure(reason: "NPY shape has a bad dimension '\(part)'")
            }
            shape.append(dimension)
        }
        guard shape.count <= 8 else { throw ParseFailure(reason: "NPY arrays of rank \(shape.count) are not supported") }
        return (descr, shape)
    }

    /// A value of the header dictionary: a quoted string, a bare word (True, False) or a
    /// tuple of bare items.
    private enum DictionaryValue {
        case text(String)
        case word(String)
        case tuple([String])
    }

    /// The entries of the header's dict literal, each key once.
    private static func dictionaryEntries(_ bytes: [UInt8]) throws(ParseFailure) -> [String: DictionaryValue] {
        var position = 0
        func fail(_ what: String) -> ParseFailure { ParseFailure(reason: "NPY header is not a dictionary literal (\(what) at byte \(position))") }
        func skipSpaces() {
            while position < bytes.count, bytes[position] == 0x20 || bytes[position] == 0x09 || bytes[position] == 0x0A { position += 1 }
        }
        func next() -> UInt8? { position < bytes.count ? bytes[position] : nil }
        func expect(_ byte: UInt8, _ what: String) throws(ParseFailure) {
            guard next() == byte else { throw fail("expected \(what)") }
            position += 1
        }
        func quoted() throws(ParseFailure) -> String {
            guard let quote = next(), quote == UInt8(ascii: "'") || quote == UInt8(ascii: "\"") else { throw fail("expected a quoted string") }
            position += 1
            let start = position
            while position < bytes.count, bytes[position] != quote {
                guard bytes[position] != UInt8(ascii: "\\") else { throw fail("escape in a string") }
                position += 1
            }
            guard position < bytes.count else { throw fail("unterminated string") }
            defer { position += 1 }
            return String(decoding: bytes[start..<position], as: UTF8.self)
        }
        func bare() -> String {
            let start = position
            while position < bytes.count, bytes[position] < 0x80,
                  Character(Unicode.Scalar(bytes[position])).isLetter || Character(Unicode.Scalar(bytes[position])).isNumber
                    || bytes[position] == UInt8(ascii: "_") || bytes[position] == UInt8(ascii: "-") {
                position += 1
            }
            return String(decoding: bytes[start..<position], as: UTF8.self)
        }
        skipSpaces()
        try expect(UInt8(ascii: "{"), "'{'")
        var entries: [String: DictionaryValue] = [:]
        while true {
            skipSpaces()
            if next() == UInt8(ascii: "}") { position += 1; break }
            let key = try quoted()
            guard ["descr", "fortran_order", "shape"].contains(key) else {
                throw ParseFailure(reason: "NPY header has an unexpected key '\(key)' (numpy writes descr, fortran_order and shape)")
            }
            guard entries[key] == nil else { throw ParseFailure(reason: "NPY header names '\(key)' twice") }
            skipSpaces()
            try expect(UInt8(ascii: ":"), "':'")
            skipSpaces()
            switch next() {
            case UInt8(ascii: "'"), UInt8(ascii: "\""):
                entries[key] = .text(try quoted())
            case UInt8(ascii: "("):
                position += 1
                var items: [String] = []
                while true {
                    skipSpaces()
                    if next() == UInt8(ascii: ")") { position += 1; break }
                    let item = bare()
                    guard !item.isEmpty else { throw fail("expected a tuple item") }
                    items.append(item)
                    skipSpaces()
                    if next() == UInt8(ascii: ",") { position += 1; continue }
                    try expect(UInt8(ascii: ")"), "')'")
                    break
                }
                entries[key] = .tuple(items)
            default:
                let word = bare()
                guard !word.isEmpty else { throw fail("expected a value") }
                entries[key] = .word(word)
            }
            skipSpaces()
            if next() == UInt8(ascii: ",") { position += 1; continue }
            try expect(UInt8(ascii: "}"), "',' or '}'")
            break
        }
        skipSpaces()
        guard position == bytes.count else { throw fail("text after the dictionary") }
        return entries
    }
}
