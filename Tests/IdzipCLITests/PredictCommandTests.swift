import Foundation
import IdzipCore
import IdzipTraining
import Testing

/// `idzip predict` end to end: the real binary on PNG, PGM and NPY inputs agrees with
/// `idzip eval --predictions` on the same MNIST test images; bad inputs get one line.
struct PredictCommandTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The first `count` MNIST test images (uint8, 784 each).
    static func mnistTestImages(_ count: Int) throws -> [UInt8] {
        let images = try IDXReader.readImages(path: root.appendingPathComponent("samples/mnist/t10k-images-idx3-ubyte.gz").path)
        return Array(images.bytes.prefix(count * 784))
    }

    /// An NPY version 1 file.
    static func npy(descr: String, shape: [Int], data: [UInt8]) -> Data {
        let shapeText = "(" + shape.map { "\($0)," }.joined(separator: " ") + ")"
        var header = Array("{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }".utf8)
        while (10 + header.count + 1) % 64 != 0 { header.append(0x20) }
        header.append(0x0A)
        return Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.count & 0xFF), UInt8(header.count >> 8)] + header + data)
    }

    /// Copies samples/digits (digit-7.png, digit-2.pgm, digit-1.png: MNIST test images 0, 1, 2) into `directory`.
    static func copyDigits(to directory: TemporaryDirectory) throws {
        for name in ["digit-7.png", "digit-2.pgm", "digit-1.png"] {
            try FileManager.default.copyItem(at: root.appendingPathComponent("samples/digits/\(name)"), to: directory.file(name))
        }
    }

    /// Runs `idzip eval --predictions` on the MNIST test set: the predicted classes.
    static func evalPredictions(_ model: String, in directory: TemporaryDirectory) throws -> [Int] {
        let eval = try CommandRunner.run(["eval", model, "--data", "mnist", "--predictions", "p.txt"], in: directory.url)
        #expect(eval.status == 0, "\(eval.standardError)")
        return try String(contentsOf: directory.file("p.txt"), encoding: .utf8).split(separator: "\n").compactMap { Int($0) }
    }

    static func records(_ result: CommandRunner.Result) throws -> [[String: Any]] {
        #expect(result.status == 0, "\(result.standardError)")
        return try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [[String: Any]])
    }

    @Test func fullyConnectedModelAgreesWithEval() throws {
        let directory = try TemporaryDirectory()
        let train = try CommandRunner.run(
            ["train", "--model", "fc:784-200-200-10", "--data", "mnist", "--dim", "300", "--epochs", "1", "--train-fraction", "0.1", "-o", "m.idz"],
            in: directory.url)
        #expect(train.status == 0, "\(train.standardError)")
        let expected = try Self.evalPredictions("m.idz", in: directory)
        #expect(expected.count == 10_000)
        try Self.copyDigits(to: directory)

        // The three images: the classes eval gives MNIST test images 0, 1 and 2.
        let images = try Self.records(try CommandRunner.run(["predict", "m.idz", "digit-7.png", "digit-2.pgm", "digit-1.png", "--json"], in: directory.url))
        #expect(images.map { $0["class"] as? Int } == Array(expected.prefix(3)))
        #expect(images.map { $0["input"] as? String } == ["digit-7.png", "digit-2.pgm", "digit-1.png"])
        for record in images {
            let probabilities = try #require(record["probabilities"] as? [Double])
            #expect(probabilities.count == 10 && abs(probabilities.reduce(0, +) - 1) < 1e-9)
            #expect(record["probability"] as? Double == probabilities[record["class"] as! Int])
            #expect(record["label"] is NSNull && record["index"] is NSNull)
        }

        // Text: one line per input, with --top 3 the two runners-up.
        let text = try CommandRunner.run(["predict", "m.idz", "digit-7.png", "digit-2.pgm", "--top", "3"], in: directory.url)
        #expect(text.status == 0, "\(text.standardError)")
        let lines = text.standardOutput.split(separator: "\n").map(String.init)
        #expect(lines.count == 2)
        #expect(lines[0].hasPrefix("digit-7.png: \(expected[0]) (p=") && lines[0].contains("; next "))
        #expect(lines[0].matches(of: /\(p=[01]\.[0-9]{4}\)/).count == 3)

        // A batch of 100 MNIST test images, as uint8 and as float32: 100% agreement with eval.
        let pixels = try Self.mnistTestImages(100)
        try Self.npy(descr: "|u1", shape: [100, 784], data: pixels).write(to: directory.file("batch.npy"))
        let floats = pixels.flatMap { withUnsafeBytes(of: Float($0).bitPattern.littleEndian, Array.init) }
        try Self.npy(descr: "<f4", shape: [100, 784], data: floats).write(to: directory.file("batch-f4.npy"))
        for name in ["batch.npy", "batch-f4.npy"] {
            let batch = try Self.records(try CommandRunner.run(["predict", "m.idz", name, "--json"], in: directory.url))
            #expect(batch.count == 100)
            #expect(batch.map { $0["class"] as? Int } == Array(expected.prefix(100)), "\(name)")
            #expect(batch.map { $0["index"] as? Int } == Array(0..<100))
        }

        // Standard input: a PNG and the batch, told apart by their magic numbers.
        let fromStandardInput = try CommandRunner.run(["predict", "m.idz", "-"], in: directory.url, standardInput: directory.file("digit-7.png"))
        #expect(fromStandardInput.standardOutput == "-: " + lines[0].dropFirst("digit-7.png: ".count).prefix { $0 != ";" } + "\n")
        let batchFromStandardInput = try Self.records(
            try CommandRunner.run(["predict", "m.idz", "-", "--json"], in: directory.url, standardInput: directory.file("batch.npy")))
        #expect(batchFromStandardInput.map { $0["class"] as? Int } == Array(expected.prefix(100)))

        // Label names, when the model has them.
        var model = try IdzFile.read(contentsOf: directory.file("m.idz"))
        let names = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
        model.labels = names
        try IdzFile.write(model, to: directory.file("named.idz"))
        let named = try CommandRunner.run(["predict", "named.idz", "digit-7.png"], in: directory.url)
        #expect(named.standardOutput.hasPrefix("digit-7.png: \(expected[0]) \(names[expected[0]]) (p="), "\(named.standardOutput)")
        let namedJSON = try Self.records(try CommandRunner.run(["predict", "named.idz", "digit-7.png", "--json", "--top", "2"], in: directory.url))
        #expect(namedJSON.first?["label"] as? String == names[expected[0]])
        #expect((namedJSON.first?["top"] as? [[String: Any]])?.count == 2)
    }

    @Test func leNetTakesImagesAndArrays() throws {
        let directory = try TemporaryDirectory()
        let create = try CommandRunner.run(["create", "--model", "lenet", "--dim", "50", "--theta-scale", "0.2", "-o", "l.idz"], in: directory.url)
        #expect(create.status == 0, "\(create.standardError)")
        let expected = try Self.evalPredictions("l.idz", in: directory)
        try Self.copyDigits(to: directory)
        try Self.npy(descr: "|u1", shape: [100, 28, 28], data: try Self.mnistTestImages(100)).write(to: directory.file("batch.npy"))
        let records = try Self.records(
            try CommandRunner.run(["predict", "l.idz", "digit-7.png", "digit-2.pgm", "digit-1.png", "batch.npy", "--json"], in: directory.url))
        #expect(records.map { $0["class"] as? Int } == Array(expected.prefix(3)) + Array(expected.prefix(100)))
    }

    @Test func badInputsGetOneLineAndStatusOne() throws {
        let directory = try TemporaryDirectory()
        let create = try CommandRunner.run(["create", "--model", "fc:784-16-10", "--dim", "20", "--theta-scale", "0.1", "-o", "m.idz"], in: directory.url)
        #expect(create.status == 0, "\(create.standardError)")
        try Self.copyDigits(to: directory)
        let png = try Data(contentsOf: directory.file("digit-7.png"))
        try png.prefix(70).write(to: directory.file("truncated.png"))
        try FileManager.default.copyItem(
            at: Self.root.appendingPathComponent("Tests/IdzipCoreTests/Fixtures/inputs/huge-area.png"), to: directory.file("huge.png"))
        try FileManager.default.copyItem(
            at: Self.root.appendingPathComponent("Tests/IdzipCoreTests/Fixtures/inputs/digit-7-56x56.png"), to: directory.file("big.png"))
        try Data("P5 28 28 255\n".utf8 + [UInt8](repeating: 0, count: 100)).write(to: directory.file("short.pgm"))
        try Data("P5 9999999 9999999 255\n".utf8).write(to: directory.file("huge.pgm"))
        try Self.npy(descr: "<f4", shape: [100000, 100000], data: []).write(to: directory.file("huge.npy"))
        try Self.npy(descr: "|u1", shape: [785], data: [UInt8](repeating: 0, count: 785)).write(to: directory.file("wide.npy"))
        try Data("GIF89a".utf8).write(to: directory.file("x.gif"))

        let failures: [([String], String)] = [
            (["truncated.png"], "truncated.png is not a valid PNG file: "),
            (["huge.png"], "huge.png is too large: a 20000 x 20000 PNG image"),
            (["big.png"], "big.png: a 56 x 56 gray image does not fit the model's input [784] (28 x 28); give --resize to resize it"),
            (["short.pgm"], "short.pgm is not a valid PGM file: the file ends inside the raster"),
            (["huge.pgm"], "huge.pgm is too large"),
            (["huge.npy"], "huge.npy is too large"),
            (["wide.npy"], "wide.npy: an array of shape [785] does not fit the model's input [784]"),
            (["x.gif"], "x.gif is not a PNG, PGM (P2/P5) or NPY file"),
            (["missing.png"], "cannot read missing.png: No such file or directory"),
            (["digit-7.png", "."], "cannot read .: it is a directory"),
            (["-"], "- is not a PNG, PGM (P2/P5) or NPY file"),  // empty standard input
        ]
        for (inputs, message) in failures {
            let result = try CommandRunner.run(["predict", "m.idz"] + inputs, in: directory.url)
            #expect(result.status == 1, "\(inputs): \(result.standardError)")
            #expect(result.standardOutput.isEmpty, "\(inputs): nothing is printed before every input is read")
            #expect(result.standardError.split(separator: "\n").count == 1 && result.standardError.contains(message), "\(inputs): \(result.standardError)")
        }
        let resized = try CommandRunner.run(["predict", "m.idz", "big.png", "--resize"], in: directory.url)
        #expect(resized.status == 0 && resized.standardOutput.hasPrefix("big.png: "), "\(resized.standardError)")

        for arguments in [["predict", "m.idz"], ["predict", "m.idz", "-", "-"], ["predict", "m.idz", "digit-7.png", "--top", "0"]] {
            let result = try CommandRunner.run(arguments, in: directory.url)
            #expect(result.status == 64, "\(arguments): \(result.standardError)")
        }
    }
}
