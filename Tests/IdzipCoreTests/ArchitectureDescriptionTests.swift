import Foundation
import IdzipCore
import Testing

/// Architecture files (docs/architecture-files.md): parsing, writing back, the presets as
/// descriptions, and a table of hostile files, each refused with one line.
struct ArchitectureDescriptionTests {
    static func parse(_ text: String) throws -> Architecture {
        try ArchitectureDescription.parse(Array(text.utf8), source: "net.json")
    }

    @Test func theDocumentedExampleParses() throws {
        let architecture = try ArchitectureDescription.read(path: RepositoryFiles.url("Tests/python/fixtures/architectures/small-residual.json").path)
        #expect(architecture.layers.count == 22)
        #expect(architecture.names[0] == "stem.conv" && architecture.names[2] == "layers.2")
        #expect(architecture.source(of: 12) == 8)
        #expect(architecture.layers[3] == .convolution(Convolution2D(filters: 4, kernel: 3, padding: 1, groups: 4, bias: false)))
        #expect(architecture.layers[4] == .batchNorm(epsilon: 0.001, momentum: 0.01))
        // A 1x1 convolution with bias, stride 1 and no padding is the version 1 conv2d.
        #expect(architecture.layers[6] == .conv2d(filters: 4, kernel: 1, padding: .valid))
        let tensors = try architecture.parameterTensors()
        #expect(tensors.map(\.name).contains("block.conv2.bias"))
        #expect(!tensors.map(\.name).contains("stem.conv.bias"))
        #expect(try architecture.bufferCount() == 2 * (4 + 4 + 16))
    }

    @Test(arguments: ["fc:784-200-200-10", "fc5", "lenet", "lenet:3x32x32:100", "resnet20", "resnet20:1x28x28", "mnist-bn", "mnist-bn:3x32x32:10"])
    func everyPresetRoundTripsThroughItsDescription(spec: String) throws {
        let architecture = try Architecture(spec: spec)
        let text = ArchitectureDescription.json(architecture)
        #expect(try Self.parse(text) == architecture)
        let oneLine = ArchitectureDescription.json(architecture, pretty: false)
        #expect(!oneLine.contains("\n"))
        #expect(try Architecture(spec: oneLine) == architecture)
    }

    @Test func theVersion1PresetsKeepTheirTensorsAndNames() throws {
        let lenet = try Architecture(spec: "lenet")
        #expect(lenet == .leNet() && lenet.names.isEmpty && lenet.sources.isEmpty && !lenet.needsVersion3)
        #expect(try lenet.parameterTensors().first?.name == "layers.0.weight")
        let described = try Self.parse(ArchitectureDescription.json(.fullyConnected(inputShape: [784], widths: [200, 200, 10])))
        #expect(described == .fullyConnected(inputShape: [784], widths: [200, 200, 10]))
        #expect(described.spec == "fc:784-200-200-10")
    }

    @Test func theNewPresetsHaveTheirDocumentedSizes() throws {
        let resnet = try Architecture(spec: "resnet20")
        #expect(try resnet.parameterCount() == 272_474)
        #expect(try resnet.outputShapes().last == [10])
        #expect(resnet.spec == "resnet20" && Architecture.resNet20(inputShape: [1, 28, 28]).spec == "resnet20:1x28x28:10")
        let tensors = try resnet.parameterTensors().map(\.name)
        #expect(tensors.contains("layer2.0.downsample.0.weight") && tensors.contains("layer3.2.bn2.bias") && tensors.last == "fc.bias")
        #expect(!tensors.contains("layer1.0.downsample.0.weight"))
        #expect(resnet.batchesTrackedNames.count == 1 + 9 * 2 + 2)
        let mnist = try Architecture(spec: "mnist-bn")
        #expect(try mnist.parameterCount() == 17_018)
        #expect(try mnist.outputShapes().map { $0 } == [[16, 28, 28], [16, 28, 28], [16, 28, 28], [16, 14, 14], [32, 14, 14], [32, 14, 14], [32, 14, 14], [32, 7, 7], [32, 7, 7], [32, 7, 7], [32, 7, 7], [32, 3, 3], [288], [10]])
    }

