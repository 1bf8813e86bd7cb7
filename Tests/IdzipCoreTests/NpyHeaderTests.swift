import IdzipCore
import Testing

/// The NPY header dictionary is read whole (`NpyHeader.parseDictionary`): the same
/// answer numpy gives, or a refusal where numpy's answer would differ from a first-match read.
struct NpyHeaderTests {
    static func parse(_ header: String) -> String {
        do {
            let parsed = try NpyHeader.parseDictionary(header, maxDimension: 1 << 30)
            return "\(parsed.descr) \(parsed.shape)"
        } catch {
            return error.reason
        }
    }

    @Test func acceptsWhatNumpyWrites() {
        #expect(Self.parse("{'descr': '<f4', 'fortran_order': False, 'shape': (60000, 784), }      \n") == "<f4 [60000, 784]")
        #expect(Self.parse("{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }\n") == "|u1 [3]")
        #expect(Self.parse("{'descr': '<f8', 'fortran_order': False, 'shape': (), }\n") == "<f8 []")
        #expect(Self.parse("{\"shape\": (2L, 3L), \"fortran_order\": False, \"descr\": \"<i8\"}") == "<i8 [2, 3]")
    }

    @Test func refusesRepeatedUnknownAndMissingKeys() {
        #expect(Self.parse("{'descr': '|u1', 'fortran_order': False, 'shape': (4,), 'descr': '<f4', }") == "NPY header names 'descr' twice")
        #expect(Self.parse("{'descr': '<f4', 'shape': (1,), 'shape': (4,), 'fortran_order': False}") == "NPY header names 'shape' twice")
        #expect(Self.parse("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), 'extra': 1}").contains("unexpected key 'extra'"))
        #expect(Self.parse("{'descr': '<f4', 'shape': (4,)}") == "NPY header has no 'fortran_order'")
        // A key inside a value is no key (a substring search would have found it).
        #expect(Self.parse("{'descr': \"'shape': (9,)\", 'fortran_order': False, 'shape': (4,)}") == "'shape': (9,) [4]")
    }

    @Test func refusesWhatIsNotADictionary() {
        for bad in ["", "{", "{'descr': '<f4'", "{'descr' '<f4'}", "{'descr': '<f4'} x", "{'descr': '<f4',, }",
                    "{'shape': (4,,), 'descr': '<f4', 'fortran_order': False}", "{'descr': '<f\\4'}"] {
            #expect(Self.parse(bad).hasPrefix("NPY header"), "\(bad): \(Self.parse(bad))")
        }
        #expect(Self.parse("{'descr': '<f4', 'fortran_order': True, 'shape': (4,)}").contains("Fortran"))
        #expect(Self.parse("{'descr': '<f4', 'fortran_order': False, 'shape': (-4,)}") == "NPY shape has a bad dimension '-4'")
    }
}

/// Encoding checks a theta_d before it is stored (`StoredTheta.checkRepresentable`).
struct ThetaRepresentableTests {
    @Test func float16OutOfRangeNamesTheValue() {
        #expect(throws: Never.self) { try StoredTheta.checkRepresentable([65504, -65504, 0.1], as: .float16) }
        do {
            try StoredTheta.checkRepresentable([0, 1, 733, 70000], as: .float16)
            Issue.record("70000 accepted as float16")
        } catch {
            #expect(error.kind == .invalidValue)
            #expect(error.description.contains("70000.0 (index 3) is out of float16's range"), "\(error)")
        }
        #expect(throws: Never.self) { try StoredTheta.checkRepresentable([70000], as: .float32) }
        #expect(throws: IdzError.self) { try StoredTheta.checkRepresentable([.nan], as: .int8) }
    }
}
