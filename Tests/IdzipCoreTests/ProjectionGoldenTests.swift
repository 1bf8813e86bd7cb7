import IdzipCore
import Testing

/// Pinned outputs for fixed seeds: any change to a definition in
/// Formats/idz-v1-projections.md (stream addressing, order of operations, rounding) breaks
/// these. The same values are the test vectors at the end of that document.
///
/// Inputs: v_j = Float(j mod 7) - 3 and g_i = Float(i mod 5) - 2; seed 2018.
struct ProjectionGoldenTests {
    static func v(_ d: Int) -> [Float] { (0..<d).map { Float($0 % 7) - 3 } }
    static func g(_ D: Int) -> [Float] { (0..<D).map { Float($0 % 5) - 2 } }

    static func check(
        _ projection: any Projection, rows: Range<Int>, forward: [UInt32], transpose: [UInt32]
    ) {
        let output = projection.project(v(projection.columnCount), rows: rows)
        #expect(ProjectionReference.bits(Array(output.prefix(forward.count))) == forward)
        let transposed = projection.projectTranspose(g(projection.rowCount))
        #expect(ProjectionReference.bits(Array(transposed.prefix(transpose.count))) == transpose)
    }

    @Test func identity() {
        Self.check(IdentityProjection(rowCount: 8, columnCount: 8), rows: 0..<4,
              forward: [0xC040_0000, 0xC000_0000, 0xBF80_0000, 0x0000_0000],
              transpose: [0xC000_0000, 0xBF80_0000, 0x0000_0000, 0x3F80_0000])
    }

    @Test func dense() {
        let projection = DenseProjection(rowCount: 10, columnCount: 4, seed: 2018)
        #expect(projection.columnNorms.map(\.bitPattern)
            == [0x4011_DECC_6648_74BE, 0x4006_71A2_817D_7446, 0x400B_BF65_A9C4_3A6B, 0x4011_E025_C113_0702])
        Self.check(projection, rows: 0..<4,
              forward: [0x405F_BF46, 0xBFB8_EEA9, 0x3D4B_27E3, 0xBF39_BA46],
              transpose: [0x3F17_EFBB, 0x3FDC_99B3, 0x3FEC_1796, 0x4040_14A1])
    }

    @Test func sparseSmall() {
        let projection = SparseProjection(rowCount: 100, columnCount: 30, seed: 2018)
        #expect(Array(projection.nonzeroCounts.prefix(4)) == [8, 11, 5, 10])
        var unit = [Float](repeating: 0, count: 30)
        unit[0] = 1
        let column = projection.project(unit)
        #expect(column.indices.filter { column[$0] != 0 } == [13, 15, 40, 42, 66, 71, 78, 86])
        Self.check(projection, rows: 0..<4,
              forward: [0x3F1A_DAEB, 0xBE91_9CFC, 0x3FB2_3FAA, 0xC00C_1C0C],
              transpose: [0xBFE2_4630, 0xBF1A_5FB2, 0x3FAB_BAE3, 0x3F72_DCE9])
    }

    /// Three chunks of 4096 rows.
    @Test func sparseChunks() {
        let projection = SparseProjection(rowCount: 10_000, columnCount: 8, seed: 2018)
        #expect(Array(projection.nonzeroCounts.prefix(4)) == [94, 86, 103, 98])
        var unit = [Float](repeating: 0, count: 8)
        unit[0] = 1
        let column = projection.project(unit)
        #expect(Array(column.indices.filter { column[$0] != 0 }.prefix(6)) == [137, 154, 415, 429, 680, 724])
        #expect(Array(column.indices.filter { $0 >= 4096 && column[$0] != 0 }.prefix(3)) == [4138, 4429, 4684])
        #expect(column[4684] < 0 && column[4429] > 0)
        let output = projection.project(Self.v(8))
        #expect([output[4106], output[4119], output[4124], output[4138]].map(\.bitPattern)
            == [0x3E48_D2AB, 0xBEA0_239A, 0x3E48_D2AB, 0xBE9E_6D22])
        Self.check(projection, rows: 0..<0, forward: [],
              transpose: [0x3FB8_D4A8, 0x3F0A_06A5, 0xC01D_A716, 0x4001_4CAE])
    }

    /// L = 128 does not divide D = 1000: seven full blocks and 104 rows of the eighth.
    @Test func fastfood() {
        for caches in [true, false] {
            let projection = FastfoodProjection(rowCount: 1000, columnCount: 100, seed: 2018, cachesTables: caches)
            Self.check(projection, rows: 0..<4,
                  forward: [0x3EA6_78CB, 0x3F1D_39B8, 0x3E8F_6443, 0x3E18_C40B],
                  transpose: [0x3FE6_0872, 0xBF6C_0177, 0x3EB5_01AC, 0x3FE6_14DC])
            Self.check(projection, rows: 896..<900,
                  forward: [0x3DB2_EE3D, 0x3E0B_328A, 0xBE4C_D5E0, 0x3E3A_17D9], transpose: [])
        }
    }

    /// L = 1: five one-row blocks.
    @Test func fastfoodSingleColumn() {
        Self.check(FastfoodProjection(rowCount: 5, columnCount: 1, seed: 2018), rows: 0..<5,
              forward: [0x3FAB_BAE3, 0x3FAB_BAE3, 0xBFAB_BAE2, 0x3FAB_BAE2],
              transpose: [0x3300_0000])
    }
}
