import Foundation
import Testing
import IdzipCore

/// The samples in Formats/samples expand to the weights digests listed beside them. These
/// digests were fixed when the samples were written: any change to the random streams,
/// theta0, a projection or the expansion order changes a digest and fails here.
struct SampleModelTests {
    static func listedDigests() throws -> [(file: String, digest: String)] {
        let text = try String(contentsOf: RepositoryFiles.url("Formats/samples/SHA256SUMS-weights"), encoding: .utf8)
        return text.split(separator: "\n").map { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            return (String(fields[1]), String(fields[0]))
        }
    }

    @Test func everyKindHasASample() throws {
        let kinds = try Self.listedDigests().map { entry in
            try IdzFile.read(contentsOf: RepositoryFiles.url("Formats/samples/\(entry.file)")).projection.kind
        }
        #expect(Set(kinds).isSuperset(of: [.dense, .sparse, .fastfood]))
    }

    @Test(arguments: try listedDigests().map(\.file))
    func sampleExpandsToItsListedDigest(file: String) throws {
        let listed = try #require(try Self.listedDigests().first { $0.file == file }).digest
        var model = try IdzFile.read(contentsOf: RepositoryFiles.url("Formats/samples/\(file)"))
        if let base = model.base {
            // A version 3 sample's base is another sample, named by its locator (Formats/idz-v3.md section 6).
            let baseModel = try IdzFile.read(contentsOf: RepositoryFiles.url("Formats/samples/\(base.locator)"))
            try model.attachBase(BaseWeights(values: ModelExpansion.weights(of: baseModel)))
        }
        #expect(hexString(model.weightsSHA256) == listed)
        #expect(hexString(try ModelExpansion.digest(of: model)) == listed)
    }
}
