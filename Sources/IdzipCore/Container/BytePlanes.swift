/// The byte-plane layout of float32 and float16 theta_d values (Formats/idz-v1.md 4.5):
/// n values of w bytes are stored as w planes of n bytes, plane k holding byte k
/// (little-endian order) of value 0, 1, ..., n - 1. Byte j of plane k sits at offset
/// k·n + j. Each function makes one pass over the values with one sequential stream per
/// plane, so d = 2^26 costs a few hundred milliseconds at most.
enum BytePlanes {
    /// 4 planes of `values.count` bytes: the float32 bit patterns split by byte.
    static func split(_ values: [Float]) -> [UInt8] {
        let n = values.count
        return [UInt8](unsafeUninitializedCapacity: 4 * n) { out, initialized in
            values.withUnsafeBufferPointer { input in
                for j in 0..<n {
                    let bits = input[j].bitPattern
                    out[j] = UInt8(truncatingIfNeeded: bits)
                    out[n + j] = UInt8(truncatingIfNeeded: bits >> 8)
                    out[2 * n + j] = UInt8(truncatingIfNeeded: bits >> 16)
                    out[3 * n + j] = UInt8(truncatingIfNeeded: bits >> 24)
                }
            }
            initialized = 4 * n
        }
    }

    /// 2 planes of `values.count` bytes: the binary16 bit patterns split by byte.
    static func split(_ values: [UInt16]) -> [UInt8] {
        let n = values.count
        return [UInt8](unsafeUninitializedCapacity: 2 * n) { out, initialized in
            values.withUnsafeBufferPointer { input in
                for j in 0..<n {
                    out[j] = UInt8(truncatingIfNeeded: input[j])
                    out[n + j] = UInt8(truncatingIfNeeded: input[j] >> 8)
                }
            }
            initialized = 2 * n
        }
    }

    /// The `count` float32 values of 4 planes; `planes` must hold exactly 4·count bytes
    /// (the caller has checked them against the section).
    static func joinFloat32(_ planes: ArraySlice<UInt8>, count n: Int) -> [Float] {
        precondition(planes.count == 4 * n, "4 planes of \(n) bytes")
        return [Float](unsafeUninitializedCapacity: n) { out, initialized in
            planes.withUnsafeBufferPointer { input in
                for j in 0..<n {
                    let bits = UInt32(input[j])
                        | UInt32(input[n + j]) << 8
                        | UInt32(input[2 * n + j]) << 16
                        | UInt32(input[3 * n + j]) << 24
                    out[j] = Float(bitPattern: bits)
                }
            }
            initialized = n
        }
    }

    /// The `count` binary16 bit patterns of 2 planes; `planes` must hold exactly 2·count
    /// bytes.
    static func joinFloat16(_ planes: ArraySlice<UInt8>, count n: Int) -> [UInt16] {
        precondition(planes.count == 2 * n, "2 planes of \(n) bytes")
        return [UInt16](unsafeUninitializedCapacity: n) { out, initialized in
            planes.withUnsafeBufferPointer { input in
                for j in 0..<n {
                    out[j] = UInt16(input[j]) | UInt16(input[n + j]) << 8
                }
            }
            initialized = n
        }
    }
}
