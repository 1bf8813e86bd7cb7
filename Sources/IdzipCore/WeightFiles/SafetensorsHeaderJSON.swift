/// A strict, bounded JSON parser for safetensors headers. Unlike JSONSerialization it
/// reports duplicate keys (which must not silently replace each other), rejects invalid
/// UTF-8 instead of repairing it, and never nests deeper than `maxDepth`, so a hostile
/// header costs time and memory proportional to its length (at most 100 MB).
struct SafetensorsHeaderJSON {
    /// A parsed JSON value. Numbers are kept only when they are integers that fit Int.
    indirect enum Value {
        case object([(key: String, value: Value)])
        case array([Value])
        case string(String)
        case integer(Int)
        /// A number that is not an integer or does not fit Int.
        case otherNumber
        case bool(Bool)
        case null
    }

    /// The deepest nesting a safetensors header needs is 3 (header, entry, shape); 8 leaves room.
    static let maxDepth = 8

    private let bytes: UnsafeRawBufferPointer
    private var position = 0

    /// Parses `bytes` as one JSON value surrounded by optional whitespace.
    static func parse(_ bytes: UnsafeRawBufferPointer) throws(SafetensorsError) -> Value {
        var parser = SafetensorsHeaderJSON(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.position == bytes.count else { throw parser.invalid("unexpected bytes after the JSON object") }
        return value
    }

    private init(bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    private func invalid(_ reason: String) -> SafetensorsError {
        SafetensorsError(.invalidHeader, "invalid safetensors header at byte \(position): \(reason)")
    }

    private mutating func skipWhitespace() {
        while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
    }

    private mutating func expect(_ byte: UInt8) throws(SafetensorsError) {
        guard position < bytes.count, bytes[position] == byte else {
            throw invalid("expected '\(Character(Unicode.Scalar(byte)))'")
        }
        position += 1
    }

    private mutating func value(depth: Int) throws(SafetensorsError) -> Value {
        guard depth < Self.maxDepth else { throw invalid("nested deeper than \(Self.maxDepth) levels") }
        guard position < bytes.count else { throw invalid("the header ends inside a value") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw invalid("unexpected byte 0x\(String(bytes[position], radix: 16))")
        }
    }

    private mutating func literal(_ text: StaticString) throws(SafetensorsError) {
        let count = text.utf8CodeUnitCount
        guard bytes.count - position >= count,
              (0..<count).allSatisfy({ bytes[position + $0] == text.utf8Start[$0] })
        else { throw invalid("unknown literal") }
        position += count
    }

    private mutating func object(depth: Int) throws(SafetensorsError) -> Value {
        try expect(UInt8(ascii: "{"))
        var members: [(key: String, value: Value)] = []
        var keys = Set<String>()
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
            position += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw invalid("expected a key") }
            let key = try string()
            guard keys.insert(key).inserted else {
                throw SafetensorsError(.duplicateName, "the safetensors header names \(Self.quote(key)) twice")
            }
            skipWhitespace()
            try expect(UInt8(ascii: ":"))
            skipWhitespace()
            members.append((key, try value(depth: depth + 1)))
            skipWhitespace()
            guard position < bytes.count else { throw invalid("the header ends inside an object") }
            if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
            try expect(UInt8(ascii: "}"))
            return .object(members)
        }
    }

    private mutating func array(depth: Int) throws(SafetensorsError) -> Value {
        try expect(UInt8(ascii: "["))
        var elements: [Value] = []
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
            position += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try value(depth: depth + 1))
            skipWhitespace()
            guard position < bytes.count else { throw invalid("the header ends inside an array") }
            if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
            try expect(UInt8(ascii: "]"))
            return .array(elements)
        }
    }

    private mutating func number() throws(SafetensorsError) -> Value {
        let start = position
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        let digitsStart = position
        while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) { position += 1 }
        guard position > digitsStart else { throw invalid("a number without digits") }
        guard bytes[digitsStart] != UInt8(ascii: "0") || position - digitsStart == 1 else { throw invalid("a number with a leading zero") }
        var integral = true
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            integral = false
            position += 1
            let fraction = position
            while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) { position += 1 }
            guard position > fraction else { throw invalid("a number without fraction digits") }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            integral = false
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
            let exponent = position
            while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) { position += 1 }
            guard position > exponent else { throw invalid("a number without exponent digits") }
        }
        guard integral else { return .otherNumber }
        // At most 19 digits fit Int64; anything longer is out of range without parsing.
        guard position - digitsStart <= 19 else { return .otherNumber }
        var value = 0
        for index in digitsStart..<position {
            let (product, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = product.addingReportingOverflow(Int(bytes[index] - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return .otherNumber }
            value = sum
        }
        return .integer(bytes[start] == UInt8(ascii: "-") ? -value : value)
    }

    private mutating func string() throws(SafetensorsError) -> String {
        try expect(UInt8(ascii: "\""))
        var utf8: [UInt8] = []
        while true {
            guard position < bytes.count else { throw invalid("the header ends inside a string") }
            let byte = bytes[position]
            position += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let text = String(validating: utf8, as: UTF8.self) else {
                    throw SafetensorsError(.invalidHeader, "the safetensors header holds a string that is not valid UTF-8")
                }
                return text
            case UInt8(ascii: "\\"):
                guard position < bytes.count else { throw invalid("the header ends inside an escape") }
                let escape = bytes[position]
                position += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escape)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard bytes.count - position >= 6, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                            throw invalid("an unpaired UTF-16 surrogate")
                        }
                        position += 2
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw invalid("an unpaired UTF-16 surrogate") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { throw invalid("an unpaired UTF-16 surrogate") }
                    utf8 += Array(String(Character(unicode)).utf8)
                default: throw invalid("an unknown escape")
                }
            case 0x00..<0x20:
                throw invalid("a control character inside a string")
            default:
                utf8.append(byte)
            }
        }
    }

    private mutating func hex4() throws(SafetensorsError) -> UInt32 {
        guard bytes.count - position >= 4 else { throw invalid("the header ends inside an escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            position += 1
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw invalid("a bad \\u escape")
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    /// A name from a file, quoted for an error message: escaped and cut to 64 characters.
    static func quote(_ text: String) -> String {
        let escaped = text.debugDescription
        guard escaped.count > 66 else { return escaped }
        return String(escaped.prefix(64)) + "...\""
    }
}
