import Foundation

/// Architecture files: a network written as JSON, layers with PyTorch module names and
/// sources (skip connections), as docs/architecture-files.md specifies. `parse` turns a
/// description into an `Architecture`, `json` writes one back.
///
/// Read with the hostility of every input: the file's size is checked before it is read
/// (at most `maxFileBytes`), its nesting depth before it is parsed, every key and value
/// against its type, and the result against the architecture rules (Formats/idz-v1.md
/// section 6, Formats/idz-v3.md sections 3 and 4); every problem is one
/// `ArchitectureError.invalid` line naming the file and the layer.
public enum ArchitectureDescription {
    /// The largest description file: 1 MiB.
    public static let maxFileBytes = 1 << 20
    /// Nesting of arrays and objects: the top object, `layers`, a layer (or `input_shape`)
    /// make 3; one more is allowed.
    public static let maxDepth = 4

    /// The architecture described in the file at `path`.
    /// - Throws: `ArchitectureError.invalid` for a file that cannot be read, is larger than
    ///   `maxFileBytes`, or does not describe a valid network.
    public static func read(path: String) throws(ArchitectureError) -> Architecture {
        let label = Self.label(path)
        if let attributes = try? FileManager.default.attributesOfItem(atPath: path),
           let size = (attributes[.size] as? NSNumber)?.intValue, size > maxFileBytes
        {
            throw .invalid("\(label) has \(size) bytes; an architecture file has at most \(maxFileBytes)")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw .invalid("cannot read the architecture file \(label)")
        }
        defer { try? handle.close() }
        // Never more than the limit + 1 bytes, whatever the size said (a FIFO, a growing file).
        var bytes: [UInt8] = []
        while bytes.count <= maxFileBytes {
            guard let chunk = try? handle.read(upToCount: maxFileBytes + 1 - bytes.count), !chunk.isEmpty else { break }
            bytes += chunk
        }
        guard bytes.count <= maxFileBytes else {
            throw .invalid("\(label) has more than \(maxFileBytes) bytes; an architecture file has at most \(maxFileBytes)")
        }
        return try parse(bytes, source: label)
    }

    /// The architecture described by the JSON text `bytes`; `source` names it in errors.
    /// - Throws: `ArchitectureError.invalid`, one line: not JSON, too deep, an unknown or
    ///   missing key, a value of the wrong type or outside its range, or a network that
    ///   breaks a rule (a cycle, a shape mismatch, an invalid name, too many parameters).
    public static func parse(_ bytes: [UInt8], source: String = "architecture") throws(ArchitectureError) -> Architecture {
        guard bytes.count <= maxFileBytes else {
            throw .invalid("\(source) has \(bytes.count) bytes; an architecture description has at most \(maxFileBytes)")
        }
        let depth = nestingDepth(bytes)
        guard depth <= maxDepth else {
            throw .invalid("\(source) nests arrays and objects \(depth) deep; a description needs at most \(maxDepth)")
        }
        let root: JSONValue
        do {
            // One more level than the containers: the values inside the deepest one.
            root = try JSONValue(bytes.withUnsafeBytes { raw in try StrictJSON.parse(raw, maxDepth: maxDepth + 1, noun: "the text") })
        } catch let error as StrictJSON.Failure {
            switch error {
            case .duplicateKey(let key, let position):
                throw .invalid("\(source) gives the key '\(printable(key))' twice in one object (byte \(position)); give each key once")
            case .syntax(let position, let reason):
                throw .invalid("\(source) is not valid JSON (byte \(position): \(reason))")
            case .invalidUTF8:
                throw .invalid("\(source) is not valid JSON (a string that is not UTF-8)")
            case .tooDeep(_, let limit):
                throw .invalid("\(source) nests arrays and objects more than \(limit - 1) deep")
            }
        } catch {
            throw .invalid("\(source) is not valid JSON")
        }
        do {
            return try architecture(from: root)
        } catch {
            throw .invalid("\(source): \(error.message)")
        }
    }

    // MARK: Reading