    /// One file per way a description can be wrong; each is one line naming the problem.
    static let hostile: [(name: String, text: String, fragment: String)] = [
        ("not JSON", "{\"input_shape\": [4], \"layers\": [", "is not valid JSON"),
        ("not an object", "[1, 2]", "must be a JSON object"),
        ("unknown top key", "{\"input_shape\": [4], \"layers\": [{\"type\": \"relu\"}], \"optimizer\": 1}", "unknown key 'optimizer'"),
        ("no layers", "{\"input_shape\": [4], \"layers\": []}", "1 to 1024"),
        ("missing input shape", "{\"layers\": [{\"type\": \"relu\"}]}", "input_shape must be an array"),
        ("fractional dimension", "{\"input_shape\": [4.5], \"layers\": [{\"type\": \"relu\"}]}", "whole numbers"),
        ("huge dimension", "{\"input_shape\": [1e30], \"layers\": [{\"type\": \"relu\"}]}", "whole numbers"),
        ("negative dimension", "{\"input_shape\": [-3], \"layers\": [{\"type\": \"relu\"}]}", "whole numbers"),
        ("rank 9", "{\"input_shape\": [1,1,1,1,1,1,1,1,1], \"layers\": [{\"type\": \"relu\"}]}", "9 dimensions"),
        ("unknown type", "{\"input_shape\": [4], \"layers\": [{\"type\": \"lstm\"}]}", "layer 0 (lstm): unknown type"),
        ("no type", "{\"input_shape\": [4], \"layers\": [{\"units\": 3}]}", "layer 0 needs a type"),
        ("unknown key", "{\"input_shape\": [1, 8, 8], \"layers\": [{\"type\": \"conv2d\", \"filter\": 3, \"kernel\": 3}]}", "unknown key 'filter'"),
        ("missing units", "{\"input_shape\": [4], \"layers\": [{\"type\": \"dense\"}]}", "needs units"),
        ("units as text", "{\"input_shape\": [4], \"layers\": [{\"type\": \"dense\", \"units\": \"10\"}]}", "units must be a whole number"),
        ("absurd units", "{\"input_shape\": [4], \"layers\": [{\"type\": \"dense\", \"units\": 1099511627776}]}", "units must be a whole number, 1 to 16777216"),
        ("bias as number", "{\"input_shape\": [1, 8, 8], \"layers\": [{\"type\": \"conv2d\", \"filters\": 2, \"kernel\": 3, \"bias\": 1}]}", "bias must be true or false"),
        ("same with even kernel", "{\"input_shape\": [1, 8, 8], \"layers\": [{\"type\": \"conv2d\", \"filters\": 2, \"kernel\": 4, \"padding\": \"same\"}]}", "same padding needs an odd kernel"),
        ("padding word", "{\"input_shape\": [1, 8, 8], \"layers\": [{\"type\": \"conv2d\", \"filters\": 2, \"kernel\": 3, \"padding\": \"full\"}]}", "padding must be a whole number"),
        ("kernel larger than input", "{\"input_shape\": [1, 4, 4], \"layers\": [{\"type\": \"conv2d\", \"filters\": 2, \"kernel\": 7}]}", "larger than"),
        ("groups 3 of 4", "{\"input_shape\": [4, 8, 8], \"layers\": [{\"type\": \"conv2d\", \"filters\": 4, \"kernel\": 3, \"groups\": 3}]}", "groups"),
        ("source later", "{\"input_shape\": [4], \"layers\": [{\"type\": \"relu\", \"source\": 1}, {\"type\": \"relu\"}]}", "source must be a whole number, -1 (the input) or an earlier layer"),
        ("source itself", "{\"input_shape\": [4], \"layers\": [{\"type\": \"relu\"}, {\"type\": \"relu\", \"source\": 1}]}", "-1 (the input) or an earlier layer (0 to 0)"),
        ("add forward", "{\"input_shape\": [4], \"layers\": [{\"type\": \"relu\"}, {\"type\": \"add\", \"other\": 3}]}", "other must be a whole number"),
        ("add mismatch", "{\"input_shape\": [4], \"layers\": [{\"type\": \"dense\", \"units\": 3}, {\"type\": \"add\", \"other\": -1}]}", "adds shapes [3] and [4], which differ"),
        ("dense on image", "{\"input_shape\": [1, 8, 8], \"layers\": [{\"type\": \"dense\", \"units\": 3}]}", "needs a flat input"),
        ("rate 1", "{\"input_shape\": [4], \"layers\": [{\"type\": \"dropout\", \"rate\": 1}]}", "rate 1.0"),
        ("rate missing", "{\"input_shape\": [4], \"layers\": [{\"type\": \"dropout\"}]}", "needs rate"),
        ("slope infinite", "{\"input_shape\": [4], \"layers\": [{\"type\": \"leaky_relu\", \"slope\": 1e300}]}", "slope must be a finite number"),
        ("name with space", "{\"input_shape\": [4], \"layers\": [{\"type\": \"dense\", \"units\": 2, \"name\": \"fc 1\"}]}", "use letters, digits"),
        ("name too long", "{\"input_shape\": [4], \"layers\": [{\"type\": \"dense\", \"units\": 2, \"name\": \"" + String(repeating: "a", count: 300) + "\"}]}", "name must be a string of at most 256 bytes"),
        ("duplicate names", "{\"input_shape\": [4], \"layers\": [{\"type\": \"dense\", \"units\": 4, \"name\": \"fc\"}, {\"type\": \"dense\", \"units\": 2, \"name\": \"fc\"}]}", "both named 'fc'"),
        ("name inside a module with tensors", "{\"input_shape\": [4], \"layers\": [{\"type\": \"dense\", \"units\": 4, \"name\": \"fc\"}, {\"type\": \"dense\", \"units\": 2, \"name\": \"fc.out\"}]}", "has tensors and also contains"),
        ("too many parameters", "{\"input_shape\": [16777216], \"layers\": [{\"type\": \"dense\", \"units\": 16777216}]}", "parameters"),
        ("deep nesting", "{\"input_shape\": [4], \"layers\": [{\"type\": \"relu\", \"name\": [[[[[[1]]]]]]}]}", "nests arrays and objects 9 deep"),
        ("count written 10.0", "{\"input_shape\": [4], \"layers\": [{\"type\": \"dense\", \"units\": 10.0}]}", "units must be a whole number"),
        ("count written 1e1", "{\"input_shape\": [1, 8, 8], \"layers\": [{\"type\": \"conv2d\", \"filters\": 1e1, \"kernel\": 3}]}", "filters must be a whole number"),
        ("kernel written 3E0", "{\"input_shape\": [1, 8, 8], \"layers\": [{\"type\": \"conv2d\", \"filters\": 2, \"kernel\": 3E0}]}", "kernel must be a whole number"),
        ("dimension written 28.0", "{\"input_shape\": [1, 28.0, 28], \"layers\": [{\"type\": \"relu\"}]}", "whole numbers"),
        ("source written -1.0", "{\"input_shape\": [4], \"layers\": [{\"type\": \"relu\", \"source\": -1.0}]}", "source must be a whole number"),
        ("other written 0e0", "{\"input_shape\": [4], \"layers\": [{\"type\": \"relu\"}, {\"type\": \"add\", \"other\": 0e0}]}", "other must be a whole number"),
        ("two input shapes", "{\"input_shape\": [4], \"layers\": [{\"type\": \"relu\"}], \"input_shape\": [8]}", "gives the key 'input_shape' twice"),
        ("two layer lists", "{\"layers\": [{\"type\": \"relu\"}], \"input_shape\": [4], \"layers\": [{\"type\": \"tanh\"}]}", "gives the key 'layers' twice"),
        ("a key twice in a layer", "{\"input_shape\": [4], \"layers\": [{\"type\": \"dense\", \"units\": 3, \"units\": 4}]}", "gives the key 'units' twice"),
        ("type twice", "{\"input_shape\": [4], \"layers\": [{\"type\": \"relu\", \"type\": \"tanh\"}]}", "gives the key 'type' twice"),
        ("trailing bytes", "{\"input_shape\": [4], \"layers\": [{\"type\": \"relu\"}]} {}", "is not valid JSON"),
        ("control characters in a key", "{\"input_shape\": [4], \"layers\": [{\"type\": \"relu\", \"a\\u001b[2J\": 1}]}", "unknown key 'a?[2J'"),
    ]

