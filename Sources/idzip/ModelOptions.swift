import ArgumentParser
import IdzipCore
import IdzipTraining

/// The model options of training and sweeps: the architecture, the projection and the
/// stored precision of theta_d.
struct ModelOptions: ParsableArguments {
    @Option(help: ArgumentHelp(ModelArgument.helpWithDefault), transform: ModelArgument.parse)
    var model: ModelArgument = .fullyConnected

    @Option(help: "Projection for subspace training: dense, sparse or fastfood (default: fastfood; identity means direct training).", transform: FormatArgument.projection)
    var projection: ProjectionKind = .fastfood

    @Option(help: ArgumentHelp(EncodingChoice.help), transform: FormatArgument.encoding)
    var encoding: EncodingChoice = .float32

}
