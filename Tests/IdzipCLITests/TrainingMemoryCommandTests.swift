import Foundation
import Testing

/// Issue 12: the memory a training run or an evaluation declares before it allocates
/// (`MemoryBudget`, refused in one line above `IDZIP_MEMORY_LIMIT`) covers what it then
/// really holds, for deep convolution chains with skip connections and batch-normalised
/// networks: the estimate plus the peak of the same command on a tiny network (the
/// program, its libraries and the data) is at least the measured peak resident memory
/// (GNU time's maximum RSS), within 2% of the peak (thread stacks, the matrix library's
/// buffers and the allocator's arenas, which no estimate counts; the estimates before
/// issue 12's fix were 3 to 5 times too small).
struct TrainingMemoryCommandTests {
    /// Images of this side: small, so that the networks run in seconds.
    static let side = 8
    /// 600 training and 1,000 test examples: every thread gets full evaluation batches
    /// (500) and sealing batches (256), so the estimate made before the data is read is
    /// the one for this data.
    static let trainCount = 600
    static let testCount = 1000
    static let common = ["--data", "data", "--epochs", "1", "--batch-size", "64", "--threads", "2"]

    /// A chain of `blocks` residual blocks (a same-padded 3x3 convolution whose output is
    /// added to its input) after a first convolution; then flatten and dense.
    static func deepChain(blocks: Int, filters: Int = 4) -> String {
        var layers = [#"{"type": "conv2d", "filters": \#(filters), "kernel": 3, "padding": "same"}"#]
        for _ in 0..<blocks {
            let previous = layers.count - 1
            layers.append(#"{"type": "conv2d", "filters": \#(filters), "kernel": 3, "padding": "same"}"#)
            layers.append(#"{"type": "add", "other": \#(previous)}"#)
        }
        layers += [#"{"type": "flatten"}"#, #"{"type": "dense", "units": 10}"#]
        return #"{"input_shape": [1, \#(side), \#(side)], "layers": [\#(layers.joined(separator: ", "))]}"#
    }

    /// A batch-normalised residual network: conv, batch norm, ReLU, a strided block with a
    /// 1x1 projection shortcut, average pooling, dropout, global average pooling, dense.
    static let batchNormNet = #"""
        {"input_shape": [1, 8, 8], "layers": [
          {"type": "conv2d", "filters": 16, "kernel": 3, "padding": "same", "bias": false},
          {"type": "batchnorm"}, {"type": "relu"},
          {"type": "conv2d", "filters": 32, "kernel": 3, "stride": 2, "padding": 1, "bias": false},
          {"type": "batchnorm"}, {"type": "relu"},
          {"type": "conv2d", "filters": 32, "kernel": 1, "stride": 2, "bias": false, "source": 2},
          {"type": "add", "other": 5}, {"type": "avgpool", "size": 2}, {"type": "dropout", "rate": 0.1},
          {"type": "global_avgpool"}, {"type": "dense", "units": 10}]}
        """#

    /// The tiny network whose peak stands for the program, its libraries and the data.
    static let tiny = #"{"input_shape": [1, 8, 8], "layers": [{"type": "flatten"}, {"type": "dense", "units": 10}]}"#

    /// An IDX file: magic, big-endian dimensions, then `body`.
    static func idx(_ dimensions: [Int], body: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = [0, 0, 8, UInt8(dimensions.count)]
        for value in dimensions { bytes += withUnsafeBytes(of: UInt32(value).bigEndian) { Array($0) } }
        return bytes + body
    }

    static func writeData(in directory: TemporaryDirectory) throws {
        let folder = directory.file("data")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        func images(_ count: Int) -> [UInt8] { (0..<(count * side * side)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) } }
        for (prefix, count) in [("train", trainCount), ("t10k", testCount)] {
            try Data(idx([count, side, side], body: images(count))).write(to: folder.appendingPathComponent("\(prefix)-images-idx3-ubyte"))
            try Data(idx([count], body: (0..<count).map { UInt8($0 % 10) })).write(to: folder.appendingPathComponent("\(prefix)-labels-idx1-ubyte"))
        }
    }

    /// Runs idzip under GNU time: the result and the peak resident memory in bytes.
    static func measured(_ arguments: [String], in directory: TemporaryDirectory) throws -> (CommandRunner.Result, peak: Int) {
        let report = directory.file("time-\(UUID().uuidString).txt")
        defer { try? FileManager.default.removeItem(at: report) }
        let result = try CommandRunner.run(
            ["-f", "%M", "-o", report.path, CommandRunner.executable.path] + arguments, in: directory.url, executable: URL(fileURLWithPath: "/usr/bin/time"))
        let text = try String(contentsOf: report, encoding: .utf8).split(separator: "\n").last.map(String.init) ?? ""
        let kilobytes = try #require(Int(text.trimmingCharacters(in: .whitespaces)), "GNU time's report: \(text)")
        return (result, kilobytes * 1024)
    }

    /// The bytes a command declares it needs: the size in its one-line refusal under a
    /// limit of `limit` ("... needs 215.3 MB (...), more than ...").
    static func declared(_ arguments: [String], in directory: TemporaryDirectory, limit: String = "1K") throws -> Int {
        let result = try CommandRunner.run(arguments, in: directory.url, environment: ["IDZIP_MEMORY_LIMIT": limit])
        #expect(result.status == 1, "\(arguments): \(result.status) \(result.standardError)")
        #expect(result.standardError.split(separator: "\n").count == 1, "one line: \(result.standardError)")
        let words = result.standardError.split(separator: " ")
        let index = try #require(words.firstIndex(of: "needs"), "\(result.standardError)")
        let value = try #require(Double(words[index + 1]), "\(result.standardError)")
        let unit: Double = switch words[index + 2].prefix(2) {
        case "kB": 1e3
        case "MB": 1e6
        case "GB": 1e9
        default: 0
        }
        #expect(unit > 0, "\(result.standardError)")
        // sizeText rounds to 0.1 of its unit.
        return Int((value + 0.05) * unit)
    }

    @Test func theTrainingEstimateCoversThePeakOfDeepAndBatchNormalisedNetworks() throws {
        let directory = try TemporaryDirectory()
        try Self.writeData(in: directory)
        try Data(Self.deepChain(blocks: 8).utf8).write(to: directory.file("deep.json"))
        try Data(Self.batchNormNet.utf8).write(to: directory.file("bn.json"))
        try Data(Self.tiny.utf8).write(to: directory.file("tiny.json"))
        let baseline = try Self.measured(["train", "--model", "tiny.json", "-o", "base.idz"] + Self.common, in: directory)
        #expect(baseline.0.status == 0, "\(baseline.0.standardError)")
        for model in [
            ["--model", "deep.json"], ["--model", "deep.json", "--dim", "100"], ["--model", "bn.json"],
            ["--model", "mnist-bn:1x8x8:10"], ["--model", "mnist-bn:1x8x8:10", "--dim", "200", "--projection", "sparse"],
        ] {
            let arguments = ["train"] + model + Self.common + ["-o", "m.idz"]
            let estimate = try Self.declared(arguments, in: directory)
            #expect(!FileManager.default.fileExists(atPath: directory.file("m.idz").path), "a refused run writes nothing")
            let (result, peak) = try Self.measured(arguments, in: directory)
            #expect(result.status == 0, "\(model): \(result.standardError)")
            print("\(model.joined(separator: " ")): estimate \(estimate) B, peak \(peak) B, tiny network's peak \(baseline.peak) B")
            #expect(estimate + baseline.peak + peak / 50 >= peak, "\(model): estimate \(estimate) + \(baseline.peak) < peak \(peak)")
            try FileManager.default.removeItem(at: directory.file("m.idz"))
        }
    }

    @Test func theEvaluationEstimateCoversThePeakOfADeepNetwork() throws {
        let directory = try TemporaryDirectory()
        try Self.writeData(in: directory)
        try Data(Self.deepChain(blocks: 8).utf8).write(to: directory.file("deep.json"))
        try Data(Self.tiny.utf8).write(to: directory.file("tiny.json"))
        for (model, name) in [("deep.json", "deep.idz"), ("tiny.json", "tiny.idz")] {
            let result = try CommandRunner.run(["create", "--model", model, "--dim", "20", "--theta-scale", "0.01", "-o", name], in: directory.url)
            #expect(result.status == 0, "\(result.standardError)")
        }
        // 2,000 images for predict, as one array.
        let count = 2000
        var npy: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
        var header = Array("{'descr': '|u1', 'fortran_order': False, 'shape': (\(count), 1, \(Self.side), \(Self.side)), }".utf8)
        while (npy.count + 2 + header.count + 1) % 64 != 0 { header.append(0x20) }
        header.append(0x0A)
        npy += [UInt8(header.count & 0xFF), UInt8(header.count >> 8)] + header
        npy += (0..<(count * Self.side * Self.side)).map { UInt8(truncatingIfNeeded: $0 &* 40_503 >> 5) }
        try Data(npy).write(to: directory.file("batch.npy"))
        for command in [
            ["eval", "MODEL", "--data", "data", "--threads", "2"],
            ["eval", "MODEL", "--data", "data", "--threads", "2", "--predictions", "p.txt"],
            ["predict", "MODEL", "batch.npy", "--threads", "2"],
        ] {
            let deep = command.map { $0 == "MODEL" ? "deep.idz" : $0 }
            let baseline = try Self.measured(command.map { $0 == "MODEL" ? "tiny.idz" : $0 }, in: directory)
            #expect(baseline.0.status == 0, "\(baseline.0.standardError)")
            // Above the weights (checked alone first), below the evaluation.
            let estimate = try Self.declared(deep, in: directory, limit: "2M")
            let (result, peak) = try Self.measured(deep, in: directory)
            #expect(result.status == 0, "\(deep): \(result.standardError)")
            print("\(deep.joined(separator: " ")): estimate \(estimate) B, peak \(peak) B, tiny network's peak \(baseline.peak) B")
            #expect(estimate + baseline.peak + peak / 50 >= peak, "\(deep): estimate \(estimate) + \(baseline.peak) < peak \(peak)")
        }
    }

    @Test func aDeepNetworkOverTheLimitIsRefusedInOneLineBeforeAllocating() throws {
        let directory = try TemporaryDirectory()
        try Self.writeData(in: directory)
        // 1,023 layers: 510 residual blocks.
        try Data(Self.deepChain(blocks: 510).utf8).write(to: directory.file("deep.json"))
        let arguments = ["train", "--model", "deep.json", "-o", "m.idz"] + Self.common
        let result = try CommandRunner.run(arguments, in: directory.url, environment: ["IDZIP_MEMORY_LIMIT": "500M"])
        #expect(result.status == 1, "\(result.standardError)")
        #expect(result.standardError.split(separator: "\n").count == 1, "\(result.standardError)")
        #expect(result.standardError.hasPrefix("Error: training deep.json needs"), "\(result.standardError)")
        #expect(result.standardError.contains("training step buffers") && result.standardError.contains("evaluation activations"), "\(result.standardError)")
        #expect(!FileManager.default.fileExists(atPath: directory.file("m.idz").path))
        #expect(!FileManager.default.fileExists(atPath: directory.file("m.idz.checkpoint").path))
    }
}
