import Foundation
import IdzipCore
import IdzipTraining
import Testing

@Suite(.serialized) struct TrainerTests {
    /// A small MNIST subset, loaded once.
    static let mnist: DatasetPair? = {
        guard let pair = try? DatasetCatalog.load("mnist") else { return nil }
        return try? DatasetPair(name: "mnist-small", train: pair.train.subset(Array(0..<3000)), test: pair.test.subset(Array(0..<1000)))
    }()

    static let smallNetwork = Architecture.fullyConnected(inputShape: [1, 28, 28], widths: [32, 10])

    @Test func learnsMNISTWellAboveChance() throws {
        let data = try #require(Self.mnist)
        let configuration = TrainingConfiguration(epochs: 3, batchSize: 64, seed: 1, threads: 2)
        let trainer = try Trainer(architecture: Self.smallNetwork, theta0Seed: 1, space: .direct, configuration: configuration)
        var batches = 0
        let reports = try trainer.train(on: data, onBatch: { _ in batches += 1 })
        #expect(batches == 3 * 47)
        #expect(reports.count == 3)
        let accuracy = try #require(reports.last?.test?.accuracy)
        #expect(accuracy > 0.8)
        #expect(reports[2].trainLoss < reports[0].trainLoss)
        // The deployment path gives the same evaluation as the trainer.
        let predictor = try Predictor(architecture: Self.smallNetwork, theta: trainer.theta(), batchSize: 500, threads: 2)
        #expect(try predictor.evaluate(data.test) == reports.last?.test)
    }

    @Test func learnsInASubspace() throws {
        let data = try #require(Self.mnist)
        let plan = try NetworkPlan(Self.smallNetwork)
        let projection = MatrixProjection(rows: plan.parameterCount, columns: 100, seed: 5)
        let configuration = TrainingConfiguration(epochs: 3, batchSize: 50, learningRate: 0.1, seed: 2, threads: 2)
        let trainer = try Trainer(architecture: Self.smallNetwork, theta0Seed: 3, space: .subspace(projection), configuration: configuration)
        let reports = try trainer.train(on: data)
        #expect(trainer.parameters.count == 100)
        #expect(try #require(reports.last?.test?.accuracy) > 0.3)
        // theta = theta0 + P theta_d.
        let theta = trainer.theta()
        var expected = [Float](repeating: 0, count: plan.parameterCount)
        trainer.parameters.withUnsafeBufferPointer { v in
            expected.withUnsafeMutableBufferPointer { projection.project(v, rows: 0..<plan.parameterCount, into: $0) }
        }
        #expect(zip(theta, zip(expected, trainer.theta0)).allSatisfy { $0 == $1.0 + $1.1 })
    }

    /// The recommended subspace settings, 240 steps with a Fastfood projection (d = 500 of
    /// 25,450 parameters): 79.4% test accuracy when written, 10% is chance.
    @Test func recommendedSubspaceSettingsLearnMNIST() throws {
        let data = try #require(Self.mnist)
        let plan = try NetworkPlan(Self.smallNetwork)
        let projection = trainingProjection(kind: .fastfood, rowCount: plan.parameterCount, columnCount: 500, seed: 7, threads: 2)
        var configuration = TrainingConfiguration.recommendedSubspace(epochs: 10, seed: 3)
        configuration.threads = 2
        configuration.evaluateEveryEpoch = false
        let trainer = try Trainer(architecture: Self.smallNetwork, theta0Seed: 7, space: .subspace(projection), configuration: configuration)
        var batches = 0
        let reports = try trainer.train(on: data, onBatch: { _ in batches += 1 })
        #expect(batches == 10 * 24)
        #expect(trainer.parameters.count == 500)
        let accuracy = try #require(reports.last?.test?.accuracy)
        #expect(accuracy > 0.65, "test accuracy \(accuracy)")
        #expect(reports.last!.trainLoss < reports[0].trainLoss)
    }

