import Foundation
import Testing

/// Every example in the README's `console` blocks prints what the current binary prints:
/// each `$ idzip ...` command is run in one temporary directory, in README order (later
/// examples use the files earlier ones wrote), and its output (standard error, then
/// standard output) is compared line by line. Times and rates (`0.8 s`, `78,053 ex/s`)
/// are masked; a `...` line in the README stands for any number of lines. The images of
/// samples/digits are copied into the directory first. Blocks with no
/// output lines (commands shown only for their options) are not run.
@Suite(.serialized) struct ReadmeExampleTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    struct Example {
        var arguments: [String]
        var expected: [String]
    }

    static func examples() throws -> [Example] {
        let text = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        var examples: [Example] = []
        var inBlock = false
        var current: Example?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line == "```console" { inBlock = true; continue }
            if inBlock && line == "```" {
                if let example = current, !example.expected.isEmpty { examples.append(example) }
                current = nil
                inBlock = false
                continue
            }
            guard inBlock else { continue }
            if line.hasPrefix("$ idzip ") {
                if let example = current, !example.expected.isEmpty { examples.append(example) }
                current = Example(arguments: line.dropFirst(8).split(separator: " ").map(String.init), expected: [])
            } else {
                current?.expected.append(line)
            }
        }
        return examples
    }

    /// Times and rates replaced by `#`.
    static func masked(_ line: String) -> String {
        line.replacingOccurrences(of: #"[0-9][0-9,]*(\.[0-9]+)? (s|ex/s)\b"#, with: "#", options: .regularExpression)
    }

    /// Whether `actual` matches `expected`, where a "..." line matches any run of lines.
    static func matches(_ expected: ArraySlice<String>, _ actual: ArraySlice<String>) -> Bool {
        guard let first = expected.first else { return actual.isEmpty }
        if first == "..." {
            return (actual.startIndex...actual.endIndex).contains { matches(expected.dropFirst(), actual[$0...]) }
        }
        guard let line = actual.first, masked(line) == masked(first) else { return false }
        return matches(expected.dropFirst(), actual.dropFirst())
    }

    @Test func everyExampleOutputIsWhatTheBinaryPrints() throws {
        let examples = try Self.examples()
        #expect(examples.count >= 6, "the README's examples were found")
        let directory = try TemporaryDirectory()
        // The images the `idzip predict` example reads.
        let digits = Self.root.appendingPathComponent("samples/digits")
        for name in try FileManager.default.contentsOfDirectory(atPath: digits.path) {
            try FileManager.default.copyItem(at: digits.appendingPathComponent(name), to: directory.file(name))
        }
        for example in examples {
            let result = try CommandRunner.run(
                example.arguments, in: directory.url,
                environment: ["IDZIP_DATA": Self.root.appendingPathComponent("samples/mnist").path])
            let lines = (result.standardError + result.standardOutput).split(separator: "\n").map(String.init)
            #expect(result.status == 0, "idzip \(example.arguments.joined(separator: " ")) failed: \(result.standardError)")
            #expect(
                Self.matches(example.expected[...], lines[...]),
                "README example `idzip \(example.arguments.joined(separator: " "))` prints:\n\(lines.joined(separator: "\n"))")
        }
    }
}
