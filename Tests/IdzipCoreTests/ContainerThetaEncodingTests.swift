import IdzipCore
import Testing

struct ContainerThetaEncodingTests {
    @Test func halfToFloatSpecialValues() {
        #expect(HalfFloat.float(fromBits: 0x0000) == 0 && HalfFloat.float(fromBits: 0x0000).sign == .plus)
        #expect(HalfFloat.float(fromBits: 0x8000) == 0 && HalfFloat.float(fromBits: 0x8000).sign == .minus)
        #expect(HalfFloat.float(fromBits: 0x3C00) == 1)
        #expect(HalfFloat.float(fromBits: 0xC000) == -2)
        #expect(HalfFloat.float(fromBits: 0x7BFF) == 65504)
        #expect(HalfFloat.float(fromBits: 0x0001) == 0x1p-24)  // smallest subnormal
        #expect(HalfFloat.float(fromBits: 0x03FF) == 1023 * 0x1p-24)  // largest subnormal
        #expect(HalfFloat.float(fromBits: 0x0400) == 0x1p-14)  // smallest normal
        #expect(HalfFloat.float(fromBits: 0x7C00) == .infinity)
        #expect(HalfFloat.float(fromBits: 0xFC00) == -.infinity)
        #expect(HalfFloat.float(fromBits: 0x7E00).isNaN)
        #expect(HalfFloat.float(fromBits: 0x7C01).isNaN)
    }

    @Test func floatToHalfRounding() {
        #expect(HalfFloat.bits(from: 1) == 0x3C00)
        #expect(HalfFloat.bits(from: -0.0) == 0x8000)
        #expect(HalfFloat.bits(from: 65504) == 0x7BFF)
        #expect(HalfFloat.bits(from: 65519.99) == 0x7BFF)  // below the halfway point to 65536
        #expect(HalfFloat.bits(from: 65520) == 0x7C00)  // halfway, ties to even: infinity
        #expect(HalfFloat.bits(from: 1e9) == 0x7C00)
        #expect(HalfFloat.bits(from: -.infinity) == 0xFC00)
        #expect(HalfFloat.bits(from: .nan) & 0x7E00 == 0x7E00)
        // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to even (1).
        #expect(HalfFloat.bits(from: 1 + 0x1p-11) == 0x3C00)
        // 1 + 3 * 2^-11 is halfway between 1 + 2^-10 and 1 + 2^-9: ties to even (the latter).
        #expect(HalfFloat.bits(from: 1 + 3 * 0x1p-11) == 0x3C02)
        #expect(HalfFloat.bits(from: 0x1p-24) == 0x0001)
        #expect(HalfFloat.bits(from: 0x1p-25) == 0x0000)  // halfway to the smallest subnormal: even
        #expect(HalfFloat.bits(from: 0x1.000002p-25) == 0x0001)  // just above halfway
        #expect(HalfFloat.bits(from: 3 * 0x1p-25) == 0x0002)  // 1.5 subnormal units: ties to even
        #expect(HalfFloat.bits(from: 0x1p-14 - 0x1p-26) == 0x0400)  // rounds up into the normals
        #expect(HalfFloat.bits(from: .leastNonzeroMagnitude) == 0x0000)
        #expect(HalfFloat.bits(from: -.leastNonzeroMagnitude) == 0x8000)
    }

    /// Every half survives half -> float -> half.
    @Test func everyHalfRoundTrips() {
        for bits in UInt16.min...UInt16.max {
            let value = HalfFloat.float(fromBits: bits)
            if value.isNaN {
                #expect(HalfFloat.bits(from: value) & 0x7C00 == 0x7C00 && HalfFloat.bits(from: value) & 0x03FF != 0)
            } else {
                #expect(HalfFloat.bits(from: value) == bits)
            }
        }
    }

