import Foundation
@testable import IdzipCore
import Testing

/// The version 3 model types (Formats/idz-v3.md sections 3-5): layer graph, names, the new
/// layer kinds' shapes and tensors, buffers, and the one-line refusals.
struct ArchitectureGraphTests {
    /// A residual block as in ResNet: conv-bn-relu-conv-bn, a 1x1 strided projection
    /// shortcut (conv-bn reading the block's input), add, relu; then the head.
    static func residualBlock(names: Bool = true) -> Architecture {
        let layers: [Layer] = [
            .convolution(Convolution2D(filters: 4, kernel: 3, stride: 1, padding: 1, bias: false)), // 0
            .standardBatchNorm, .relu,                                                              // 1, 2
            .convolution(Convolution2D(filters: 8, kernel: 3, stride: 2, padding: 1, bias: false)), // 3
            .standardBatchNorm, .relu,                                                              // 4, 5
            .convolution(Convolution2D(filters: 8, kernel: 3, stride: 1, padding: 1, bias: false)), // 6
            .standardBatchNorm,                                                                     // 7
            .convolution(Convolution2D(filters: 8, kernel: 1, stride: 2, padding: 0, bias: false)), // 8 reads 2
            .standardBatchNorm,                                                                     // 9
            .add(other: 7), .relu,                                                                  // 10, 11
            .globalAveragePool, .dense(units: 3),                                                   // 12, 13
        ]
        let sources = [-1, 0, 1, 2, 3, 4, 5, 6, 2, 8, 9, 10, 11, 12]
        let layerNames = [
            "conv1", "bn1", "relu", "layer1.0.conv1", "layer1.0.bn1", "layer1.0.relu", "layer1.0.conv2", "layer1.0.bn2",
            "layer1.0.shortcut.0", "layer1.0.shortcut.1", "layer1.0.add", "layer1.0.relu", "pool", "fc",
        ]
        return Architecture(inputShape: [2, 9, 9], layers: layers, sources: sources, names: names ? layerNames : [])
    }

