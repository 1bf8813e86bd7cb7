import Foundation
import IdzipCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

struct CHeaderExportTests {
    @Test func hexLiteralsDenoteTheExactFloat() throws {
        #expect(CHeaderExport.hexLiteral(3) == "0x1.8p+1f")
        #expect(CHeaderExport.hexLiteral(1) == "0x1p+0f")
        #expect(CHeaderExport.hexLiteral(-0.0) == "-0x0p+0f")
        #expect(CHeaderExport.hexLiteral(0) == "0x0p+0f")
        #expect(CHeaderExport.hexLiteral(.leastNonzeroMagnitude) == "0x0.000002p-126f")
        #expect(CHeaderExport.hexLiteral(.leastNormalMagnitude) == "0x1p-126f")
        #expect(CHeaderExport.hexLiteral(-.greatestFiniteMagnitude) == "-0x1.fffffep+127f")
        // strtof reads every literal back to the same bits: edge values and random bit patterns.
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var values: [Float] = [0, -0.0, 1, -1, .leastNonzeroMagnitude, .leastNormalMagnitude, .greatestFiniteMagnitude, .ulpOfOne, 1.0 / 255.0]
        while values.count < 100_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let value = Float(bitPattern: UInt32(truncatingIfNeeded: state >> 32))
            if value.isFinite { values.append(value) }
        }
        for value in values {
            let literal = CHeaderExport.hexLiteral(value)
            #expect(literal.hasSuffix("f"))
            let parsed = String(literal.dropLast()).withCString { strtof($0, nil) }
            #expect(parsed.bitPattern == value.bitPattern, "\(literal) reads as \(parsed), not \(value)")
        }
    }

    @Test func namesAndCommentsAreSafeC() throws {
        #expect(CHeaderExport.identifier(forTensor: "layers.10.weight") == "layers_10_weight")
        #expect(CHeaderExport.includeGuard(forFileName: "mnist-fc.v2.h") == "IDZ_MNIST_FC_V2_H")
        let model = Self.model(.fullyConnected(inputShape: [4], widths: [3, 2]), d: 5)
        var hostile = model
        hostile.labels = ["a\"b", "c?\\?d\u{e9}"]
        hostile.metadata = [MetadataEntry(key: "note */ /* ??= \\", value: .string("line\nbreak"))]
        let weights: [Float] = (0..<23).map { Float($0) / 8 } // D = 4 x 3 + 3 + 3 x 2 + 2
        let header = try CHeaderExport.header(for: hostile, weights: weights, source: "x*/y.idz", includeGuard: "IDZ_X_H")
        #expect(header.hasPrefix("/*\n"))
        // One comment: the provenance text cannot end it early or nest another.
        #expect(header.components(separatedBy: "*/").count == header.components(separatedBy: "/*").count)
        #expect(!header.contains("??="))
        #expect(header.contains(#"#define IDZ_LABELS {"a\"b", "c\?\\\?d\303\251"}"#))
        #expect(header.contains("#define IDZ_LAYERS_0_WEIGHT_SHAPE {3, 4}\n"))
        #expect(header.contains("static const float layers_2_bias[IDZ_LAYERS_2_BIAS_SIZE] = {\n    0x1.5p+1f, 0x1.6p+1f\n};"))
    }

    @Test func refusesTheToyProblemAndNonFiniteWeights() throws {
        let toy = Self.model(.toy(), d: 10)
        #expect(throws: CHeaderExportError.self) {
            try CHeaderExport.header(for: toy, weights: [Float](repeating: 0, count: 1000), source: "toy.idz", includeGuard: "G")
        }
        let fc = Self.model(.fullyConnected(inputShape: [2], widths: [2]), d: 3)
        var weights: [Float] = [1, 2, 3, 4, 5, 6]
        weights[4] = .nan
        do {
            _ = try CHeaderExport.header(for: fc, weights: weights, source: "fc.idz", includeGuard: "G")
            Issue.record("a NaN weight was accepted")
        } catch {
            #expect(error.description == "cannot export a C header: weight 4 (in layers.0.bias) is nan; a C header holds finite numbers only")
        }
        #expect(throws: CHeaderExportError.self) {
            try CHeaderExport.header(for: fc, weights: [1, 2, 3], source: "fc.idz", includeGuard: "G")
        }
    }

    /// Layers and preprocessing the CLI's test does not train: same padding, a non-square
    /// three-channel input with per-channel mean and std, a pool that drops a partial window.
    @Test(.enabled(if: Self.gcc != nil, "gcc is not installed (scripts/install-dependencies.sh installs it)"))
    func compiledHeaderMatchesPredictor() throws {
        let architecture = Architecture(inputShape: [3, 12, 10], layers: [
            .conv2d(filters: 4, kernel: 3, padding: .same), .relu, .maxPool(size: 2),
            .conv2d(filters: 5, kernel: 3, padding: .valid), .relu, .maxPool(size: 3),
            .flatten, .dense(units: 7), .relu, .dense(units: 3),
        ])
        var model = Self.model(architecture, d: 40)
        model.preprocessing = Preprocessing(inputScale: 1.0 / 255.0, mean: [0.5, 0.4, 0.3], standardDeviation: [0.25, 0.2, 0.3])
        model.weightsSHA256 = try ModelExpansion.digest(of: model)
        let weights = try ModelExpansion.weights(of: model)

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("idzip-cheader-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let report = try CHeaderExport.write(model, to: directory.appendingPathComponent("model.h"), source: "test.idz")
        #expect(report.parameterCount == weights.count)
        try Self.main.write(to: directory.appendingPathComponent("main.c"), atomically: true, encoding: .utf8)
        try Self.run(Self.gcc!, ["-O2", "-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror", "-o", "predict", "main.c", "-lm"], in: directory)

        let examples = 64
        var state: UInt32 = 12345
        let raw: [Float] = (0..<(examples * 360)).map { _ in
            state = state &* 1_664_525 &+ 1_013_904_223
            return Float(state >> 24)
        }
        try raw.withUnsafeBytes { Data($0) }.write(to: directory.appendingPathComponent("raw.f32"))
        try Self.run(directory.appendingPathComponent("predict").path, ["raw.f32", "logits.f32"], in: directory)
        let bytes = try Data(contentsOf: directory.appendingPathComponent("logits.f32"))
        let logits = bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        let expected = try Predictor(architecture: architecture, theta: weights, preprocessing: model.preprocessing).logits(raw: raw)
        #expect(logits.count == expected.count)
        let error = zip(logits, expected).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? .infinity
        #expect(error < 1e-5, "idz_predict's logits differ from Predictor's by \(error)")
    }

    static func model(_ architecture: Architecture, d: Int) -> IdzModel {
        IdzModel(
            architecture: architecture, theta0Seed: 7,
            projection: ProjectionSpec(kind: .fastfood, seed: 11, dimension: d),
            theta: .encode((0..<d).map { Float($0 % 7) / 10 - 0.3 }, as: .float32),
            weightsSHA256: Array(repeating: 0, count: 32))
    }

    static let gcc: String? = ProcessInfo.processInfo.environment["PATH", default: "/usr/bin"]
        .split(separator: ":").map { "\($0)/gcc" }.first { FileManager.default.isExecutableFile(atPath: $0) }

    static let main = """
        #include <stdio.h>
        #define IDZ_IMPLEMENTATION
        #include "model.h"

        int main(int argc, char **argv)
        {
            static float raw[IDZ_INPUT_SIZE];
            float logits[IDZ_OUTPUT_SIZE];
            FILE *in = fopen(argv[1], "rb"), *out = fopen(argv[2], "wb");
            if (argc != 3 || !in || !out) return 2;
            while (fread(raw, sizeof(float), IDZ_INPUT_SIZE, in) == (size_t)IDZ_INPUT_SIZE) {
                idz_predict(raw, logits);
                fwrite(logits, sizeof(float), IDZ_OUTPUT_SIZE, out);
            }
            return fclose(out) == 0 && fclose(in) == 0 ? 0 : 3;
        }

        """

    static func run(_ executable: String, _ arguments: [String], in directory: URL) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = directory
        let error = Pipe()
        process.standardError = error
        try process.run()
        let message = String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(executable) \(arguments.joined(separator: " ")): \(message)")
    }
}