    #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
    /// The platform's Float16 agrees on every half and on float32 values near every boundary.
    @Test func agreesWithPlatformFloat16() {
        for bits in UInt16.min...UInt16.max {
            let reference = Float(Float16(bitPattern: bits))
            let ours = HalfFloat.float(fromBits: bits)
            #expect(reference.isNaN ? ours.isNaN : reference.bitPattern == ours.bitPattern, "\(bits)")
        }
        let stream = RandomStream(seed: 12345, purpose: .sampleTheta)
        var checked = 0
        for n in 0..<UInt64(200_000) {
            let value = Float(bitPattern: stream.word(n))
            guard !value.isNaN else { continue }
            if HalfFloat.bits(from: value) != Float16(value).bitPattern { Issue.record("\(value)") }
            checked += 1
        }
        // Exactly halfway between neighbouring halves, and one float ulp either side.
        for bits in UInt16(0)...0x7BFE {
            let low = HalfFloat.float(fromBits: bits), high = HalfFloat.float(fromBits: bits + 1)
            let middle = low + (high - low) / 2
            for value in [middle, middle.nextDown, middle.nextUp, -middle] {
                if HalfFloat.bits(from: value) != Float16(value).bitPattern { Issue.record("\(value)") }
            }
        }
        #expect(checked > 100_000)
    }
    #endif

    @Test func float16EncodingDecodesExactly() {
        let values: [Float] = [0, -0.0, 1, -1, 0.1, 65504, 1e-7, 6e-8, 3.14159]
        let stored = StoredTheta.encode(values, as: .float16)
        #expect(stored.encoding == .float16 && stored.count == values.count)
        let decoded = stored.decoded()
        #expect(decoded[0] == 0 && decoded[2] == 1 && decoded[5] == 65504)
        #expect(decoded[4] == HalfFloat.float(fromBits: 0x2E66))  // 0.0999755859375
        #expect(decoded[8] == 3.140625)
        #expect(decoded[7] == 0x1p-24)  // 6e-8 rounds to the smallest subnormal
    }

    @Test func int8IsSymmetricWithMaxScale() {
        let values: [Float] = [0, 1.27, -1.27, 0.005, 0.015, -0.005, 1.0]
        guard case .int8(let q, let scale) = StoredTheta.encode(values, as: .int8) else {
            Issue.record("not int8")
            return
        }
        #expect(scale == Float(1.27) / 127)
        #expect(q[0] == 0 && q[1] == 127 && q[2] == -127)
        #expect(q[6] == Int8((Float(1.0) / scale).rounded(.toNearestOrAwayFromZero)))
        let decoded = StoredTheta.int8(q, scale: scale).decoded()
        #expect(decoded[1] == 127 * scale)
        for (value, back) in zip(values, decoded) { #expect(abs(value - back) <= scale / 2 * 1.0001) }
    }

    @Test func int8EdgeCases() {
        #expect(StoredTheta.encode([0, 0, -0.0], as: .int8) == .int8([0, 0, 0], scale: 1))
        #expect(StoredTheta.encode([], as: .int8) == .int8([], scale: 1))
        // A NaN becomes 0 and does not disturb the scale; nothing traps.
        #expect(StoredTheta.encode([.nan, 2, -1], as: .int8) == .int8([0, 127, -64], scale: Float(2) / 127))
        // A value too small for its scale to be representable: scale falls back to 1.
        #expect(StoredTheta.encode([.leastNonzeroMagnitude], as: .int8) == .int8([0], scale: 1))
        // Infinity gives an infinite scale, which IdzFile.encode refuses.
        if case .int8(_, let scale) = StoredTheta.encode([.infinity, 1], as: .int8) { #expect(!scale.isFinite) }
    }

    @Test func float32IsStoredAsIs() {
        let values: [Float] = [.leastNonzeroMagnitude, -.greatestFiniteMagnitude, 0x1.fffffep-1]
        #expect(StoredTheta.encode(values, as: .float32) == .float32(values))
        #expect(StoredTheta.float32(values).decoded() == values)
    }
}