    @Test func existingArchitecturesAreUnchanged() throws {
        let lenet = Architecture.leNet()
        #expect(lenet.sources.isEmpty && lenet.names.isEmpty && !lenet.needsVersion3)
        let tensors = try lenet.parameterTensors()
        #expect(tensors.map(\.name) == [
            "layers.0.weight", "layers.0.bias", "layers.3.weight", "layers.3.bias", "layers.7.weight", "layers.7.bias",
            "layers.9.weight", "layers.9.bias", "layers.11.weight", "layers.11.bias",
        ])
        #expect(tensors.map(\.offset) == [0, 150, 156, 2556, 2572, 33292, 33412, 43492, 43576, 44416])
        #expect(try lenet.parameterCount() == 44_426)
        #expect(try lenet.bufferTensors().isEmpty)
        #expect(try lenet.bufferCount() == 0)
        let fc = try Architecture(spec: "fc:784-200-200-10")
        #expect(try fc.parameterCount() == 199_210)
        #expect(fc.layerSummary == "dense 200, relu, dense 200, relu, dense 10")
        // Sequential sources and default names given explicitly are the same network.
        let explicit = Architecture(inputShape: [784], layers: fc.layers, sources: [-1, 0, 1, 2, 3],
                                    names: (0..<5).map { "layers.\($0)" })
        #expect(explicit == fc)
        #expect(explicit.spec == "fc:784-200-200-10")
    }

    @Test func convolutionsThatConv2dExpressesAreCanonicalised() {
        let same = Layer.convolution(Convolution2D(filters: 6, kernel: 5, padding: 2))
        #expect(same.canonical == .conv2d(filters: 6, kernel: 5, padding: .same))
        #expect(Layer.convolution(Convolution2D(filters: 6, kernel: 5)).canonical == .conv2d(filters: 6, kernel: 5, padding: .valid))
        for layer in [
            Layer.convolution(Convolution2D(filters: 6, kernel: 5, stride: 2)),
            .convolution(Convolution2D(filters: 6, kernel: 5, padding: 1)),
            .convolution(Convolution2D(filters: 6, kernel: 4, padding: 2)),
            .convolution(Convolution2D(filters: 6, kernel: 5, bias: false)),
            .convolution(Convolution2D(filters: 6, kernel: 5, groups: 3)),
        ] {
            #expect(layer.canonical == layer)
        }
        let lenet = Architecture(inputShape: [1, 28, 28], layers: [
            .convolution(Convolution2D(filters: 6, kernel: 5)), .relu, .maxPool(size: 2),
            .convolution(Convolution2D(filters: 16, kernel: 5, stride: 1, padding: 0, groups: 1, bias: true)), .relu, .maxPool(size: 2),
            .flatten, .dense(units: 120), .relu, .dense(units: 84), .relu, .dense(units: 10),
        ])
        #expect(lenet == .leNet())
        #expect(Layer.conv2d(filters: 6, kernel: 5, padding: .same).convolutionParameters == Convolution2D(filters: 6, kernel: 5, padding: 2))
    }

    @Test func residualBlockShapesTensorsAndBuffers() throws {
        let network = Self.residualBlock()
        #expect(network.needsVersion3)
        let shapes = try network.layerShapes()
        #expect(shapes.outputs[3] == [8, 5, 5])      // (9 + 2 - 3) / 2 + 1
        #expect(shapes.inputs[8] == [4, 9, 9])       // the projection reads layer 2
        #expect(shapes.outputs[8] == [8, 5, 5])      // (9 - 1) / 2 + 1
        #expect(shapes.outputs[12] == [8])
        #expect(try network.outputCount() == 3)
        let tensors = try network.parameterTensors()
        #expect(tensors.map(\.name) == [
            "conv1.weight", "bn1.weight", "bn1.bias", "layer1.0.conv1.weight", "layer1.0.bn1.weight", "layer1.0.bn1.bias",
            "layer1.0.conv2.weight", "layer1.0.bn2.weight", "layer1.0.bn2.bias", "layer1.0.shortcut.0.weight",
            "layer1.0.shortcut.1.weight", "layer1.0.shortcut.1.bias", "fc.weight", "fc.bias",
        ])
        #expect(tensors[0].shape == [4, 2, 3, 3] && tensors[0].fanIn == 18 && tensors[0].fanOut == 36)
        #expect(tensors[1].shape == [4] && tensors[1].initScheme == .ones)
        #expect(tensors[2].initScheme == .zeros)
        #expect(tensors[9].shape == [8, 4, 1, 1])
        #expect(tensors[12].shape == [3, 8])
        #expect(try network.parameterCount() == 72 + 8 + 288 + 16 + 576 + 16 + 32 + 16 + 27)
        let buffers = try network.bufferTensors()
        #expect(buffers.map(\.name) == [
            "bn1.running_mean", "bn1.running_var", "layer1.0.bn1.running_mean", "layer1.0.bn1.running_var",
            "layer1.0.bn2.running_mean", "layer1.0.bn2.running_var", "layer1.0.shortcut.1.running_mean",
            "layer1.0.shortcut.1.running_var",
        ])
        #expect(buffers.map(\.offset) == [0, 4, 8, 16, 24, 32, 40, 48])
        #expect(try network.bufferCount() == 56)
        let initial = try network.initialBuffers()
        #expect(initial.count == 56 && initial[0..<4].allSatisfy { $0 == 0 } && initial[4..<8].allSatisfy { $0 == 1 })
        #expect(network.batchesTrackedNames == [
            "bn1.num_batches_tracked", "layer1.0.bn1.num_batches_tracked", "layer1.0.bn2.num_batches_tracked",
            "layer1.0.shortcut.1.num_batches_tracked",
        ])
        // Default names: layers.<i>.
        let unnamed = Self.residualBlock(names: false)
        #expect(try unnamed.parameterTensors().map(\.name).prefix(3) == ["layers.0.weight", "layers.1.weight", "layers.1.bias"])
        #expect(try unnamed.bufferTensors().first?.name == "layers.1.running_mean")
        #expect(network.layerSummary.contains("conv 1x1x8 stride 2 pad 0 no bias (from 2), batchnorm, add 7, relu, global avgpool, dense 3"))
    }

    @Test func depthwiseStridedConvolutionAndPooling() throws {
        let network = Architecture(inputShape: [3, 32, 32], layers: [
            .convolution(Convolution2D(filters: 6, kernel: 3, stride: 2, padding: 1, groups: 3)),
            .activation(.leakyReLU(slope: 0.01)), .averagePool(size: 3), .batchNorm(epsilon: 1e-3, momentum: 0.01),
            .activation(.gelu), .dropout(rate: 0.25), .activation(.tanh), .activation(.sigmoid), .flatten,
            .batchNorm(epsilon: 1e-5, momentum: 0.1), .dense(units: 10),
        ])
        let shapes = try network.outputShapes()
        #expect(shapes[0] == [6, 16, 16])
        #expect(shapes[2] == [6, 5, 5])
        #expect(shapes[8] == [150])
        let tensors = try network.parameterTensors()
        #expect(tensors[0].shape == [6, 1, 3, 3] && tensors[0].fanIn == 9 && tensors[0].fanOut == 18)
        #expect(tensors[1].name == "layers.0.bias" && tensors[1].shape == [6])
        #expect(tensors[4].name == "layers.9.weight" && tensors[4].shape == [150])
        #expect(try network.bufferTensors().map(\.shape) == [[6], [6], [150], [150]])
        #expect(network.layers.map(\.typeName) == [
            "convolution", "leaky_relu", "avgpool", "batchnorm", "gelu", "dropout", "tanh", "sigmoid", "flatten", "batchnorm", "dense",
        ])
    }

    @Test func initSchemeOnesFillsOnes() throws {
        let network = Architecture(inputShape: [5], layers: [.standardBatchNorm, .dense(units: 2)])
        let theta0 = InitialWeights.make(tensors: try network.parameterTensors(), seed: 7)
        #expect(Array(theta0[0..<5]) == [1, 1, 1, 1, 1])
        #expect(Array(theta0[5..<10]) == [0, 0, 0, 0, 0])
        #expect(InitScheme.ones.rawValue == 5 && InitScheme.ones.name == "ones")
        #expect(StreamPurpose.dropout.rawValue == 22)
    }

    static let invalid: [(Architecture, String)] = {
        let conv = Layer.convolution(Convolution2D(filters: 4, kernel: 3, padding: 1, bias: false))
        let image = [2, 8, 8]
        return [
            (Architecture(inputShape: image, layers: [conv, .relu], sources: [-1, 1]), "layer 1 reads layer 1, which is not an earlier layer"),
            (Architecture(inputShape: image, layers: [conv, .relu], sources: [-1, 5]), "a cycle"),
            (Architecture(inputShape: image, layers: [conv, .relu], sources: [-2, 0]), "layer 0 reads layer -2"),
            (Architecture(inputShape: image, layers: [conv, .relu], sources: [-1]), "1 sources for 2 layers"),
            (Architecture(inputShape: image, layers: [conv, .add(other: 1)]), "adds layer 1, which is not an earlier layer"),
            (Architecture(inputShape: image, layers: [conv, .add(other: -1)]), "adds shapes [4, 8, 8] and [2, 8, 8], which differ"),
            (Architecture(inputShape: image, layers: [.convolution(Convolution2D(filters: 4, kernel: 3, groups: 4))]), "4 groups; use 1 or the 2 input channels"),
            (Architecture(inputShape: image, layers: [.convolution(Convolution2D(filters: 3, kernel: 3, groups: 2))]), "3 filters are not a multiple of the 2 groups"),
            (Architecture(inputShape: image, layers: [.convolution(Convolution2D(filters: 3, kernel: 3, stride: 0))]), "stride 0"),
            (Architecture(inputShape: image, layers: [.convolution(Convolution2D(filters: 3, kernel: 3, padding: 65))]), "padding 65"),
            (Architecture(inputShape: image, layers: [.convolution(Convolution2D(filters: 3, kernel: 20, padding: 2))]), "kernel 20 is larger than the padded input 12x12"),
            (Architecture(inputShape: image, layers: [.batchNorm(epsilon: 0, momentum: 0.1)]), "epsilon 0.0"),
            (Architecture(inputShape: image, layers: [.batchNorm(epsilon: 1e-5, momentum: .nan)]), "momentum nan"),
            (Architecture(inputShape: image, layers: [.dropout(rate: 1)]), "rate 1.0"),
            (Architecture(inputShape: image, layers: [.activation(.leakyReLU(slope: .infinity))]), "slope inf"),
            (Architecture(inputShape: image, layers: [.averagePool(size: 9)]), "pool size 9 does not fit"),
            (Architecture(inputShape: [10], layers: [.globalAveragePool]), "needs a [channels, height, width] input"),
            (Architecture(inputShape: image, layers: [conv, conv], names: ["a", "a"]), "two layers with tensors are both named 'a'"),
            (Architecture(inputShape: image, layers: [conv, conv], names: ["a", "a.b"]), "'a' has tensors and also contains the layer 'a.b'"),
            (Architecture(inputShape: image, layers: [conv, .relu], names: ["a"]), "1 names for 2 layers"),
            (Architecture(inputShape: image, layers: [conv, .relu], names: ["a", "b..c"]), "non-empty dot-separated parts"),
            (Architecture(inputShape: image, layers: [conv, .relu], names: ["a", "b-c"]), "the name 'b-c'"),
            (Architecture(inputShape: image, layers: [conv, .relu], names: ["a", ""]), "a name of 0 bytes"),
            (Architecture(inputShape: image, layers: [conv, .relu], names: ["a", String(repeating: "x", count: 257)]), "a name of 257 bytes"),
        ]
    }()

    @Test func invalidGraphsNamesAndLayersAreRefusedInOneLine() {
        for (network, fragment) in Self.invalid {
            do {
                _ = try network.parameterTensors()
                Issue.record("accepted: \(network.layerSummary) (\(fragment))")
            } catch {
                #expect(error.description.hasPrefix("invalid architecture: "))
                #expect(error.description.contains(fragment), "\(error.description)")
                #expect(!error.description.contains("\n"))
            }
        }
        // Activation-free layers may share names; the ones with tensors may not.
        let shared = Architecture(inputShape: [2, 8, 8], layers: [.relu, .relu, .flatten, .dense(units: 2)], names: ["act", "act", "act", "fc"])
        #expect(throws: Never.self) { try shared.parameterTensors() }
    }

    static func model(_ architecture: Architecture, buffers: [Float] = [], batches: UInt64 = 0) -> IdzModel {
        IdzModel(
            architecture: architecture, theta0Seed: 1,
            projection: ProjectionSpec(kind: .sparse, seed: 2, dimension: 3),
            theta: .float32([0.5, -0.25, 1]), weightsSHA256: Array(repeating: 0, count: 32),
            buffers: buffers, batchesTracked: batches)
    }

    @Test func version3ModelsRoundTripAndVersion1ModelsStayVersion1() throws {
        let network = Self.residualBlock()
        var buffers = try network.initialBuffers()
        buffers[3] = 0.5
        let model = Self.model(network, buffers: buffers, batches: 12)
        #expect(model.needsVersion3)
        let decoded = try IdzFile.decode(try IdzFile.encode(model))
        #expect(decoded == model && decoded.buffers == buffers && decoded.batchesTracked == 12)
        // The compact layout does not hold the version 3 features: one line.
        #expect {
            _ = try IdzFile.encode(model, profile: .compact)
        } throws: { error in
            guard let error = error as? IdzError else { return false }
            return !error.message.contains("\n")
        }
        // A version 1 model is written as before and reads back equal, buffers empty.
        let v1 = Self.model(.leNet())
        #expect(!v1.needsVersion3)
        let bytes = try IdzFile.encode(v1)
        #expect(try IdzFile.container(of: bytes).version == 1)
        let plain = try IdzFile.decode(bytes)
        #expect(plain == v1 && plain.buffers.isEmpty && plain.batchesTracked == 0)
    }

    @Test func buffersMustFitTheArchitecture() throws {
        let network = Self.residualBlock()
        let buffers = try network.initialBuffers()
        var negativeVariance = buffers
        negativeVariance[5] = -1
        var notFinite = buffers
        notFinite[9] = .nan
        let cases: [(IdzModel, String)] = [
            (Self.model(network, buffers: Array(buffers.dropLast())), "55 buffer values, but the batch-norm layers need 56"),
            (Self.model(.leNet(), buffers: [], batches: 3), "3 batches tracked, but the network has no batch normalisation"),
            (Self.model(.leNet(), buffers: [1]), "1 buffer values, but the batch-norm layers need 0"),
            (Self.model(network, buffers: negativeVariance), "bn1.running_var entry 1 is -1.0"),
            (Self.model(network, buffers: notFinite), "layer1.0.bn1.running_mean entry 1 is nan"),
        ]
        for (model, fragment) in cases {
            #expect {
                _ = try IdzFile.encode(model)
            } throws: { error in
                guard let error = error as? IdzError else { return false }
                return error.kind == .invalidValue && error.message.contains(fragment)
            }
        }
    }

    @Test func descriptionListsSourcesNamesAndSettings() throws {
        let network = Self.residualBlock()
        let model = Self.model(network, buffers: try network.initialBuffers())
        let description = try ModelDescription(model: model, path: "x.idz", fileBytes: 100)
        #expect(description.layers[0].name == "conv1" && description.layers[0].stride == 1 && description.layers[0].pad == 1)
        #expect(description.layers[0].bias == false && description.layers[0].source == nil)
        #expect(description.layers[8].source == 2 && description.layers[8].stride == 2)
        #expect(description.layers[10].other == 7)
        #expect(description.layers[1].epsilon == 1e-5 && description.layers[1].momentum == 0.1)
        #expect(description.tensors[1].`init` == "ones")
    }
}
