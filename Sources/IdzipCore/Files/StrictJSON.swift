/// A strict, bounded JSON parser (RFC 8259) for the JSON that idzip reads from files:
/// safetensors headers and architecture descriptions. Unlike JSONSerialization or
/// JSONDecoder it reports duplicate keys (which must not silently replace each other),
/// keeps a whole number (`10`) apart from one written with a fraction or an exponent
/// (`10.0`, `1e1`), rejects invalid UTF-8 instead of repairing it, and never nests deeper
/// than a given depth, so hostile input costs time and memory proportional to its length.
package struct StrictJSON {
    /// A parsed JSON value; an object keeps its members in file order.
    package indirect enum Value: Equatable {
        case object([(key: String, value: Value)])
        case array([Value])
        case string(String)
        /// A number written without fraction or exponent that fits Int.
        case integer(Int)
        /// Any other number (a fraction, an exponent, or an integer beyond Int), as the
        /// nearest Double (infinite when out of range).
        case number(Double)
        case bool(Bool)
        case null

        package static func == (a: Value, b: Value) -> Bool {
            switch (a, b) {
            case (.object(let x), .object(let y)): x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
            case (.array(let x), .array(let y)): x == y
            case (.string(let x), .string(let y)): x == y
            case (.integer(let x), .integer(let y)): x == y
            case (.number(let x), .number(let y)): x == y
            case (.bool(let x), .bool(let y)): x == y
            case (.null, .null): true
            default: false
            }
        }
    }

    /// Why the text is not accepted.
    package enum Failure: Error, Equatable {
        /// Not JSON: `reason` at byte `position`.
        case syntax(position: Int, reason: String)
        /// An object names `key` twice (the second occurrence at byte `position`).
        case duplicateKey(String, position: Int)
        /// A string that is not valid UTF-8.
        case invalidUTF8
        /// Nested deeper than the limit.
        case tooDeep(position: Int, limit: Int)
    }

    private let bytes: UnsafeRawBufferPointer
    private let maxDepth: Int
    /// How messages name the text ("the header", "the description").
    private let noun: String
    private var position = 0

    /// Parses `bytes` as one JSON value surrounded by optional whitespace, nesting arrays
    /// and objects at most `maxDepth` deep; `noun` names the text in reasons ("the header
    /// ends inside a string").
    package static func parse(_ bytes: UnsafeRawBufferPointer, maxDepth: Int, noun: String = "the text") throws(Failure) -> Value {
        var parser = StrictJSON(bytes: bytes, maxDepth: maxDepth, noun: noun)
        parser.skipWhitespace()
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.position == bytes.count else { throw parser.invalid("unexpected bytes after the JSON value") }
        return value
    }

    private init(bytes: UnsafeRawBufferPointer, maxDepth: Int, noun: String) {
        self.bytes = bytes
        self.maxDepth = maxDepth
        self.noun = noun
    }

    private func invalid(_ reason: String) -> Failure {
        .syntax(position: position, reason: reason)
    }

    private mutating func skipWhitespace() {
        while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
    }

    private mutating func expect(_ byte: UInt8) throws(Failure) {
        guard position < bytes.count, bytes[position] == byte else {
            throw invalid("expected '\(Character(Unicode.Scalar(byte)))'")
        }
        position += 1
    }

    private mutating func value(depth: Int) throws(Failure) -> Value {
        guard depth < maxDepth else { throw .tooDeep(position: position, limit: maxDepth) }
        guard position < bytes.count else { throw invalid("\(noun) ends inside a value") }
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

    private mutating func literal(_ text: StaticString) throws(Failure) {
        let count = text.utf8CodeUnitCount
        guard bytes.count - position >= count,
              (0..<count).allSatisfy({ bytes[position + $0] == text.utf8Start[$0] })
        else { throw invalid("unknown literal") }
        position += count
    }

    private mutating func object(depth: Int) throws(Failure) -> Value {
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
            guard keys.insert(key).inserted else { throw .duplicateKey(key, position: position) }
            skipWhitespace()
            try expect(UInt8(ascii: ":"))
            skipWhitespace()
            members.append((key, try value(depth: depth + 1)))
            skipWhitespace()
            guard position < bytes.count else { throw invalid("\(noun) ends inside an object") }
            if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
            try expect(UInt8(ascii: "}"))
            return .object(members)
        }
    }

    private mutating func array(depth: Int) throws(Failure) -> Value {
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
            guard position < bytes.count else { throw invalid("\(noun) ends inside an array") }
            if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
            try expect(UInt8(ascii: "]"))
            return .array(elements)
        }
    }

    private mutating func number() throws(Failure) -> Value {
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
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        // The JSON number grammar above is a subset of what Double(_:) reads.
        let asDouble = Double(text) ?? .nan
        guard integral else { return .number(asDouble) }
        // At most 19 digits fit Int64; anything longer is out of range without parsing.
        guard position - digitsStart <= 19 else { return .number(asDouble) }
        var value = 0
        for index in digitsStart..<position {
            let (product, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = product.addingReportingOverflow(Int(bytes[index] - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return .number(asDouble) }
            value = sum
        }
        return .integer(bytes[start] == UInt8(ascii: "-") ? -value : value)
    }

    private mutating func string() throws(Failure) -> String {
        try expect(UInt8(ascii: "\""))
        var utf8: [UInt8] = []
        while true {
            guard position < bytes.count else { throw invalid("\(noun) ends inside a string") }
            let byte = bytes[position]
            position += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let text = String(validating: utf8, as: UTF8.self) else {
                    throw .invalidUTF8
                }
                return text
            case UInt8(ascii: "\\"):
                guard position < bytes.count else { throw invalid("\(noun) ends inside an escape") }
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

    private mutating func hex4() throws(Failure) -> UInt32 {
        guard bytes.count - position >= 4 else { throw invalid("\(noun) ends inside an escape") }
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
    package static func quote(_ text: String) -> String {
        let escaped = text.debugDescription
        guard escaped.count > 66 else { return escaped }
        return String(escaped.prefix(64)) + "...\""
    }
}