    private static func architecture(from root: JSONValue) throws(ArchitectureError) -> Architecture {
        guard case .object(let top) = root else { throw .invalid("the description must be a JSON object") }
        try checkKeys(top, allowed: ["input_shape", "layers", "comment"], what: "the description")
        if let comment = top["comment"], case .string = comment {} else if top["comment"] != nil {
            throw .invalid("comment must be a string")
        }
        guard case .array(let shapeValues)? = top["input_shape"] else {
            throw .invalid("input_shape must be an array of dimensions, such as [1, 28, 28]")
        }
        guard shapeValues.count <= Limits.maxRank else {
            throw .invalid("input_shape has \(shapeValues.count) dimensions; at most \(Limits.maxRank)")
        }
        var inputShape: [Int] = []
        for value in shapeValues {
            guard case .integer(let dimension) = value, dimension >= 1, dimension <= Limits.maxDimension else {
                throw .invalid("input_shape must hold whole numbers from 1 to \(Limits.maxDimension)")
            }
            inputShape.append(dimension)
        }
        guard case .array(let layerValues)? = top["layers"] else { throw .invalid("layers must be an array of layer objects") }
        guard !layerValues.isEmpty, layerValues.count <= Limits.maxLayers else {
            throw .invalid("layers has \(layerValues.count) entries; a network has 1 to \(Limits.maxLayers)")
        }
        var layers: [Layer] = []
        var sources: [Int] = []
        var names: [String?] = []
        for (index, value) in layerValues.enumerated() {
            let parsed = try layer(value, index: index)
            layers.append(parsed.layer)
            sources.append(parsed.source ?? index - 1)
            names.append(parsed.name)
        }
        let hasNames = names.contains { $0 != nil }
        let architecture = Architecture(
            inputShape: inputShape, layers: layers, sources: sources,
            names: hasNames ? names.enumerated().map { $1 ?? "layers.\($0)" } : [])
        _ = try architecture.parameterTensors()
        return architecture
    }

    private static func layer(_ value: JSONValue, index: Int) throws(ArchitectureError) -> (layer: Layer, source: Int?, name: String?) {
        guard case .object(let fields) = value else { throw .invalid("layer \(index) must be an object with a type") }
        guard case .string(let type)? = fields["type"] else { throw .invalid("layer \(index) needs a type, such as \"conv2d\"") }
        let label = "layer \(index) (\(printable(type)))"
        guard let keys = typeKeys[type] else {
            throw .invalid("\(label): unknown type; use \(typeKeys.keys.sorted().joined(separator: ", "))")
        }
        try checkKeys(fields, allowed: keys.union(["type", "name", "source"]), what: label)
        let reader = FieldReader(fields: fields, label: label)
        var name: String?
        if let value = fields["name"] {
            guard case .string(let text) = value, text.utf8.count <= Architecture.maxNameBytes else {
                throw .invalid("\(label): name must be a string of at most \(Architecture.maxNameBytes) bytes")
            }
            name = text
        }
        let source = try reader.optionalInteger("source", range: -1...(index - 1), rangeText: "-1 (the input) or an earlier layer (0 to \(index - 1))")
        let layer: Layer
        switch type {
        case "dense":
            layer = .dense(units: try reader.integer("units", range: 1...Limits.maxDimension))
        case "conv2d":
            let kernel = try reader.integer("kernel", range: 1...64)
            let padding: Int
            switch fields["padding"] {
            case nil: padding = 0
            case .string("valid")?: padding = 0
            case .string("same")?:
                guard kernel % 2 == 1 else { throw .invalid("\(label): same padding needs an odd kernel, got \(kernel)") }
                padding = (kernel - 1) / 2
            default: padding = try reader.integer("padding", range: 0...64, rangeText: "0 to 64, \"valid\" or \"same\"")
            }
            layer = .convolution(Convolution2D(
                filters: try reader.integer("filters", range: 1...Limits.maxDimension), kernel: kernel,
                stride: try reader.integer("stride", range: 1...64, default: 1), padding: padding,
                groups: try reader.integer("groups", range: 1...Limits.maxDimension, default: 1),
                bias: try reader.boolean("bias", default: true)))
        case "maxpool": layer = .maxPool(size: try reader.integer("size", range: 1...Limits.maxDimension))
        case "avgpool": layer = .averagePool(size: try reader.integer("size", range: 1...Limits.maxDimension))
        case "global_avgpool": layer = .globalAveragePool
        case "batchnorm":
            layer = .batchNorm(epsilon: try reader.number("epsilon", default: 1e-5), momentum: try reader.number("momentum", default: 0.1))
        case "relu": layer = .relu
        case "leaky_relu": layer = .activation(.leakyReLU(slope: try reader.number("slope", default: 0.01)))
        case "gelu": layer = .activation(.gelu)
        case "tanh": layer = .activation(.tanh)
        case "sigmoid": layer = .activation(.sigmoid)
        case "dropout": layer = .dropout(rate: try reader.number("rate"))
        case "flatten": layer = .flatten
        case "add":
            layer = .add(other: try reader.integer("other", range: -1...(index - 1), rangeText: "-1 (the input) or an earlier layer (0 to \(index - 1))"))
        default:  // "toy"
            layer = .toyGroupSum(groups: try reader.integer("groups", range: 1...Limits.maxDimension),
                                 size: try reader.integer("size", range: 1...Limits.maxDimension))
        }
        return (layer, source, name)
    }

