import Foundation
import ArgumentParser
import IdzipTraining

/// Which data set, and which of the paper's variants of it.
struct DataOptions: ParsableArguments {
    @Option(help: "mnist, fashion-mnist, or a directory of IDX, .npy or CIFAR-10 binary files (default: mnist).")
    var data: String?

    @Flag(help: "Shuffle pixel positions (one permutation for training and test set).")
    var shufflePixels = false

    @Flag(help: "Replace training labels by a random permutation of them (performance is then training accuracy).")
    var shuffleLabels = false

    @Option(help: "Train on this fraction of the training set (0 < f <= 1).")
    var trainFraction: Double = 1

    @Option(help: "Hold out this fraction of the training set as a validation set (0 <= f < 1), drawn from --data-seed; a sweep's decisions (early stopping, search, d_int90) then use it, and test accuracy is reported beside it (default 0: decisions on the test set, the paper's convention).")
    var validationFraction: Double = 0

    @Option(help: "Seed of the variants above.")
    var dataSeed: UInt64 = 0

    func validate() throws {
        guard trainFraction > 0, trainFraction <= 1 else { throw ValidationError("--train-fraction must be above 0 and at most 1") }
        guard validationFraction >= 0, validationFraction < 1 else { throw ValidationError("--validation-fraction must be at least 0 and below 1") }
    }

    var selection: DataSelection {
        DataSelection(
            name: data ?? "mnist",
            variant: DatasetVariant(shufflePixels: shufflePixels, shuffleLabels: shuffleLabels, trainingFraction: trainFraction,
                validationFraction: validationFraction, seed: dataSeed))
    }

    /// The data set in memory; a missing or damaged one is one line, exit 1.
    func load() throws -> SelectedData {
        try failing { try SelectedData(selection) }
    }
}

/// An explicit input preprocessing for training: x = (raw * scale - mean[c]) / std[c],
/// applied by training and recorded in the model exactly.
struct PreprocessingOptions: ParsableArguments {
    @Option(help: "Multiply raw inputs by this first (default: 1/255 for byte data, 1 for float data).")
    var scale: Float?

    @Option(help: "Subtract after scaling: one value or one per channel, comma-separated (default: 0).", transform: PreprocessingOptions.list)
    var mean: [Float]?

    @Option(help: "Divide by last: one value or one per channel, comma-separated (default: 1).", transform: PreprocessingOptions.list)
    var std: [Float]?

    static func list(_ text: String) throws -> [Float] {
        let values = text.split(separator: ",", omittingEmptySubsequences: false).map { Float($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.count <= 4096, values.allSatisfy({ $0?.isFinite == true }) else {
            throw ValidationError("'\(text)' is not a comma-separated list of finite numbers")
        }
        return values.compactMap { $0 }
    }

    func validate() throws {
        if let scale, !scale.isFinite || scale == 0 { throw ValidationError("--scale must be finite and non-zero") }
        if let std, !std.allSatisfy({ $0 > 0 }) { throw ValidationError("--std must be positive") }
        if let mean, let std, mean.count != std.count {
            throw ValidationError("--mean has \(mean.count) values but --std \(std.count); give one each or one per channel")
        }
    }

    /// nil when none of the options is given (training keeps its default).
    var choice: InputPreprocessing? {
        scale == nil && mean == nil && std == nil ? nil : InputPreprocessing(scale: scale, mean: mean, standardDeviation: std)
    }
}
