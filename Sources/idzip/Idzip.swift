import ArgumentParser
import Foundation
import IdzipCore

@main
struct Idzip: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train networks in small random subspaces and ship them as .idz files of a few kilobytes.",
        discussion: """
            Exit status: 0 on success, 1 when the work failed (bad file, missing data, checksum \
            mismatch), 64 when the command line is wrong.
            """,
        version: IdzipVersion.current,
        subcommands: [Train.self, Sweep.self, Eval.self, Predict.self, Expand.self, Export.self, Info.self, Create.self, Bench.self]
    )

    /// Parses and runs the command. A usage error that a subcommand finds while running (a
    /// `ValidationError` from `run()`) is shown with that subcommand's usage, as the parser's
    /// own errors are, not with the top-level one (exit status 64 either way).
    static func main() {
        var command: any ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            exit(withError: error)
        }
        do {
            try command.run()
        } catch let error as ValidationError {
            let usage = usageString(for: type(of: command))
            let name = usage.split(separator: " ").prefix { !"<[-".contains($0.first ?? "-") }.joined(separator: " ")
            FileHandle.standardError.write(Data(
                "Error: \(error.message)\nUsage: \(usage)\n  See '\(name) --help' for more information.\n".utf8))
            Foundation.exit(ExitCode.validationFailure.rawValue)
        } catch {
            exit(withError: error)
        }
    }
}
