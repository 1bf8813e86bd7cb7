import Foundation
import Testing
import IdzipCore

struct PhiloxTests {
    /// Every `philox4x32 10` line of Random123's kat_vectors.
    @Test func knownAnswerVectors() throws {
        let url = try #require(Bundle.module.url(forResource: "philox4x32-10-kat", withExtension: "txt", subdirectory: "Fixtures"))
        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n").filter { !$0.hasPrefix("#") }
        #expect(lines.count == 3)
        for line in lines {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            #expect(fields[0] == "philox4x32" && fields[1] == "10")
            let words = try fields[2...].map { try #require(UInt32($0, radix: 16)) }
            #expect(words.count == 10)
            let output = Philox4x32.block(counter: (words[0], words[1], words[2], words[3]), key: (words[4], words[5]))
            #expect([output.0, output.1, output.2, output.3] == Array(words[6..<10]), "\(line)")
        }
    }
}
