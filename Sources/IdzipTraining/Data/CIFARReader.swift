/// Reads CIFAR-10 binary batches: records of one label byte and 3072 image bytes
/// (3 x 32 x 32, channel planes red, green, blue).
public enum CIFARReader {
    public static let recordSize = 3073
    public static let imageShape = [3, 32, 32]
    public static let defaultClassNames = [
        "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
    ]

    /// Reads one batch file; returns images (count x 3072 bytes) and labels.
    public static func read(path: String) throws(DataError) -> (images: [UInt8], labels: [Int32]) {
        let reader = try DataFileStream(path: path)
        // The format is not compressed: a gzipped batch is refused, not inflated (its size
        // would no longer bound what it holds).
        guard !reader.isCompressed else {
            throw .malformed(path: path, reason: "CIFAR-10 binary batches are not compressed, but this file is gzip data; decompress it first")
        }
        var images: [UInt8] = []
        var labels: [Int32] = []
        var record = [UInt8](repeating: 0, count: recordSize)
        while true {
            var got = 0
            var failure: DataError?
            record.withUnsafeMutableBytes { raw in
                do throws(DataError) {
                    // Read the first byte alone to tell a clean end from a cut record.
                    try reader.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<1]), what: "record")
                    got = 1
                    try reader.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[1...]), what: "record \(labels.count)")
                    got = recordSize
                } catch { failure = error }
            }
            if got == 0 { break }
            if let failure { throw failure }
            guard record[0] < 10 else {
                throw .malformed(path: path, reason: "record \(labels.count) has label \(record[0]); CIFAR-10 labels are 0 to 9")
            }
            guard labels.count < DataLimits.maxExamples, images.count + recordSize <= DataLimits.maxArrayBytes else {
                throw .malformed(path: path, reason: "too many records")
            }
            labels.append(Int32(record[0]))
            images.append(contentsOf: record[1...])
        }
        guard !labels.isEmpty else { throw .malformed(path: path, reason: "the file holds no records") }
        return (images, labels)
    }
}