    @Test func sameSeedSameBitsWhateverTheThreads() throws {
        let data = try #require(Self.mnist)
        func run(threads: Int) throws -> ([Float], [EpochReport]) {
            let configuration = TrainingConfiguration(epochs: 2, batchSize: 100, l2: 1e-4, seed: 9, threads: threads, pieceSize: 32)
            let trainer = try Trainer(architecture: .leNet(), theta0Seed: 4, space: .direct, configuration: configuration)
            let smaller = try DatasetPair(name: "tiny", train: data.train.subset(Array(0..<400)), test: data.test.subset(Array(0..<200)))
            let reports = try trainer.train(on: smaller)
            return (trainer.parameters, reports)
        }
        let (first, firstReports) = try run(threads: 2)
        let (second, secondReports) = try run(threads: 2)
        let (single, _) = try run(threads: 1)
        #expect(first == second)
        #expect(first == single)
        #expect(firstReports.map(\.trainLoss) == secondReports.map(\.trainLoss))
        #expect(firstReports.map { $0.test?.lossSum } == secondReports.map { $0.test?.lossSum })
        #expect(firstReports[0].penalty > 0)
    }

    /// Subspace training with the cached dense matrix (and the other projections) gives
    /// the same theta_d and losses for 1, 2 and 3 threads.
    @Test(arguments: [ProjectionKind.dense, .sparse, .fastfood])
    func subspaceSameBitsWhateverTheThreads(kind: ProjectionKind) throws {
        let data = try #require(Self.mnist)
        let smaller = try DatasetPair(name: "tiny", train: data.train.subset(Array(0..<300)), test: data.test.subset(Array(0..<100)))
        let plan = try NetworkPlan(Self.smallNetwork)
        func run(threads: Int) throws -> ([Float], [Double]) {
            let projection = trainingProjection(kind: kind, rowCount: plan.parameterCount, columnCount: 61, seed: 5, threads: threads)
            if kind == .dense { #expect(projection is MaterializedProjection) }
            if kind == .sparse { #expect(projection is SparseRowsProjection) }
            let configuration = TrainingConfiguration(epochs: 2, batchSize: 50, seed: 9, threads: threads)
            let trainer = try Trainer(
                architecture: Self.smallNetwork, theta0Seed: 4, space: .subspace(projection), configuration: configuration)
            let reports = try trainer.train(on: smaller)
            return (trainer.parameters, reports.map { Double($0.trainLoss) })
        }
        let two = try run(threads: 2)
        let one = try run(threads: 1)
        let three = try run(threads: 3)
        #expect(two.0.map(\.bitPattern) == one.0.map(\.bitPattern))
        #expect(two.0.map(\.bitPattern) == three.0.map(\.bitPattern))
        #expect(two.1 == one.1 && two.1 == three.1)
        #expect(two.1.last! < two.1.first!, "training lowers the loss")
    }

    @Test func resumingFromACheckpointGivesTheSameBits() throws {
        let data = try #require(Self.mnist)
        let small = try DatasetPair(name: "tiny", train: data.train.subset(Array(0..<1000)), test: data.test.subset(Array(0..<100)))
        let configuration = TrainingConfiguration(
            epochs: 3, batchSize: 50, optimizer: .adam(), schedule: .step(every: 1, factor: 0.5), seed: 6, threads: 2)
        let straight = try Trainer(architecture: Self.smallNetwork, theta0Seed: 7, space: .direct, configuration: configuration)
        try straight.train(on: small)

        let first = try Trainer(architecture: Self.smallNetwork, theta0Seed: 7, space: .direct, configuration: configuration)
        var saved: [UInt8] = []
        try first.train(on: small, onEpoch: { report in
            saved = first.checkpoint().serialized()
            return report.epoch == 1 ? .stop : .proceed
        })
        #expect(first.epochsCompleted == 2)
        let checkpoint = try TrainingCheckpoint(serialized: saved)
        #expect(checkpoint.epochsCompleted == 2)
        let resumed = try Trainer(architecture: Self.smallNetwork, theta0Seed: 7, space: .direct, configuration: configuration)
        try resumed.restore(checkpoint)
        let reports = try resumed.train(on: small)
        #expect(reports.map(\.epoch) == [2])
        #expect(resumed.parameters == straight.parameters)
        #expect(resumed.optimizerState == straight.optimizerState)
    }

    @Test func checkpointsRejectDamageAndMismatches() throws {
        let configuration = TrainingConfiguration(epochs: 1, optimizer: .sgd(), threads: 1)
        let trainer = try Trainer(architecture: Self.smallNetwork, theta0Seed: 1, space: .direct, configuration: configuration)
        var bytes = trainer.checkpoint().serialized()
        #expect(try TrainingCheckpoint(serialized: bytes) == trainer.checkpoint())
        bytes[40] ^= 1
        #expect(throws: TrainingError.self) { try TrainingCheckpoint(serialized: bytes) }
        #expect(throws: TrainingError.self) { try TrainingCheckpoint(serialized: Array(bytes.prefix(30))) }
        let adam = try Trainer(
            architecture: Self.smallNetwork, theta0Seed: 1, space: .direct,
            configuration: TrainingConfiguration(epochs: 1, optimizer: .adam(), threads: 1))
        #expect(throws: TrainingError.self) { try adam.restore(trainer.checkpoint()) }
        let plan = try NetworkPlan(Self.smallNetwork)
        let subspace = try Trainer(
            architecture: Self.smallNetwork, theta0Seed: 1,
            space: .subspace(MatrixProjection(rows: plan.parameterCount, columns: 3, seed: 1)), configuration: configuration)
        #expect(throws: TrainingError.self) { try subspace.restore(trainer.checkpoint()) }
    }

    /// One full-batch SGD step in a subspace with an L2 penalty moves theta_d by
    /// -lr d/d(theta_d) [loss + l2 |theta0 + P theta_d|^2], checked by finite differences.
    @Test func subspaceStepFollowsThePenalisedGradient() throws {
        let architecture = Architecture(inputShape: [4], layers: [.dense(units: 3), .relu, .dense(units: 2)])
        let plan = try NetworkPlan(architecture)
        let projection = MatrixProjection(rows: plan.parameterCount, columns: 4, seed: 8)
        let count = 6
        let features = TestData.uniform(count * 4, seed: 12)
        let labels = TestData.labels(count, classes: 2, seed: 13)
        let set = try Dataset(features: .floats(features), exampleShape: [4], labels: labels, classNames: ["a", "b"])
        let data = try DatasetPair(name: "six", train: set, test: set)
        let (l2, lr): (Double, Float) = (0.01, 0.1)
        let configuration = TrainingConfiguration(
            epochs: 1, batchSize: count, optimizer: .sgd(momentum: 0, nesterov: false), learningRate: lr, l2: Float(l2), threads: 2)
        let theta0 = try TestData.theta(architecture, seed: 14)
        let trainer = try Trainer(architecture: architecture, theta0: theta0, space: .subspace(projection), configuration: configuration)
        try trainer.train(on: data)

        let rows = (0..<count).map { row in features[(row * 4)..<((row + 1) * 4)].map(Double.init) }
        func objective(_ v: [Double]) throws -> Double {
            let theta = (0..<plan.parameterCount).map { row in
                Double(theta0[row]) + (0..<4).reduce(0.0) { $0 + Double(projection.matrix[row * 4 + $1]) * v[$1] }
            }
            return try ReferenceNetwork.loss(architecture, theta: theta, inputs: rows, labels: labels.map(Int.init))
                + l2 * theta.reduce(0) { $0 + $1 * $1 }
        }
        for j in 0..<4 {
            var plus = [Double](repeating: 0, count: 4), minus = plus
            plus[j] = 1e-5
            minus[j] = -1e-5
            let gradient = (try objective(plus) - objective(minus)) / 2e-5
            #expect(abs(Double(trainer.parameters[j]) + Double(lr) * gradient) < 1e-5, "direction \(j)")
        }
    }

    @Test func rejectsMismatchedData() throws {
        let trainer = try Trainer(
            architecture: .leNet(inputShape: [3, 32, 32]), theta0Seed: 1, space: .direct, configuration: TrainingConfiguration(epochs: 1))
        let data = try #require(Self.mnist)
        do {
            try trainer.train(on: data)
            Issue.record("no error")
        } catch { #expect(error.description.contains("[3, 32, 32]")) }
        #expect(throws: TrainingError.self) {
            try Trainer(architecture: .leNet(), theta0: [1, 2], space: .direct, configuration: TrainingConfiguration())
        }
    }
}
