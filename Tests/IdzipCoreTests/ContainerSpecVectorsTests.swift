import Foundation
import IdzipCore
import Testing

/// The numbers printed in Formats/idz-v1.md are the ones the code produces.
struct ContainerSpecVectorsTests {
    @Test func streamVectorsOfSection8() {
        let stream = RandomStream(seed: 0x0123_4567_89AB_CDEF, purpose: .theta0, substream: 2)
        let block = stream.block(0)
        let words: [UInt32] = [block.0, block.1, block.2, block.3]
        #expect(words == [0x20F4_D595, 0xE962_7D16, 0x7BBA_EEB8, 0xDF7A_77A7])
        #expect(stream.word(5) == 0x3250_FF87)
        #expect(stream.uint64(3) == 0x6522_B829_7D0B_63B7)
        #expect(stream.uniformFloat(0).bitPattern == 0x3E03_D354)
        #expect(stream.uniformDouble(1).bitPattern == 0x3FEB_EF4E_F4EF_775D)
        #expect(stream.sign(40) == -1)
        #expect(stream.integer(7, below: 1000) == 68)
        #expect(stream.normal(0).bitPattern == 0x3FF8_9A4B_699C_0436)
        #expect(stream.normal(1).bitPattern == 0xBFF9_3DA8_F4F6_CAE9)
        #expect(stream.permutation(count: 8) == [3, 4, 0, 2, 5, 1, 6, 7])
        #expect(PortableMath.log(0.3).bitPattern == 0xBFF3_4378_FCBD_A721)
        let sinCos = PortableMath.sinCosTwoPi(0.3)
        #expect(sinCos.sin.bitPattern == 0x3FEE_6F0E_1344_5500)
        #expect(sinCos.cos.bitPattern == 0xBFD3_C6EF_372F_E94E)
    }

    /// Section 4.5's byte-plane examples are the bytes the test writer produces
    /// (ContainerBytePlaneTests.workedExamplesOfTheSpec checks the same bytes).
    @Test func bytePlaneExamplesOfSection4_5() throws {
        let spec = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Formats/idz-v1.md").standardized
        let text = try String(contentsOf: spec, encoding: .utf8)
        func hex(_ bytes: [UInt8], planes: Int) -> String {
            let n = bytes.count / planes
            return (0..<planes).map { k in bytes[(k * n)..<((k + 1) * n)].map { String(format: "%02x", $0) }.joined(separator: " ") }
                .joined(separator: " | ")
        }
        let float32 = TestBytes.build { $0.planes([Float(0.1), -1.5, 3.0]) }
        #expect(text.contains("values field:                 \(hex(float32, planes: 4))\n"))
        let float16 = TestBytes.build { $0.planes([HalfFloat.bits(from: 0.1), HalfFloat.bits(from: -2)]) }
        #expect(text.contains("`\(hex(float16, planes: 2))`"))
    }

    /// Section 17's file, byte for byte, decodes to the model it describes.
    @Test func completeFileOfSection17() throws {
        let spec = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Formats/idz-v1.md").standardized
        let text = try String(contentsOf: spec, encoding: .utf8)
        let start = try #require(text.range(of: "<!-- test-vector:begin -->"))
        let end = try #require(text.range(of: "<!-- test-vector:end -->"))
        var bytes: [UInt8] = []
        for line in text[start.upperBound..<end.lowerBound].split(separator: "\n") where !line.hasPrefix("```") {
            for field in line.split(separator: " ").dropFirst() {
                bytes.append(try #require(UInt8(field, radix: 16)))
            }
        }
        let model = try TestModels.tinyDense()
        #expect(bytes == TestFile.seal(try TestPayload.standard(for: model)))
        #expect(bytes.count == 455)
        #expect(try IdzFile.decode(bytes) == model)
        let theta0 = InitialWeights.make(tensors: try model.architecture.parameterTensors(), seed: 7)
        #expect(theta0.prefix(3).map(\.bitPattern) == [0x3EC1_A628, 0x3F2A_E93C, 0xBEA9_E575])
        let digest: String = model.weightsSHA256.map { String(format: "%02x", $0) }.joined()
        #expect(digest == "62b7c70cf1e333cf7552c69a2d6c7819613cbfcab201e8476fe99871e72d4c2c")
    }
}
