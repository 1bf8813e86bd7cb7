import Foundation
import IdzipCore
import IdzipTraining

/// Writes a trained toy model (no data set) as `.idz`, after measuring the loss of the
/// weights exactly as stored (theta_d encoded, then expanded), so the recorded
/// performance exp(-loss) is what the file reproduces.
struct ToyModelWriter {
    var architecture: Architecture
    var theta0Seed: UInt64
    var stepsCompleted: Int

    struct Result {
        var fileBytes: Int
        var loss: Double
        var performance: Double
    }

    /// `projection` nil: direct training, stored with the identity projection.
    func write(trained: [Float], theta0: [Float], projection: ProjectionSpec?, encoding: ThetaEncoding, to output: String) throws -> Result {
        guard let objective = ToyObjective(architecture) else { throw CommandFailure("not the toy problem") }
        let spec = projection ?? ProjectionSpec(kind: .identity, seed: 0, dimension: theta0.count)
        let thetaD = projection == nil ? zip(trained, theta0).map { $0 - $1 } : trained
        var model = IdzModel(
            architecture: architecture, theta0Seed: theta0Seed, projection: spec, theta: StoredTheta.encode(thetaD, as: encoding),
            preprocessing: Preprocessing(inputScale: 1), labels: [], metadata: [], weightsSHA256: [UInt8](repeating: 0, count: 32))
        let weights: [Float]
        do {
            weights = try ModelExpansion.expander(for: model).expandAll()
        } catch {
            throw CommandFailure(error.description)
        }
        model.weightsSHA256 = IdzChecksum.weightsSHA256(weights)
        let loss = objective.loss(weights)
        let performance = ToyObjective.performance(loss: loss)
        model.metadata = [
            MetadataEntry(key: "dataset", value: .string("toy (no data)")),
            MetadataEntry(key: "loss", value: .double(loss)),
            MetadataEntry(key: "performance", value: .double(performance)),
            MetadataEntry(key: "steps", value: .int(Int64(stepsCompleted))),
        ]
        do {
            try IdzFile.write(model, to: URL(fileURLWithPath: output))
        } catch {
            throw CommandFailure(error.description)
        }
        return Result(fileBytes: ModelFile.size(output), loss: loss, performance: performance)
    }
}

extension ToyModelWriter {
    /// Trains the toy problem (in the subspace of `dimension` with `projection`, or directly)
    /// and writes the model to `output`.
    static func trainAndWrite(
        architecture: Architecture, seed: UInt64, dimension: Int?, projection: ProjectionKind, projectionSeed: UInt64,
        configuration: TrainingConfiguration, encoding: ThetaEncoding, output: String,
        onStep: ((Int, Double) -> TrainingDecision)? = nil
    ) throws -> (trainer: ToyTrainer, result: Result) {
        let parameterCount = try architecture.parameterCount()
        let space: ParameterSpace = dimension.map {
            .subspace(trainingProjection(kind: projection, rowCount: parameterCount, columnCount: $0, seed: projectionSeed, threads: 1))
        } ?? .direct
        let trainer: ToyTrainer
        do {
            trainer = try ToyTrainer(architecture: architecture, theta0Seed: seed, space: space, configuration: configuration)
            try trainer.train(onStep: onStep)
        } catch {
            throw CommandFailure(error.description)
        }
        let result = try ToyModelWriter(architecture: architecture, theta0Seed: seed, stepsCompleted: trainer.stepsCompleted).write(
            trained: trainer.parameters, theta0: trainer.theta0,
            projection: dimension.map { ProjectionSpec(kind: projection, seed: projectionSeed, dimension: $0) },
            encoding: encoding, to: output)
        return (trainer, result)
    }
}
