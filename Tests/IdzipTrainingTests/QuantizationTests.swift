import Foundation
import IdzipCore
@testable import IdzipTraining
import Testing

@Suite(.serialized) struct QuantizationTests {
    static let mnist: DatasetPair? = {
        guard let pair = try? DatasetCatalog.load("mnist") else { return nil }
        return try? DatasetPair(name: "mnist-tiny", train: pair.train.subset(Array(0..<600)), test: pair.test.subset(Array(0..<300)))
    }()

    static let network = Architecture.fullyConnected(inputShape: [1, 28, 28], widths: [16, 10])

    /// Values drawn from Philox, so the tests need no fixture.
    static func values(_ count: Int, seed: UInt64) -> [Float] {
        let stream = RandomStream(seed: seed, purpose: .exampleOrder, substream: 77)
        return (0..<count).map { stream.uniformFloat(UInt64($0)) * 4 - 2 }
    }

    // MARK: k-means and the codebook

    @Test func kMeansFindsSeparatedClusters() {
        let values: [Float] = [0, 0.1, -0.1, 5, 5.2, 4.8, -3, -3.1, -2.9]
        let codebook = KMeans(levels: 3).fit(values)
        #expect(codebook.levels.count == 3)
        #expect(zip(codebook.levels, [-3, 0, 5] as [Float]).allSatisfy { abs($0 - $1) < 1e-5 })
        #expect(codebook.symbols == [1, 1, 1, 2, 2, 2, 0, 0, 0])
    }

    @Test func kMeansIsDeterministicAndSorted() {
        let values = Self.values(5000, seed: 3)
        let first = KMeans(levels: 16).fit(values)
        let second = KMeans(levels: 16).fit(values)
        #expect(first == second)
        #expect(first.levels == first.levels.sorted())
        // Every value sits at its nearest level, and every level is the mean of its values
        // (the fixed point Lloyd's algorithm stops at).
        for (value, symbol) in zip(values, first.symbols) {
            let distance = abs(value - first.levels[Int(symbol)])
            #expect(first.levels.allSatisfy { abs(value - $0) >= distance })
        }
        // Quantisation error well below the spread: 16 levels over a width of 4.
        let error = zip(values, first.values).map { Double($0 - $1) * Double($0 - $1) }.reduce(0, +) / Double(values.count)
        #expect(error < 0.01, "mean squared error \(error)")
    }

    @Test func nearestMatchesAScanAndBreaksTiesLow() {
        let levels: [Float] = [-1, 0, 0.5, 2]
        levels.withUnsafeBufferPointer { buffer in
            for value in Self.values(2000, seed: 9) + [-5, 5, 1.25, -0.5, 0.25] {
                let scan = levels.indices.min { (abs(value - levels[$0]), $0) < (abs(value - levels[$1]), $1) }!
                #expect(Codebook.nearest(value, in: buffer) == scan, "value \(value)")
            }
            #expect(Codebook.nearest(.nan, in: buffer) == 0)
        }
    }

    @Test func entropyOfTheSymbols() {
        let uniform = Codebook(levels: [0, 1, 2, 3], symbols: (0..<400).map { UInt16($0 % 4) })
        #expect(abs(uniform.entropyBits - 800) < 1e-9)
        let constant = Codebook(levels: [0, 1], symbols: [UInt16](repeating: 1, count: 50))
        #expect(constant.entropyBits == 0)
        #expect(constant.counts == [0, 50])
    }

    // MARK: Training with a codebook

    @Test func fineTunedLevelsMoveAlongTheSummedGradient() {
        let settings = QuantizationSettings(levels: 2, method: .fineTuned, levelRateFactor: 0.5)
        let quantizer = CodebookQuantizer(settings: settings, optimizer: .sgd(momentum: 0, nesterov: false))
        var latent: [Float] = [-1, -1.2, 1, 1.1]
        quantizer.fit(latent)
        let before = quantizer.codebook!.levels
        let latentBefore = latent
        let gradient: [Float] = [0.5, 0.25, -1, 2]
        latent.withUnsafeMutableBufferPointer { latent in
            gradient.withUnsafeBufferPointer { gradient in
                quantizer.batchDone(latent: latent, gradient: gradient, learningRate: 0.1)
            }
        }
        // level_k -= lr * factor * sum of the gradient over the coordinates using k.
        let after = quantizer.codebook!.levels
        #expect(abs(after[0] - (before[0] - 0.05 * 0.75)) < 1e-6)
        #expect(abs(after[1] - (before[1] - 0.05 * 1)) < 1e-6)
        #expect(quantizer.quantized == [after[0], after[0], after[1], after[1]])
        // Each latent moved with its level.
        let shift = [after[0] - before[0], after[0] - before[0], after[1] - before[1], after[1] - before[1]]
        #expect(zip(latent, zip(latentBefore, shift)).allSatisfy { $0 == $1.0 + $1.1 })
    }

