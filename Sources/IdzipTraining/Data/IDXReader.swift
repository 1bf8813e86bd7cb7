/// Reads the IDX format of MNIST and Fashion-MNIST (plain or gzip): a big-endian header of
/// magic 0x0000 08 RR (unsigned bytes, rank RR) and RR 32-bit dimensions, then the bytes.
public enum IDXReader {
    /// An IDX array of unsigned bytes.
    public struct Array: Sendable {
        public var dimensions: [Int]
        public var bytes: [UInt8]
        /// SHA-256 of the uncompressed file, when asked for.
        public var digest: String?
    }

    /// Reads images: magic 0x00000803, dimensions [count, rows, columns].
    public static func readImages(path: String, digest: Bool = false) throws(DataError) -> Array {
        try open(path: path, rank: 3, what: "images", digest: digest).readBody()
    }

    /// Reads labels: magic 0x00000801, dimensions [count].
    public static func readLabels(path: String, digest: Bool = false) throws(DataError) -> Array {
        try open(path: path, rank: 1, what: "labels", digest: digest).readBody()
    }

    /// An IDX file whose header has been read and checked, and whose body has not: a data
    /// set's files are all opened first, so that their counts are compared (and their
    /// declared sizes budgeted) before any body is read or inflated.
    public final class Opened {
        public let path: String
        /// The declared dimensions, e.g. [count, rows, columns].
        public let dimensions: [Int]
        /// Bytes the body declares (the product of the dimensions).
        public let byteCount: Int
        let what: String
        let reader: DataFileStream

        init(path: String, dimensions: [Int], byteCount: Int, what: String, reader: DataFileStream) {
            self.path = path
            self.dimensions = dimensions
            self.byteCount = byteCount
            self.what = what
            self.reader = reader
        }

        /// Reads exactly the declared body (a compressed file is inflated no further than
        /// that, plus one byte to see that nothing follows).
        /// - Throws: `DataError.malformed` for a body that is cut short or followed by more bytes.
        public func readBody() throws(DataError) -> Array {
            let bytes = try reader.readBytes(byteCount, what: what)
            try reader.expectEnd()
            return Array(dimensions: dimensions, bytes: bytes, digest: reader.digest())
        }
    }

    /// Opens an IDX file of `rank` dimensions and reads its header only.
    public static func openImages(path: String, digest: Bool = false) throws(DataError) -> Opened {
        try open(path: path, rank: 3, what: "images", digest: digest)
    }

    /// Opens an IDX labels file and reads its header only.
    public static func openLabels(path: String, digest: Bool = false) throws(DataError) -> Opened {
        try open(path: path, rank: 1, what: "labels", digest: digest)
    }

    static func open(path: String, rank: Int, what: String, digest: Bool) throws(DataError) -> Opened {
        let reader = try DataFileStream(path: path, hashing: digest)
        let magic = try reader.readBytes(4, what: "IDX header")
        guard magic[0] == 0, magic[1] == 0 else {
            throw .malformed(path: path, reason: "no IDX magic number (first bytes \(hex(magic)))")
        }
        guard magic[2] == 0x08 else {
            throw .malformed(path: path, reason: "IDX element type 0x\(hex([magic[2]])) is not unsigned bytes (0x08)")
        }
        guard Int(magic[3]) == rank else {
            throw .malformed(path: path, reason: "expected \(what) with \(rank) dimension(s) (magic 0x0000080\(rank)), found \(magic[3])")
        }
        let header = try reader.readBytes(4 * rank, what: "IDX header")
        var dimensions: [Int] = []
        var total = 1
        for index in 0..<rank {
            let value = header[(4 * index)..<(4 * index + 4)].reduce(0) { $0 << 8 | Int($1) }
            guard value >= 1, value <= DataLimits.maxExamples else {
                throw .malformed(path: path, reason: "dimension \(index) is \(value)")
            }
            let (product, overflow) = total.multipliedReportingOverflow(by: value)
            total = product
            guard !overflow, total <= DataLimits.maxArrayBytes else {
                throw .malformed(path: path, reason: "declared size exceeds \(DataLimits.maxArrayBytes) bytes")
            }
            dimensions.append(value)
        }
        return Opened(path: path, dimensions: dimensions, byteCount: total, what: what, reader: reader)
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }
}
