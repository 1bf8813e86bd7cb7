import Crypto

extension DatasetPair {
    /// SHA-256 over the training then the test set (features as stored, then labels as
    /// little-endian int32): identifies exactly the data a model was trained on, variant included.
    public var digest: [UInt8] {
        var hasher = SHA256()
        for dataset in [train, test] {
            switch dataset.features {
            case .bytes(let values): values.withUnsafeBytes { hasher.update(bufferPointer: $0) }
            case .floats(let values): values.withUnsafeBytes { hasher.update(bufferPointer: $0) }
            }
            dataset.labels.map(\.littleEndian).withUnsafeBytes { hasher.update(bufferPointer: $0) }
        }
        return Array(hasher.finalize())
    }
}