    /// The straight-through estimator: once the codebook is active, one SGD step moves the
    /// latent theta_d by -lr times the gradient taken at the quantised theta_d, which a plain
    /// trainer started at the quantised values computes.
    @Test func straightThroughStepIsTheGradientAtTheQuantisedPoint() throws {
        let data = try #require(Self.mnist)
        let plan = try NetworkPlan(Self.network)
        let projection = MatrixProjection(rows: plan.parameterCount, columns: 40, seed: 5)
        let configuration = TrainingConfiguration(
            epochs: 2, batchSize: 600, optimizer: .sgd(momentum: 0, nesterov: false), learningRate: 0.5, seed: 2, threads: 1,
            evaluateEveryEpoch: false)
        let trainer = try Trainer(architecture: Self.network, theta0Seed: 3, space: .subspace(projection), configuration: configuration)
        trainer.quantizer = CodebookQuantizer(settings: QuantizationSettings(levels: 4, method: .ste, warmupEpochs: 1), optimizer: configuration.optimizer)
        var latentAfterWarmup: [Float] = []
        var quantizedAfterWarmup: [Float] = []
        try trainer.train(on: data, onEpoch: { report in
            if report.epoch == 0 {
                latentAfterWarmup = trainer.parameters
                quantizedAfterWarmup = trainer.quantizer!.quantized
            }
            return .proceed
        })
        #expect(quantizedAfterWarmup.count == 40)
        #expect(Set(quantizedAfterWarmup).count <= 4)
        // The reference: one full-batch step of plain training from the quantised values.
        var single = configuration
        single.epochs = 1
        let reference = try Trainer(architecture: Self.network, theta0Seed: 3, space: .subspace(projection), configuration: single)
        try reference.restore(TrainingCheckpoint(
            epochsCompleted: 0, spaceName: "subspace-dense", parameterCount: plan.parameterCount, parameters: quantizedAfterWarmup,
            optimizerName: "sgd", optimizer: OptimizerState(step: 0, slots: [[Float](repeating: 0, count: 40)])))
        try reference.train(on: data)
        for i in 0..<40 {
            let steLatent = trainer.parameters[i] - latentAfterWarmup[i]
            let plain = reference.parameters[i] - quantizedAfterWarmup[i]
            #expect(abs(steLatent - plain) <= 1e-5 + 1e-3 * abs(plain), "coordinate \(i): \(steLatent) vs \(plain)")
        }
        // The network now runs at levels[symbols], each symbol the level nearest its latent.
        let codebook = try #require(trainer.quantizer?.codebook)
        #expect(codebook.symbols == Codebook.assign(trainer.parameters, to: codebook.levels))
        #expect(trainer.effectiveParameters == codebook.values)
    }

    @Test(arguments: [QuantizationMethod.ste, .fineTuned, .postTraining])
    func quantisedTrainingIsTheSameWhateverTheThreads(method: QuantizationMethod) throws {
        let data = try #require(Self.mnist)
        func run(threads: Int) throws -> ([Float], Codebook?) {
            let plan = try NetworkPlan(Self.network)
            let projection = trainingProjection(kind: .fastfood, rowCount: plan.parameterCount, columnCount: 64, seed: 7, threads: threads)
            var configuration = TrainingConfiguration.recommendedSubspace(epochs: 3, seed: 4)
            configuration.threads = threads
            configuration.batchSize = 50
            let trainer = try Trainer(architecture: Self.network, theta0Seed: 7, space: .subspace(projection), configuration: configuration)
            trainer.quantizer = CodebookQuantizer(settings: QuantizationSettings(levels: 8, method: method), optimizer: configuration.optimizer)
            try trainer.train(on: data)
            return (trainer.parameters, trainer.quantizer?.codebook)
        }
        let (latent1, codebook1) = try run(threads: 1)
        let (latent2, codebook2) = try run(threads: 2)
        #expect(latent1 == latent2)
        #expect(codebook1 == codebook2)
        #expect(codebook1?.levels.count == 8)
    }

    @Test func aQuantisedRunWritesACodebookModelThatEvaluatesAsRecorded() throws {
        let data = try #require(Self.mnist)
        let selected = SelectedData(
            selection: DataSelection(name: "mnist-tiny", variant: DatasetVariant()), pair: data)
        let spec = TrainingRunSpec(
            model: "fc:784-16-10", architecture: Self.network, dimension: 64, seed: 5,
            configuration: { var c = TrainingConfiguration.recommendedSubspace(epochs: 2, seed: 5); c.threads = 2; return c }(),
            quantization: QuantizationSettings(levels: 4, method: .ste))
        let run = try TrainingRun(spec: spec, problem: .dataset(selected))
        try run.train()
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("quantised-\(getpid()).idz")
        defer { try? FileManager.default.removeItem(at: url) }
        let sealed = try run.seal(to: url)
        let model = try IdzFile.read(contentsOf: url)
        let codebook = try #require(run.codebook)
        #expect(model.theta.decoded() == codebook.values)
        let weights = try ModelExpansion.expander(for: model, threads: 1).expandAll()
        let predictor = try Predictor(architecture: Self.network, theta: weights, preprocessing: model.preprocessing, threads: 1)
        #expect(try predictor.evaluate(raw: data.test).accuracy == sealed.test?.accuracy)
    }

    @Test func settingsAreChecked() {
        #expect(throws: TrainingError.self) { try QuantizationSettings(levels: 0, method: .ste).validate() }
        #expect(throws: TrainingError.self) { try QuantizationSettings(levels: 5000, method: .ste).validate() }
        #expect(throws: TrainingError.self) { try QuantizationSettings(levels: 4, method: .ste, warmupEpochs: 0).validate() }
        #expect(QuantizationSettings(levels: 4, method: .postTraining).fitEpoch(totalEpochs: 5) == 5)
        #expect(QuantizationSettings(levels: 4, method: .ste).fitEpoch(totalEpochs: 5) == 3)
        #expect(QuantizationSettings(levels: 4, method: .ste, warmupEpochs: 9).fitEpoch(totalEpochs: 5) == 5)
    }
}
