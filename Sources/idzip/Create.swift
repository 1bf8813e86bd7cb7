import ArgumentParser
import Foundation
import IdzipCore

struct Create: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write an untrained model: an architecture, seeds, a projection and a zero or random theta_d.",
        discussion: "For trying the format, samples and tests; `idzip train` writes trained models."
    )

    @Option(help: "Architecture: fc:784-200-200-10, fc5, lenet, lenet:3x32x32 or toy.")
    var model: String

    @Option(help: "Projection kind: identity, dense, sparse or fastfood.")
    var projection: ProjectionKind = .fastfood

    @Option(name: [.customLong("dim"), .customShort("d")], help: "Subspace dimension d (identity: D).")
    var dimension: Int?

    @Option(help: "Seed of theta0.")
    var seed: UInt64 = 1

    @Option(help: "Seed of the projection P.")
    var projectionSeed: UInt64 = 2

    @Option(help: "Standard deviation of a random theta_d (0 writes zeros).")
    var thetaScale: Double = 0

    @Option(help: "Stored precision of theta_d: float32, float16 or int8.")
    var encoding: ThetaEncoding = .float32

    @Option(name: .shortAndLong, help: "Output .idz file.", completion: .file(extensions: ["idz"]))
    var output: String

    func validate() throws {
        if let dimension, dimension < 1 || dimension > Limits.maxSubspaceDimension {
            throw ValidationError("--dim must be between 1 and \(Limits.maxSubspaceDimension)")
        }
        if projection != .identity && dimension == nil {
            throw ValidationError("give the subspace dimension with --dim (or use --projection identity)")
        }
        guard thetaScale.isFinite, thetaScale >= 0 else { throw ValidationError("--theta-scale must be a finite number >= 0") }
    }

    func run() throws {
        let architecture: Architecture
        do { architecture = try Architecture(spec: model) } catch { throw ValidationError(error.description) }
        let parameterCount = try architecture.parameterCount()
        let d = projection == .identity ? parameterCount : dimension ?? 0
        if projection == .identity, let dimension, dimension != parameterCount {
            throw ValidationError("the identity projection needs d = D = \(parameterCount)")
        }
        guard d <= parameterCount else {
            throw ValidationError("d = \(d) exceeds the number of parameters D = \(parameterCount)")
        }
        let stream = RandomStream(seed: projectionSeed, purpose: .sampleTheta)
        let values = (0..<d).map { Float(stream.normal(UInt64($0)) * thetaScale) }
        var model = IdzModel(
            architecture: architecture, theta0Seed: seed,
            projection: ProjectionSpec(kind: projection, seed: projectionSeed, dimension: d),
            theta: StoredTheta.encode(values, as: encoding),
            preprocessing: Preprocessing(inputScale: 1.0 / 255, mean: [0], standardDeviation: [1]),
            labels: [],
            metadata: [MetadataEntry(key: "producer", value: .string("idzip \(IdzipVersion.current) create"))],
            weightsSHA256: [UInt8](repeating: 0, count: 32))
        do {
            model.weightsSHA256 = try ModelExpansion.digest(of: model)
            try IdzFile.write(model, to: URL(fileURLWithPath: output))
        } catch let error as CustomStringConvertible {
            throw CommandFailure(error.description)
        }
        print("wrote \(output): \(self.model), D = \(grouped(parameterCount)), \(projection.name) d = \(grouped(d)), \(grouped(ModelFile.size(output))) bytes")
    }
}

extension ProjectionKind: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
}

extension ThetaEncoding: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
}
