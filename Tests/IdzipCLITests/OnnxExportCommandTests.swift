import Foundation
import Testing

/// `idzip export`: the default output name, the JSON report, and one-line refusals that
/// leave no file (the graph itself is checked in IdzipCoreTests and, with onnxruntime, in
/// Tests/python/test_onnx_export.py).
struct OnnxExportCommandTests {
    @Test func exportsOnnxBesideTheModel() throws {
        let directory = try TemporaryDirectory()
        let create = try CommandRunner.run(
            ["create", "--model", "fc:64-16-10", "--dim", "20", "--theta-scale", "0.1", "-o", "m.idz"], in: directory.url)
        #expect(create.status == 0, "\(create.standardError)")
        let export = try CommandRunner.run(["export", "m.idz", "--format", "onnx", "--json"], in: directory.url)
        #expect(export.status == 0, "\(export.standardError)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(export.standardOutput.utf8)) as? [String: Any])
        #expect(report["output"] as? String == "m.onnx" && report["format"] as? String == "onnx")
        #expect(report["nodes"] as? [String] == ["Mul", "Sub", "Div", "Gemm", "Relu", "Gemm"])
        #expect(report["input_shape"] as? [String] == ["N", "64"] && report["output_shape"] as? [String] == ["N", "10"])
        #expect(report["parameters"] as? Int == 64 * 16 + 16 + 16 * 10 + 10)
        #expect(report["verified"] as? Bool == true)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: directory.file("m.onnx").path)[.size] as? Int)
        #expect(report["bytes"] as? Int == size)
        #expect(directory.contents == ["m.idz", "m.onnx"])
    }

    @Test func refusesTheToyModelAndBadArguments() throws {
        let directory = try TemporaryDirectory()
        _ = try CommandRunner.run(["create", "--model", "toy", "--dim", "10", "-o", "toy.idz"], in: directory.url)
        let toy = try CommandRunner.run(["export", "toy.idz", "--format", "onnx", "-o", "toy.onnx"], in: directory.url)
        #expect(toy.status == 1)
        #expect(toy.standardError == "Error: toy.idz: cannot export to ONNX: the toy problem has no network to export (it takes no input and computes no logits)\n")
        let format = try CommandRunner.run(["export", "toy.idz", "--format", "tflite"], in: directory.url)
        #expect(format.status == 64, "\(format.standardError)")
        let missing = try CommandRunner.run(["export", "missing.idz", "--format", "onnx"], in: directory.url)
        #expect(missing.status == 1)
        #expect(directory.contents == ["toy.idz"])
    }
}
