/// One typed provenance entry of a `.idz` file, e.g. "trained-by" = .string("idzip 0.1").
public struct MetadataEntry: Sendable, Equatable {
    /// Non-empty UTF-8, unique within a file, at most 4 KiB.
    public var key: String
    /// The typed value (strings and bytes at most 64 KiB).
    public var value: MetadataValue

    /// An entry; `IdzFile.encode` checks the limits.
    public init(key: String, value: MetadataValue) {
        self.key = key
        self.value = value
    }
}

/// A metadata value. The type codes are part of the format (Formats/idz-v1.md).
public enum MetadataValue: Sendable, Equatable {
    case int(Int64)
    case double(Double)
    case string(String)
    case bool(Bool)
    case bytes([UInt8])

    /// Code of this type in a file.
    var typeCode: MetadataTypeCode {
        switch self {
        case .int: .int
        case .double: .double
        case .string: .string
        case .bool: .bool
        case .bytes: .bytes
        }
    }
}

extension Array where Element == MetadataEntry {
    /// The value stored under `key`, if any: `model.metadata["dataset"]`.
    public subscript(key: String) -> MetadataValue? {
        first { $0.key == key }?.value
    }
}
