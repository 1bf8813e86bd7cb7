/// Unaligned loads and stores of eight floats, for explicitly vectorised loops.
package enum SIMDMemory {
    @inlinable @inline(__always)
    package static func load(_ pointer: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(pointer).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inlinable @inline(__always)
    package static func load(_ pointer: UnsafeMutablePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(pointer).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inlinable @inline(__always)
    package static func store(_ value: SIMD8<Float>, _ pointer: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(pointer).storeBytes(of: value, as: SIMD8<Float>.self)
    }
}

extension SIMDMemory {
    /// target[0..<count] = source[0..<count], eight at a time.
    @inlinable @inline(__always)
    package static func copy(_ source: UnsafePointer<Float>, _ target: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + 8 <= count {
            store(load(source + i), target + i)
            i += 8
        }
        while i < count {
            target[i] = source[i]
            i += 1
        }
    }

    /// target[0..<count] += source[0..<count], eight at a time.
    @inlinable @inline(__always)
    package static func add(_ source: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + 8 <= count {
            store(load(target + i) + load(source + i), target + i)
            i += 8
        }
        while i < count {
            target[i] += source[i]
            i += 1
        }
    }
}
