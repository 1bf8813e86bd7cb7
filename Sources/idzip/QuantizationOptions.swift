import ArgumentParser
import IdzipTraining

/// How a codebook of theta_d is learned (`idzip train --codebook`, `idzip compress`).
struct QuantizerOptions: ParsableArguments {
    @Option(name: .customLong("quantizer"), help: "How the codebook of theta_d is learned (with --encoding codebook:K for train): ste (quantisation-aware training, straight-through estimator), fine-tuned (levels trained too) or post (k-means after training) (default: ste).", transform: QuantizerOptions.method)
    var quantizerChoice: QuantizationMethod?

    var quantizer: QuantizationMethod { quantizerChoice ?? .ste }

    /// Whether an option of this group was given.
    var given: Bool { quantizerChoice != nil || warmupEpochs != nil }

    @Option(help: "Epochs trained in float32 before the codebook is fitted (default: half of the epochs).")
    var warmupEpochs: Int?

    static func method(_ text: String) throws -> QuantizationMethod {
        guard let method = QuantizationMethod(rawValue: text) else {
            throw ValidationError("'\(text)' is not a quantizer; give ste, fine-tuned or post")
        }
        return method
    }

    func validate() throws {
        if let warmupEpochs, warmupEpochs < 1 { throw ValidationError("--warmup-epochs must be at least 1") }
    }

    func settings(levels: Int) -> QuantizationSettings {
        QuantizationSettings(levels: levels, method: quantizer, warmupEpochs: warmupEpochs)
    }
}
