import Foundation
import IdzipCore
import IdzipTraining
import Testing

/// Fine-tuning from a base and structure-aware subspaces (issue 13; Formats/idz-v3.md
/// sections 6 and 7): the gradient of theta_d, the scales and the direct values, the rules
/// that pick modes, and a run that writes a base-relative file which expands to the
/// weights it was measured on.
struct FineTuningTests {
    static let architecture = Architecture(inputShape: [4], layers: [.dense(units: 3), .relu, .dense(units: 2)])

    @Test func modeRulesMatchNamesAndLastSegments() throws {
        let tensors = try Self.architecture.parameterTensors()  // layers.0.weight [3,4], .bias [3], layers.2.weight [2,3], .bias [2]
        #expect(TensorModeRule(text: "bias=direct") == TensorModeRule(pattern: "bias", mode: .direct))
        #expect(TensorModeRule(text: "bias=sideways") == nil)
        #expect(TensorModeRule(text: "=direct") == nil)
        let rules = ["bias=direct", "layers.2.*=frozen", "layers.2.bias=subspace"].compactMap(TensorModeRule.init(text:))
        #expect(TensorStructureSettings(rules: rules).modes(for: tensors) == [.subspace, .direct, .frozen, .subspace])
        #expect(TensorStructureSettings(directSmall: 6).modes(for: tensors) == [.subspace, .direct, .direct, .direct])
        #expect(TensorStructureSettings(rules: [TensorModeRule(pattern: "layers.?.weight", mode: .frozen)]).modes(for: tensors)
            == [.frozen, .subspace, .frozen, .subspace])
        #expect(TensorStructureSettings().isPlain && !TensorStructureSettings(scales: true).isPlain)
    }

    /// One full-batch SGD step moves every trained number (theta_d, the scales, the direct
    /// values) by -rate x its gradient, checked by finite differences of the loss of
    /// theta(v) computed by section 7's table in float64.
    @Test func structuredStepFollowsTheGradient() throws {
        let architecture = Self.architecture
        let plan = try NetworkPlan(architecture)
        let d = 4
        let projection = MatrixProjection(rows: plan.parameterCount, columns: d, seed: 8)
        let count = 6
        let features = TestData.uniform(count * 4, seed: 12)
        let labels = TestData.labels(count, classes: 2, seed: 13)
        let set = try Dataset(features: .floats(features), exampleShape: [4], labels: labels, classNames: ["a", "b"])
        let data = try DatasetPair(name: "six", train: set, test: set)
        let (lr, scaleRate, directRate): (Float, Float, Float) = (0.1, 0.05, 0.02)
        let configuration = TrainingConfiguration(
            epochs: 1, batchSize: count, optimizer: .sgd(momentum: 0, nesterov: false), learningRate: lr, threads: 2)
        let theta0 = try TestData.theta(architecture, seed: 14)
        let trainer = try Trainer(architecture: architecture, theta0: theta0, space: .subspace(projection), configuration: configuration)
        let settings = TensorStructureSettings(
            rules: [TensorModeRule(pattern: "layers.0.bias", mode: .direct), TensorModeRule(pattern: "layers.2.bias", mode: .frozen)],
            scales: true, scaleLearningRate: scaleRate, directLearningRate: directRate)
        let tensors = try architecture.parameterTensors()
        let structure = StructuredSubspace(tensors: tensors, dimension: d, settings: settings)
        try trainer.useStructure(structure)
        #expect(structure.trainedCount == d + 2 + 3)
        let start = trainer.parameters
        #expect(start[0..<d].allSatisfy { $0 == 0 } && start[d..<(d + 2)].allSatisfy { $0 == 1 })
        #expect(Array(start[(d + 2)...]) == Array(theta0[tensors[1].range]))
        try trainer.train(on: data)

        let rows = (0..<count).map { row in features[(row * 4)..<((row + 1) * 4)].map(Double.init) }
        func objective(_ v: [Double]) throws -> Double {
            var theta = theta0.map(Double.init)
            let y = (0..<plan.parameterCount).map { row in (0..<d).reduce(0.0) { $0 + Double(projection.matrix[row * d + $1]) * v[$1] } }
            for i in tensors[0].range { theta[i] += v[d] * y[i] }  // subspace, scale 0
            for (k, i) in tensors[1].range.enumerated() { theta[i] = v[d + 2 + k] }  // direct
            for i in tensors[2].range { theta[i] += v[d + 1] * y[i] }  // subspace, scale 1
            return try ReferenceNetwork.loss(architecture, theta: theta, inputs: rows, labels: labels.map(Int.init))
        }
        let initial = start.map(Double.init)
        for j in 0..<structure.trainedCount {
            var plus = initial, minus = initial
            plus[j] += 1e-4
            minus[j] -= 1e-4
            let gradient = (try objective(plus) - objective(minus)) / 2e-4
            let rate = Double(j < d ? lr : j < d + 2 ? scaleRate : directRate)
            let moved = Double(trainer.parameters[j]) - initial[j]
            #expect(abs(moved + rate * gradient) < 2e-5, "number \(j): moved \(moved), expected \(-rate * gradient)")
        }
        // The frozen tensor stays at theta0, the direct one is the trained values.
        let theta = trainer.theta()
        #expect(Array(theta[tensors[3].range]) == Array(theta0[tensors[3].range]))
        #expect(Array(theta[tensors[1].range]) == Array(trainer.parameters[(d + 2)...]))
    }

    /// A run fine-tuned from a base writes a version 3 file that records the base's digest
    /// and its modes; with the base attached it expands to the weights the run measured.
    @Test func aFineTunedRunWritesABaseRelativeFile() throws {
        let architecture = Self.architecture
        let features = TestData.uniform(64 * 4, seed: 31)
        let labels = (0..<64).map { Int32(features[$0 * 4] + features[$0 * 4 + 1] > 0 ? 1 : 0) }
        let set = try Dataset(features: .floats(features), exampleShape: [4], labels: labels, classNames: ["a", "b"])
        let data = SelectedData(selection: DataSelection(name: "synthetic"), pair: try DatasetPair(name: "synthetic", train: set, test: set))
        let base = BaseWeights(values: try TestData.theta(architecture, seed: 41))
        var configuration = try TrainingOverrides(epochs: 3, seed: 5, threads: 2).configuration(base: .recommendedSubspace())
        configuration.batchSize = 16
        var spec = TrainingRunSpec(model: "fc:4-3-2", architecture: architecture, dimension: 6, projection: .dense, seed: 5, configuration: configuration)
        spec.base = base
        spec.baseLocator = "synthetic-base"
        spec.tensorStructure = TensorStructureSettings(rules: [TensorModeRule(pattern: "bias", mode: .direct)], scales: true)
        #expect(spec.storedNumberCount() == 6 + 2 + 5)
        let run = try TrainingRun(spec: spec, problem: .dataset(data))
        try run.train()
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("idzip-finetune-\(UUID().uuidString).idz")
        defer { try? FileManager.default.removeItem(at: url) }
        let sealed = try run.seal(to: url)
        let (read, container) = try IdzFile.readWithContainer(contentsOf: url)
        #expect(container.version == 3)
        #expect(read.theta0Seed == 0)
        #expect(read.base == BaseReference(sha256: base.sha256, locator: "synthetic-base"))
        #expect(read.tensorModes?.modes == [.subspace, .direct, .subspace, .direct])
        #expect(read.tensorModes?.scales?.count == 2 && read.tensorModes?.directValues.count == 5)
        #expect(throws: ExpansionError.self) { try ModelExpansion.weights(of: read) }
        var attached = read
        try attached.attachBase(base)
        let theta = try ModelExpansion.weights(of: attached)
        let predictor = try Predictor(architecture: architecture, theta: theta, preprocessing: read.preprocessing, threads: 1)
        #expect(try predictor.evaluate(raw: set).accuracy == sealed.test?.accuracy)
        // Without a base and without modes the run writes version 1, as before.
        let plainSpec = TrainingRunSpec(model: "fc:4-3-2", architecture: architecture, dimension: 6, projection: .dense, seed: 5, configuration: configuration)
        let plainRun = try TrainingRun(spec: plainSpec, problem: .dataset(data))
        try plainRun.train()
        _ = try plainRun.seal(to: url)
        #expect(try IdzFile.readWithContainer(contentsOf: url).container.version == 1)
    }
}
