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
        guard trainFraction > 0, trainFraction <= 1 else { throw ValidationError("--train-fraction must be in (0, 1]") }
    }

    var variant: DatasetVariant {
        DatasetVariant(shufflePixels: shufflePixels, shuffleLabels: shuffleLabels, trainingFraction: trainFraction, seed: dataSeed)
    }

    /// A short description for metadata, e.g. "mnist (shuffled pixels, seed 0)".
    var summary: String {
        var parts: [String] = []
        if shufflePixels { parts.append("shuffled pixels") }
        if shuffleLabels { parts.append("shuffled labels") }
        if trainFraction < 1 { parts.append("\(trainFraction) of training set") }
        return parts.isEmpty ? data : "\(data) (\(parts.joined(separator: ", ")), seed \(dataSeed))"
    }

    func load() throws -> DatasetPair {
        do {
            let pair = try DatasetCatalog.load(data)
            return variant.isIdentity ? pair : try pair.applying(variant)
        } catch {
            throw CommandFailure(error.description)
        }
    }
}
