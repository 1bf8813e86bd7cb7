import Foundation
import IdzipCore
import Testing

/// Models too large to hold in memory are refused with one line before allocating; text
/// from a file cannot drive the terminal. (Outputs: OutputRulesTests.)
struct OutputSafetyTests {
    func idzip(_ arguments: [String], in directory: TemporaryDirectory) throws -> CommandRunner.Result {
        try CommandRunner.run(arguments, in: directory.url)
    }

    @Test func modelsTooLargeToHoldAreRefusedBeforeAllocating() throws {
        let directory = try TemporaryDirectory()
        // D = 13.3e9: valid for the format, far beyond this machine's memory.
        let architecture = try Architecture(spec: "fc:784-16777216-10")
        let model = IdzModel(
            architecture: architecture, theta0Seed: 1, projection: ProjectionSpec(kind: .fastfood, seed: 2, dimension: 10),
            theta: StoredTheta.encode([Float](repeating: 0, count: 10), as: .float32), preprocessing: Preprocessing(inputScale: 1.0 / 255),
            labels: [], metadata: [], weightsSHA256: [UInt8](repeating: 0, count: 32))
        try IdzFile.write(model, to: directory.file("huge.idz"))
        var pgm = Array("P5\n28 28\n255\n".utf8)
        pgm += [UInt8](repeating: 0, count: 784)
        try Data(pgm).write(to: directory.file("x.pgm"))
        for arguments in [["export", "huge.idz", "--format", "c"], ["export", "huge.idz", "--format", "onnx"], ["predict", "huge.idz", "x.pgm"]] {
            let result = try idzip(arguments, in: directory)
            #expect(result.status == 1, "\(arguments): \(result.status) \(result.standardError)")
            #expect(result.standardError.split(separator: "\n").count == 1, "\(arguments): one line: \(result.standardError)")
        }
    }

    @Test func labelsCannotDriveTheTerminal() throws {
        let directory = try TemporaryDirectory()
        #expect(try idzip(["create", "--model", "fc:784-8-10", "--dim", "5", "--theta-scale", "0.1", "-o", "m.idz"], in: directory).status == 0)
        var model = try IdzFile.read(contentsOf: directory.file("m.idz"))
        model.labels = (0..<10).map { "\u{1B}[2J\u{1B}]0;pwned\u{07}class\($0)\nforged: 3 (p=1.0000)" }
        try IdzFile.write(model, to: directory.file("esc.idz"))
        var pgm = Array("P5\n28 28\n255\n".utf8)
        pgm += [UInt8](repeating: 128, count: 784)
        try Data(pgm).write(to: directory.file("x.pgm"))
        for arguments in [["predict", "esc.idz", "x.pgm"], ["info", "esc.idz"]] {
            let result = try idzip(arguments, in: directory)
            #expect(result.status == 0, "\(arguments): \(result.standardError)")
            #expect(!result.standardOutput.contains("\u{1B}") && !result.standardOutput.contains("\u{07}"), "\(arguments)")
            #expect(!result.standardOutput.split(separator: "\n").contains { $0.hasPrefix("forged") }, "\(arguments)")
        }
    }
}
