import Foundation
import Testing
import IdzipCore

/// The portable functions agree with libm to within a few ULPs; their bits are pinned by
/// RandomVectorTests.
struct PortableMathTests {
    @Test func logAgreesWithLibm() {
        let stream = RandomStream(seed: 1, purpose: .theta0)
        var worst = 0.0
        for n in 0..<100_000 {
            let exponent = Int(stream.integer(UInt64(n), below: 2000)) - 1000
            let x = (1 + stream.uniformDouble(UInt64(n) + 1_000_000)) * pow(2.0, Double(exponent))
            let reference = Foundation.log(x)
            let error = abs(PortableMath.log(x) - reference) / max(abs(reference), 1e-300)
            worst = max(worst, error)
        }
        #expect(worst < 4e-16)
        #expect(PortableMath.log(1) == 0)
        #expect(abs(PortableMath.log(0x1p-1074) - Foundation.log(0x1p-1074)) < 1e-12)
        #expect(abs(PortableMath.log(.greatestFiniteMagnitude) - Foundation.log(.greatestFiniteMagnitude)) < 1e-12)
    }

    @Test func sineAndCosineAgreeWithLibm() {
        var worst = 0.0
        for n in 0..<100_000 {
            let t = Double(n) / 100_000
            let value = PortableMath.sinCosTwoPi(t)
            worst = max(worst, abs(value.sin - sin(2 * Double.pi * t)), abs(value.cos - cos(2 * Double.pi * t)))
        }
        #expect(worst < 2e-15)
        #expect(PortableMath.sinCosTwoPi(0) == (sin: 0, cos: 1))
        #expect(PortableMath.sinCosTwoPi(0.25).sin == 1)
        #expect(PortableMath.sinCosTwoPi(0.5).cos == -1)
    }
}
