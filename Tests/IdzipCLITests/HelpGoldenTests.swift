import Foundation
import Testing

/// Every command's `--help` text, compared whole with the golden files in
/// Tests/IdzipCLITests/Fixtures/help/ (80 columns). After changing a help text on purpose,
/// regenerate them with `scripts/update-help-golden.sh` (after `swift build -c release`), or
/// run this test with IDZIP_UPDATE_GOLDEN=1, and review the diff.
struct HelpGoldenTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let directory = root.appendingPathComponent("Tests/IdzipCLITests/Fixtures/help")

    /// The commands and their golden file names; scripts/update-help-golden.sh has the same list.
    static let commands: [(arguments: [String], file: String)] = [
        ([], "idzip"), (["train"], "train"), (["sweep"], "sweep"), (["compress"], "compress"), (["sweep", "run"], "sweep-run"),
        (["sweep", "merge"], "sweep-merge"), (["eval"], "eval"), (["predict"], "predict"), (["expand"], "expand"),
        (["export"], "export"), (["info"], "info"), (["create"], "create"), (["bench"], "bench"),
    ]

    static func help(_ arguments: [String]) throws -> CommandRunner.Result {
        let directory = try TemporaryDirectory()
        return try CommandRunner.run(arguments + ["--help"], in: directory.url, environment: ["COLUMNS": "80"])
    }

    @Test(arguments: HelpGoldenTests.commands.map(\.file))
    func helpTextMatchesItsGoldenFile(_ file: String) throws {
        let arguments = Self.commands.first { $0.file == file }!.arguments
        let result = try Self.help(arguments)
        #expect(result.status == 0, "\(arguments): \(result.standardError)")
        let url = Self.directory.appendingPathComponent(file + ".txt")
        if ProcessInfo.processInfo.environment["IDZIP_UPDATE_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(at: Self.directory, withIntermediateDirectories: true)
            try Data(result.standardOutput.utf8).write(to: url)
            return
        }
        let golden = try String(contentsOf: url, encoding: .utf8)
        #expect(result.standardOutput == golden, """
            `idzip \(arguments.joined(separator: " ")) --help` differs from \(url.path); if the change is intended, \
            run scripts/update-help-golden.sh and review the diff
            """)
    }

    /// A new subcommand needs a golden file too.
    @Test func everySubcommandHasAGoldenFile() throws {
        let known = Set(Self.commands.map { $0.arguments.joined(separator: " ") })
        for parent in [[], ["sweep"]] as [[String]] {
            let text = try Self.help(parent).standardOutput
            guard let section = text.components(separatedBy: "SUBCOMMANDS:").last else { continue }
            let names = section.split(separator: "\n").compactMap { line -> String? in
                guard line.hasPrefix("  "), !line.hasPrefix("   "), let word = line.split(separator: " ").first else { return nil }
                return String(word)
            }
            #expect(!names.isEmpty, "\(parent): no subcommands found in the help")
            for name in names where !name.hasPrefix("help") && name != "See" {
                #expect(known.contains((parent + [name]).joined(separator: " ")), "no golden help file for `idzip \((parent + [name]).joined(separator: " "))`")
            }
        }
    }
}
