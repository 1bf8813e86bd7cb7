import Foundation
import IdzipCore
import IdzipTraining
import Testing

/// The entry points a trainer uses to write a learned codebook in any container profile.
struct ModelSealerVersion2Tests {
    static let sealer = ModelSealer(
        architecture: .fullyConnected(inputShape: [1, 4, 4], widths: [5, 3]), theta0Seed: 3,
        preprocessing: ModelSealer.pixelPreprocessing, labels: ["a", "b", "c"])

    @Test func aStoredThetaIsSealedInEveryProfile() throws {
        let projection = ProjectionSpec(kind: .sparse, seed: 4, dimension: 12)
        let theta = StoredTheta.codebook(levels: [-0.25, 0, 0.5], symbols: [0, 1, 2, 1, 1, 0, 2, 2, 1, 0, 1, 1])
        let draft = try Self.sealer.draft(projection: projection, theta: theta)
        let weights = try Self.sealer.weights(of: draft)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sealer-v2-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for profile in ContainerProfile.all {
            let metadata = [MetadataEntry(key: "k", value: .int(1))]
            let predicted = try Self.sealer.fileBytes(of: draft, metadata: metadata, profile: profile)
            let url = directory.appendingPathComponent("\(profile.name).idz")
            let sealed = try Self.sealer.write(draft, weights: weights, metadata: metadata, to: url, profile: profile)
            #expect(sealed.fileBytes == predicted, "\(profile.name)")
            let read = try IdzFile.read(contentsOf: url)
            #expect(read.theta == theta && read.metadata == metadata)
            #expect(read.weightsSHA256 == Array(sealed.model.weightsSHA256.prefix(profile.weightsDigestBytes)))
            #expect(try ModelExpansion.weights(of: read) == weights)
        }
    }

    @Test func aThetaTheFileCannotHoldIsRefused() throws {
        let projection = ProjectionSpec(kind: .sparse, seed: 4, dimension: 2)
        #expect(throws: TrainingError.self) { try Self.sealer.draft(projection: projection, theta: .codebook(levels: [1], symbols: [0])) }
        #expect(throws: TrainingError.self) { try Self.sealer.draft(projection: projection, theta: .codebook(levels: [1], symbols: [0, 1])) }
        #expect(throws: TrainingError.self) { try Self.sealer.draft(projection: projection, theta: .codebook(levels: [.infinity], symbols: [0, 0])) }
        let draft = try Self.sealer.draft(projection: projection, thetaD: [0.5, -2], encoding: .codebook, codebookLevels: 2)
        #expect(draft.theta == .codebook(levels: [-2, 0.5], symbols: [1, 0]))
    }
}
