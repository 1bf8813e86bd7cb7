import Testing
import IdzipCore

/// Fastfood block numbers are 32-bit sub-streams, so a reader must refuse a file whose D and
/// d would need more than 2^32 blocks (before anything tries to expand it).
@Test func fastfoodBlockCountIsLimited() throws {
    func model(dimension: Int) -> IdzModel {
        IdzModel(
            architecture: .toy(groups: 1 << 24, size: 1 << 12), theta0Seed: 1,
            projection: ProjectionSpec(kind: .fastfood, seed: 2, dimension: dimension),
            theta: .float32([Float](repeating: 0, count: dimension)),
            preprocessing: Preprocessing(), labels: [], metadata: [],
            weightsSHA256: [UInt8](repeating: 0, count: 32))
    }
    #expect(throws: IdzError.self) { try IdzFile.encode(model(dimension: 1)) }
    #expect(throws: IdzError.self) { try IdzFile.encode(model(dimension: 8)) }
    // L = 16: 2^36 / 16 = 2^32 blocks, the most allowed.
    _ = try IdzFile.encode(model(dimension: 9))
}
