import ArgumentParser
import Foundation
import IdzipCore
import IdzipTraining

struct Create: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write an untrained model: an architecture, seeds, a projection and a zero or random theta_d.",
        discussion: "For trying the format, samples and tests; `idzip train` writes trained models."
    )

    @Option(help: ArgumentHelp(ModelArgument.help), transform: ModelArgument.parse)
    var model: ModelArgument

    @Option(help: "Projection kind: identity, dense, sparse or fastfood (default: fastfood).", transform: FormatArgument.projection)
    var projection: ProjectionKind = .fastfood

    @Option(name: [.customLong("dim"), .customShort("d")], help: "Subspace dimension d (identity: D).")
    var dimension: Int?

    @Option(help: "Seed of theta0.")
    var seed: UInt64 = 1

    @Option(help: "Seed of the projection P.")
    var projectionSeed: UInt64 = 2

    @Option(help: "Standard deviation of a random theta_d (0 writes zeros).")
    var thetaScale: Double = 0

    @Option(help: ArgumentHelp(EncodingChoice.help), transform: FormatArgument.encoding)
    var encoding: EncodingChoice = .float32

    @Option(help: ArgumentHelp(EncodingChoice.containerHelp), transform: FormatArgument.container)
    var container: ContainerProfile = .standard

    @Option(name: .shortAndLong, help: "Output .idz file.", completion: .file(extensions: ["idz"]))
    var output: String

    func validate() throws {
        if let dimension, dimension < 1 || dimension > Limits.maxSubspaceDimension {
            throw ValidationError("--dim must be between 1 and \(Limits.maxSubspaceDimension)")
        }
        if projection != .identity && dimension == nil {
            throw ValidationError("give the subspace dimension with --dim (or use --projection identity)")
        }
        guard URL(fileURLWithPath: output).pathExtension.lowercased() == "idz" else { throw ValidationError("create writes a .idz file; name the output model.idz") }
        guard thetaScale.isFinite, thetaScale >= 0 else { throw ValidationError("--theta-scale must be a finite number >= 0") }
        if projection == .identity, let dimension, dimension != model.parameterCount {
            throw ValidationError("the identity projection needs d = D = \(model.parameterCount)")
        }
        try model.check(dimension: dimension)
    }

    func run() throws {
        _ = try OutputCheck.file(output, role: "-o", inputs: [])
        let d = projection == .identity ? model.parameterCount : dimension ?? 0
        var budget = MemoryBudget()
        budget.add("theta_d and its encoding (d = \(d) floats x 3)", floats: d, copies: 3)
        try failing { try budget.check("creating \(output)", hint: "a subspace (--projection fastfood --dim N) stores only d values") }
        let stream = RandomStream(seed: projectionSeed, purpose: .sampleTheta)
        let values = (0..<d).map { Float(stream.normal(UInt64($0)) * thetaScale) }
        let sealer = ModelSealer(architecture: model.architecture, theta0Seed: seed, preprocessing: ModelSealer.pixelPreprocessing)
        let sealed = try failing {
            let draft = try sealer.draft(
                projection: ProjectionSpec(kind: projection, seed: projectionSeed, dimension: d), thetaD: values,
                encoding: encoding.encoding, codebookLevels: encoding.levels)
            let metadata = container.layout == .compact ? [] : [MetadataEntry(key: "producer", value: .string("\(IdzipVersion.producer) create"))]
            return try sealer.write(draft, weights: nil, metadata: metadata, to: URL(fileURLWithPath: output), profile: container)
        }
        printLine("wrote \(output): \(model.name), D = \(grouped(model.parameterCount)), \(projection.name) d = \(grouped(d)), \(grouped(sealed.fileBytes)) bytes")
    }
}
