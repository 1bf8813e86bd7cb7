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

    @Option(help: "A base whose weights are theta0 (format version 3): .safetensors, .npy with sidecar, or .idz of the same architecture.", completion: .file(extensions: ["safetensors", "npy", "idz"]))
    var base: String?

    @Option(help: "Name or locator of the base stored in the model (default: the base's file name).")
    var baseLocator: String?

    @Option(name: .customLong("tensor-mode"), help: "PATTERN=MODE (subspace, direct or frozen), repeatable, as for train; direct tensors store theta0 plus --theta-scale noise.")
    var tensorModes: [String] = []

    @Flag(help: "Store one scale per subspace tensor, 1 plus --theta-scale noise.")
    var tensorScales = false

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
        if (!tensorModes.isEmpty || tensorScales), projection == .identity {
            throw ValidationError("--tensor-mode and --tensor-scales need a random projection")
        }
        if base != nil || !tensorModes.isEmpty || tensorScales, container.layout == .compact {
            throw ValidationError("--container compact cannot hold a base or tensor modes; write the standard layout")
        }
        if baseLocator != nil, base == nil { throw ValidationError("--base-locator needs --base") }
    }

    func run() throws {
        _ = try OutputCheck.file(output, role: "-o", inputs: [base].compactMap { $0 })
        let d = projection == .identity ? model.parameterCount : dimension ?? 0
        var budget = MemoryBudget()
        budget.add("theta_d and its encoding (d = \(d) floats x 3)", floats: d, copies: 3)
        try failing { try budget.check("creating \(output)", hint: "a subspace (--projection fastfood --dim N) stores only d values") }
        let stream = RandomStream(seed: projectionSeed, purpose: .sampleTheta)
        let values = (0..<d).map { Float(stream.normal(UInt64($0)) * thetaScale) }
        let baseWeights = try base.map { path in
            try failing { try BaseFile.read(contentsOf: URL(fileURLWithPath: path), architecture: model.architecture).weights }
        }
        let modes = try versionThreeModes(stream: stream, d: d, theta0: baseWeights?.values)
        let sealer = ModelSealer(architecture: model.architecture, theta0Seed: baseWeights == nil ? seed : 0, preprocessing: ModelSealer.pixelPreprocessing)
        let sealed = try failing {
            var draft = try sealer.draft(
                projection: ProjectionSpec(kind: projection, seed: projectionSeed, dimension: d), thetaD: values,
                encoding: encoding.encoding, codebookLevels: encoding.levels)
            if let baseWeights, let base {
                draft.base = BaseReference(weights: baseWeights, locator: baseLocator ?? URL(fileURLWithPath: base).lastPathComponent)
            }
            draft.tensorModes = modes
            let metadata = container.layout == .compact ? [] : [MetadataEntry(key: "producer", value: .string("\(IdzipVersion.producer) create"))]
            return try sealer.write(draft, weights: nil, metadata: metadata, to: URL(fileURLWithPath: output), profile: container)
        }
        printLine("wrote \(output): \(model.name), D = \(grouped(model.parameterCount)), \(projection.name) d = \(grouped(d)), \(grouped(sealed.fileBytes)) bytes")
    }

    /// Tensor modes of an untrained model (Formats/idz-v3.md section 7): scales 1 + s z and
    /// direct values theta0 + s z, with z the normals of the theta_d stream after its d values.
    func versionThreeModes(stream: RandomStream, d: Int, theta0 given: [Float]?) throws -> TensorModes? {
        var rules: [TensorModeRule] = []
        for text in tensorModes {
            guard let rule = TensorModeRule(text: text) else {
                throw ValidationError("--tensor-mode \(text): expected PATTERN=MODE with MODE subspace, direct or frozen")
            }
            rules.append(rule)
        }
        let settings = TensorStructureSettings(rules: rules, scales: tensorScales)
        guard !settings.isPlain else { return nil }
        let tensors = try failing { try model.architecture.parameterTensors() }
        let modes = settings.modes(for: tensors)
        let theta0 = given ?? InitialWeights.make(tensors: tensors, seed: seed)
        var next = UInt64(d)
        func noise() -> Float {
            defer { next += 1 }
            return Float(stream.normal(next) * thetaScale)
        }
        let scales = tensorScales ? modes.filter { $0 == .subspace }.map { _ in 1 + noise() } : nil
        var direct: [Float] = []
        for (tensor, mode) in zip(tensors, modes) where mode == .direct {
            for i in tensor.range { direct.append(theta0[i] + noise()) }
        }
        return TensorModes(modes: modes, scales: scales, directValues: direct)
    }
}
