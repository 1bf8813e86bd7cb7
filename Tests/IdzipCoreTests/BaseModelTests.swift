import Foundation
import IdzipCore
import Testing

/// Format version 3, sections 6 and 7 (Formats/idz-v3.md): models fine-tuned from a base
/// and per-tensor modes and scales (SAID), written, read, expanded and refused.
struct BaseModelTests {
    static let architecture = Architecture.leNet(inputShape: [1, 28, 28])

    /// A LeNet model in a Fastfood subspace of d = 300.
    static func model(d: Int = 300) -> IdzModel {
        let values = (0..<d).map { Float(($0 * 7919) % 2001 - 1000) / 9770 }
        return IdzModel(
            architecture: architecture, theta0Seed: 7, projection: ProjectionSpec(kind: .fastfood, seed: 8, dimension: d),
            theta: .float32(values), weightsSHA256: [UInt8](repeating: 0, count: 32))
    }

    /// A base: deterministic weights of LeNet (D = 44,426).
    static func base(shift: Float = 0) -> BaseWeights {
        let count = (try? architecture.parameterCount()) ?? 0
        return BaseWeights(values: (0..<count).map { Float(($0 * 104_729) % 1999 - 999) / 7000 + shift })
    }

    static func fineTuned(_ base: BaseWeights, modes: TensorModes? = nil) throws -> IdzModel {
        var model = model()
        model.theta0Seed = 0
        model.base = BaseReference(weights: base, locator: "lenet-mnist.safetensors")
        model.tensorModes = modes
        model.weightsSHA256 = try ModelExpansion.digest(of: model)
        return model
    }

    /// Scales on the 5 weight tensors; biases direct (from the base + 0.5), one frozen weight.
    static func saidModes(base: BaseWeights) throws -> TensorModes {
        let tensors = try architecture.parameterTensors()
        let modes: [TensorMode] = tensors.map { $0.name.hasSuffix(".bias") ? .direct : .subspace }
        var chosen = modes
        chosen[2] = .frozen  // layers.3.weight
        var direct: [Float] = []
        for (tensor, mode) in zip(tensors, chosen) where mode == .direct { direct += base.values[tensor.range].map { $0 + 0.5 } }
        let scales: [Float] = [1.5, 0.75, -2, 1]
        return TensorModes(modes: chosen, scales: scales, directValues: direct)
    }

    @Test func onlyTheNewFeaturesWriteVersion3() throws {
        let plain = Self.model()
        #expect(try IdzFile.container(of: IdzFile.encode(plain)).version == 1)
        let fineTuned = try Self.fineTuned(Self.base())
        let bytes = try IdzFile.encode(fineTuned)
        #expect(Array(bytes[8..<13]) == [3, 0, 0, 0, 0])  // version 3, standard layout byte 0
        let container = try IdzFile.container(of: bytes)
        #expect(container.version == 3 && container.layout == .standard && container.bodyCoding == "zlib")
        var modesOnly = Self.model()
        modesOnly.tensorModes = TensorModes(modes: [TensorMode](repeating: .subspace, count: 10), scales: [Float](repeating: 1, count: 10))
        #expect(try IdzFile.container(of: IdzFile.encode(modesOnly)).version == 3)
    }

    @Test func roundTripKeepsBaseModesScalesAndDirectValues() throws {
        let base = Self.base()
        let model = try Self.fineTuned(base, modes: Self.saidModes(base: base))
        let bytes = try IdzFile.encode(model)
        let decoded = try IdzFile.decode(bytes)
        #expect(decoded == model)
        #expect(decoded.base?.weights == nil)  // the file holds the digest only
        #expect(decoded.base?.sha256 == base.sha256)
        #expect(decoded.base?.locator == "lenet-mnist.safetensors")
        #expect(try IdzFile.encode(decoded) == bytes)
    }