    @Test(arguments: hostile.indices)
    func hostileDescriptionsAreRefusedWithOneLine(index: Int) throws {
        let (name, text, fragment) = Self.hostile[index]
        do {
            let architecture = try ArchitectureDescription.parse(Array(text.utf8), source: "net.json")
            Issue.record("\(name): parsed as \(architecture)")
        } catch {
            #expect(error.description.hasPrefix("invalid architecture: net.json"), "\(name): \(error)")
            #expect(error.description.contains(fragment), "\(name): \(error)")
            #expect(!error.description.contains("\n"), "\(name)")
        }
    }

    @Test func aFileLargerThanTheLimitIsRefusedBeforeItIsRead() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("idzip-big-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data(repeating: 0x20, count: ArchitectureDescription.maxFileBytes + 1).write(to: url)
        #expect(throws: ArchitectureError.invalid("\(url.path) has \(ArchitectureDescription.maxFileBytes + 1) bytes; an architecture file has at most \(ArchitectureDescription.maxFileBytes)")) {
            try ArchitectureDescription.read(path: url.path)
        }
        #expect(throws: ArchitectureError.self) { try Architecture(spec: "/nonexistent/net.json") }
    }

    @Test func theCommandLineNamesAFileOrAnInlineDescription() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("idzip-net-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data(ArchitectureDescription.json(.mnistBatchNorm()).utf8).write(to: url)
        #expect(try Architecture(spec: url.path) == .mnistBatchNorm())
        #expect(try Architecture(spec: ArchitectureDescription.json(.mnistBatchNorm(), pretty: false)) == .mnistBatchNorm())
    }
}
