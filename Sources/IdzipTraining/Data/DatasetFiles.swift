import Foundation

extension DatasetCatalog {
    /// The files a data set may be read from (every file of its directory, and of a
    /// `cifar-10-batches-bin` folder in it), so that an output can be refused when it is
    /// one of them. Empty when the data set is not found (loading it then says why).
    public static func inputFiles(
        of name: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> [String] {
        let directory: String?
        switch name.lowercased() {
        case "mnist": directory = mnistCandidates(environment: environment).first { idxFiles(in: $0) != nil }
        case "fashion-mnist", "fashion_mnist", "fashionmnist": directory = fashionMNISTDirectory
        default: directory = name
        }
        guard let directory else { return [] }
        return [directory, directory + "/cifar-10-batches-bin"].flatMap { folder in
            ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).map { folder + "/" + $0 }
        }
    }
}
