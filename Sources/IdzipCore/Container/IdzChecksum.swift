import Crypto

/// The two SHA-256 digests of the format: the file trailer, and the expanded weights
/// (D float32 values, little-endian, in parameter order) that `IdzModel.weightsSHA256`
/// records so that any machine can prove it regenerated the same bits.
public enum IdzChecksum {
    /// SHA-256 of `bytes`.
    public static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        Array(SHA256.hash(data: bytes))
    }

    /// SHA-256 of the expanded weights.
    public static func weightsSHA256(_ weights: [Float]) -> [UInt8] {
        var hasher = WeightsHasher()
        weights.withUnsafeBufferPointer { hasher.update($0) }
        return hasher.finalize()
    }

    /// The weights digest computed piece by piece, for weights expanded in chunks.
    package struct WeightsHasher {
        private var hash = SHA256()

        package init() {}

        /// Appends the next weights in parameter order.
        package mutating func update(_ weights: UnsafeBufferPointer<Float>) {
            #if _endian(little)
            hash.update(bufferPointer: UnsafeRawBufferPointer(weights))
            #else
            var chunk = [UInt8]()
            chunk.reserveCapacity(min(weights.count, 1 << 16) * 4)
            for weight in weights {
                var bits = weight.bitPattern.littleEndian
                withUnsafeBytes(of: &bits) { chunk.append(contentsOf: $0) }
                if chunk.count >= 1 << 18 {
                    hash.update(data: chunk)
                    chunk.removeAll(keepingCapacity: true)
                }
            }
            hash.update(data: chunk)
            #endif
        }

        package func finalize() -> [UInt8] {
            Array(hash.finalize())
        }
    }
}