    @Test func theCompactLayoutRefusesWithOneLine() throws {
        let model = try Self.fineTuned(Self.base())
        #expect(throws: IdzError(.invalidValue, "the compact layout cannot hold a base or tensor modes; write the standard layout")) {
            try IdzFile.encode(model, profile: .compact)
        }
    }

    /// Section 7's table, value by value: y = P theta_d comes from the same model expanded
    /// on a zero base (0 + y = y exactly).
    @Test func expansionFollowsTheModesAndScalesBitForBit() throws {
        let base = Self.base()
        let modes = try Self.saidModes(base: base)
        let zero = BaseWeights(values: [Float](repeating: 0, count: base.values.count))
        let y = try ModelExpansion.expander(for: Self.fineTuned(zero)).expandAll()
        let model = try Self.fineTuned(base, modes: modes)
        let theta = try ModelExpansion.weights(of: model)
        let tensors = try Self.architecture.parameterTensors()
        var scaleIndex = 0, directIndex = 0
        var expected = [Float](repeating: 0, count: theta.count)
        for (tensor, mode) in zip(tensors, modes.modes) {
            switch mode {
            case .subspace:
                let scale = modes.scales![scaleIndex]
                scaleIndex += 1
                for i in tensor.range {
                    let scaled: Float = scale * y[i]
                    expected[i] = base.values[i] + scaled
                }
            case .direct:
                for i in tensor.range {
                    expected[i] = modes.directValues[directIndex]
                    directIndex += 1
                }
            case .frozen:
                for i in tensor.range { expected[i] = base.values[i] }
            }
        }
        #expect(theta.map(\.bitPattern) == expected.map(\.bitPattern))
        // A scale of exactly 1 gives the bits of no scale.
        var ones = modes
        ones.scales = [Float](repeating: 1, count: modes.subspaceCount)
        var none = modes
        none.scales = nil
        #expect(try ModelExpansion.weights(of: Self.fineTuned(base, modes: ones)) == ModelExpansion.weights(of: Self.fineTuned(base, modes: none)))
        // Threads and chunking do not change the bits.
        var expander = try ModelExpansion.expander(for: model, threads: 1)
        expander.chunkSize = 4096
        #expect(expander.expandAll().map(\.bitPattern) == theta.map(\.bitPattern))
    }

    @Test func aMissingOrWrongBaseIsRefusedNamingBothDigests() throws {
        let base = Self.base()
        var decoded = try IdzFile.decode(IdzFile.encode(Self.fineTuned(base)))
        #expect(throws: ExpansionError.self) { try ModelExpansion.weights(of: decoded) }
        do {
            _ = try ModelExpansion.weights(of: decoded)
        } catch {
            #expect(error.description.hasPrefix("the model is fine-tuned from a base (sha256 \(hexString(base.sha256)) (lenet-mnist.safetensors))"))
        }
        let other = Self.base(shift: 1e-3)
        let error = try #require(throws: BaseError.self) { try decoded.attachBase(other) }
        #expect(error.description == "wrong base: the model was fine-tuned from sha256 \(hexString(base.sha256)), the base given has sha256 \(hexString(other.sha256))")
        #expect(!error.description.contains("\n"))
        try decoded.attachBase(base)
        #expect(try ModelExpansion.weights(of: decoded).count == base.values.count)
        var plain = Self.model()
        #expect(throws: BaseError.self) { try plain.attachBase(base) }
    }

    /// The base digest is of the tensors: safetensors, .npy and .idz holding the same
    /// weights give the same digest; hostile base files are refused with one line.
    @Test func baseFilesOfAnyContainerGiveTheSameDigest() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("idzip-base-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let base = Self.base()
        let safetensors = directory.appendingPathComponent("base.safetensors")
        try SafetensorsWriter.write(base.values, architecture: Self.architecture, metadata: [(SafetensorsWriter.architectureKey, "")], to: safetensors)
        let read = try BaseFile.read(contentsOf: safetensors)
        #expect(read.architecture == Self.architecture)
        #expect(read.weights.sha256 == base.sha256)

        let npy = directory.appendingPathComponent("base.npy")
        var bytes = NpyHeader.encode(float32Count: base.values.count)
        for value in base.values { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 } }
        try Data(bytes).write(to: npy)
        #expect(try BaseFile.read(contentsOf: npy, architecture: Self.architecture).weights.sha256 == base.sha256)
        #expect(throws: BaseError.self) { try BaseFile.read(contentsOf: npy) }  // no sidecar, no --model

        // A directly trained base stored as .idz (identity projection).
        let theta0 = InitialWeights.make(tensors: try Self.architecture.parameterTensors(), seed: 3)
        var identity = IdzModel(
            architecture: Self.architecture, theta0Seed: 3, projection: ProjectionSpec(kind: .identity, seed: 0, dimension: base.values.count),
            theta: .float32(zip(base.values, theta0).map { $0 - $1 }), weightsSHA256: [UInt8](repeating: 0, count: 32))
        identity.weightsSHA256 = try ModelExpansion.digest(of: identity)
        let idz = directory.appendingPathComponent("base.idz")
        try IdzFile.write(identity, to: idz)
        let fromIdz = try BaseFile.read(contentsOf: idz)
        #expect(try fromIdz.weights.values == ModelExpansion.weights(of: identity))

        // Hostile: a NaN, the wrong architecture, an unknown format.
        var poisoned = base.values
        poisoned[77] = .nan
        let nan = directory.appendingPathComponent("nan.safetensors")
        try SafetensorsWriter.write(poisoned, architecture: Self.architecture, metadata: [(SafetensorsWriter.architectureKey, "")], to: nan)
        let error = try #require(throws: BaseError.self) { try BaseFile.read(contentsOf: nan) }
        #expect(error.description.hasSuffix("weight 77 is nan; a base must be finite"))
        #expect(throws: BaseError.self) { try BaseFile.read(contentsOf: safetensors, architecture: .fullyConnected(inputShape: [784], widths: [10])) }
        let text = directory.appendingPathComponent("base.txt")
        try Data("hello".utf8).write(to: text)
        #expect(throws: BaseError.self) { try BaseFile.read(contentsOf: text) }
    }
}
