import ArgumentParser
import IdzipTraining

/// Which data set, and which of the paper's variants of it.
struct DataOptions: ParsableArguments {
    @Option(help: "mnist, fashion-mnist, or a directory of IDX, .npy or CIFAR-10 binary files.")
    var data: String = "mnist"

    @Flag(help: "Shuffle pixel positions (one permutation for training and test set).")
    var shufflePixels = false

    @Flag(help: "Replace training labels by a random permutation of them (performance is then training accuracy).")
    var shuffleLabels = false

    @Option(help: "Train on this fraction of the training set (0 < f <= 1).")
    var trainFraction: Double = 1

    @Option(help: "Seed of the variants above.")
    var dataSeed: UInt64 = 0

    func validate() throws {
        guard trainFraction > 0, trainFraction <= 1 else { throw ValidationError("--train-fraction must be above 0 and at most 1") }
    }

    var selection: DataSelection {
        DataSelection(
            name: data,
            variant: DatasetVariant(shufflePixels: shufflePixels, shuffleLabels: shuffleLabels, trainingFraction: trainFraction, seed: dataSeed))
    }

    /// The data set in memory; a missing or damaged one is one line, exit 1.
    func load() throws -> SelectedData {
        try failing { try SelectedData(selection) }
    }
}
