/// Why a data set cannot be read or used. Each description is one line.
public enum DataError: Error, CustomStringConvertible, Equatable {
    /// A file cannot be opened or read.
    case unreadable(path: String, reason: String)
    /// A file's contents are not what its format promises.
    case malformed(path: String, reason: String)
    /// A named data set or a directory's files cannot be found.
    case notFound(String)
    /// A named data set's file differs from the published one.
    case digestMismatch(path: String, expected: String, actual: String)
    /// Files or options that do not fit together.
    case invalid(String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): "cannot read \(path): \(reason)"
        case .malformed(let path, let reason): "\(path) is not a valid data file: \(reason)"
        case .notFound(let message): message
        case .digestMismatch(let path, let expected, let actual):
            "\(path) is damaged or not the expected file: SHA-256 of its contents is \(actual), expected \(expected)"
        case .invalid(let message): message
        }
    }
}

/// Size limits for data files, checked before anything is allocated.
public enum DataLimits {
    /// Bytes of one decoded array: 8 GiB.
    public static let maxArrayBytes = 1 << 33
    /// Examples in one file.
    public static let maxExamples = Int(Int32.max)
    /// Bytes of an NPY header.
    public static let maxHeaderBytes = 1 << 20
}