    /// The keys of each type besides type, name and source.
    private static let typeKeys: [String: Set<String>] = [
        "dense": ["units"], "conv2d": ["filters", "kernel", "stride", "padding", "groups", "bias"],
        "maxpool": ["size"], "avgpool": ["size"], "global_avgpool": [], "batchnorm": ["epsilon", "momentum"],
        "relu": [], "leaky_relu": ["slope"], "gelu": [], "tanh": [], "sigmoid": [], "dropout": ["rate"],
        "flatten": [], "add": ["other"], "toy": ["groups", "size"],
    ]

    private static func checkKeys(_ fields: [String: JSONValue], allowed: Set<String>, what: String) throws(ArchitectureError) {
        if let unknown = fields.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw .invalid("\(what): unknown key '\(printable(unknown))'; it takes \(allowed.sorted().joined(separator: ", "))")
        }
    }

    private struct FieldReader {
        var fields: [String: JSONValue]
        var label: String

        func integer(_ key: String, range: ClosedRange<Int>, default value: Int? = nil, rangeText: String? = nil) throws(ArchitectureError) -> Int {
            guard let found = try optionalInteger(key, range: range, rangeText: rangeText) ?? value else {
                throw .invalid("\(label) needs \(key)")
            }
            return found
        }

        func optionalInteger(_ key: String, range: ClosedRange<Int>, rangeText: String? = nil) throws(ArchitectureError) -> Int? {
            guard let value = fields[key] else { return nil }
            let text = rangeText ?? "\(range.lowerBound) to \(range.upperBound)"
            guard range.lowerBound <= range.upperBound else { throw .invalid("\(label): \(key) has no earlier layer to refer to") }
            guard case .integer(let number) = value, range.contains(number) else {
                throw .invalid("\(label): \(key) must be a whole number, \(text)")
            }
            return number
        }

        func number(_ key: String, default value: Float? = nil) throws(ArchitectureError) -> Float {
            switch fields[key] {
            case nil:
                guard let value else { throw .invalid("\(label) needs \(key)") }
                return value
            case .integer(let number)?: return Float(number)
            case .number(let number)? where Float(number).isFinite: return Float(number)
            default: throw .invalid("\(label): \(key) must be a finite number")
            }
        }

        func boolean(_ key: String, default value: Bool) throws(ArchitectureError) -> Bool {
            switch fields[key] {
            case nil: return value
            case .bool(let flag)?: return flag
            default: throw .invalid("\(label): \(key) must be true or false")
            }
        }
    }

    /// The deepest nesting of arrays and objects, counted outside strings, in one pass.
    static func nestingDepth(_ bytes: [UInt8]) -> Int {
        var depth = 0, deepest = 0, inString = false, escaped = false
        for byte in bytes {
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                deepest = max(deepest, depth)
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
            default: break
            }
        }
        return deepest
    }

    private static func label(_ path: String) -> String { printable(path) }

    /// Text safe for a one-line message: control characters as "?", at most 200 characters.
    private static func printable(_ text: String) -> String {
        String(text.unicodeScalars.prefix(200).map { $0.value < 0x20 || $0.value == 0x7F ? "?" : Character($0) })
    }

    // MARK: Writing

    /// The description of `architecture` as JSON: one layer per line (`pretty`), or one line.
    /// Only what differs from the defaults is written; `parse(json(a))` equals `a`.
    public static func json(_ architecture: Architecture, pretty: Bool = true) -> String {
        let layers = architecture.layers.indices.map { index in
            "{" + layerFields(architecture, index).map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
        }
        let shape = "[" + architecture.inputShape.map(String.init).joined(separator: ", ") + "]"
        if pretty {
            return "{\n  \"input_shape\": \(shape),\n  \"layers\": [\n    " + layers.joined(separator: ",\n    ") + "\n  ]\n}"
        }
        return "{\"input_shape\": \(shape), \"layers\": [" + layers.joined(separator: ", ") + "]}"
    }

    private static func layerFields(_ architecture: Architecture, _ index: Int) -> [(String, String)] {
        let layer = architecture.layers[index]
        var fields: [(String, String)] = []
        func number(_ value: Float) -> String { value == value.rounded() && abs(value) < 1e6 ? "\(Int(value))" : "\(value)" }
        switch layer {
        case .dense(let units): fields = [("type", "\"dense\""), ("units", "\(units)")]
        case .conv2d(let filters, let kernel, let padding):
            fields = [("type", "\"conv2d\""), ("filters", "\(filters)"), ("kernel", "\(kernel)"), ("padding", padding == .same ? "\"same\"" : "\"valid\"")]
        case .convolution(let c):
            fields = [("type", "\"conv2d\""), ("filters", "\(c.filters)"), ("kernel", "\(c.kernel)")]
            if c.stride != 1 { fields.append(("stride", "\(c.stride)")) }
            if c.padding != 0 { fields.append(("padding", "\(c.padding)")) }
            if c.groups != 1 { fields.append(("groups", "\(c.groups)")) }
            if !c.bias { fields.append(("bias", "false")) }
        case .maxPool(let size): fields = [("type", "\"maxpool\""), ("size", "\(size)")]
        case .averagePool(let size): fields = [("type", "\"avgpool\""), ("size", "\(size)")]
        case .globalAveragePool: fields = [("type", "\"global_avgpool\"")]
        case .batchNorm(let epsilon, let momentum):
            fields = [("type", "\"batchnorm\"")]
            if epsilon != 1e-5 { fields.append(("epsilon", number(epsilon))) }
            if momentum != 0.1 { fields.append(("momentum", number(momentum))) }
        case .relu: fields = [("type", "\"relu\"")]
        case .activation(.leakyReLU(let slope)):
            fields = [("type", "\"leaky_relu\"")]
            if slope != 0.01 { fields.append(("slope", number(slope))) }
        case .activation(let activation): fields = [("type", "\"\(activation.name)\"")]
        case .dropout(let rate): fields = [("type", "\"dropout\""), ("rate", number(rate))]
        case .flatten: fields = [("type", "\"flatten\"")]
        case .add(let other): fields = [("type", "\"add\""), ("other", "\(other)")]
        case .toyGroupSum(let groups, let size): fields = [("type", "\"toy\""), ("groups", "\(groups)"), ("size", "\(size)")]
        }
        if !architecture.names.isEmpty { fields.insert(("name", "\"\(architecture.name(of: index))\""), at: 1) }
        let source = architecture.source(of: index)
        if source != index - 1 { fields.append(("source", "\(source)")) }
        return fields
    }
}

extension ArchitectureError {
    /// The message without the "invalid architecture: " prefix.
    var message: String {
        switch self {
        case .invalid(let message): message
        }
    }
}

/// A JSON value as the description reader uses it: `StrictJSON`'s, with an object's
/// members by key (`StrictJSON` has refused a key given twice). Whole numbers (`10`) stay
/// apart from numbers written with a fraction or an exponent (`10.0`, `1e1`), which a
/// count never accepts, and true/false apart from both.
enum JSONValue: Equatable {
    case null
    case bool(Bool)
    case integer(Int)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(_ value: StrictJSON.Value) {
        switch value {
        case .null: self = .null
        case .bool(let flag): self = .bool(flag)
        case .integer(let number): self = .integer(number)
        case .number(let number): self = .number(number)
        case .string(let text): self = .string(text)
        case .array(let values): self = .array(values.map(JSONValue.init))
        case .object(let members):
            var fields: [String: JSONValue] = [:]
            for member in members { fields[member.key] = JSONValue(member.value) }
            self = .object(fields)
        }
    }
}
