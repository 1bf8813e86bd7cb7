import ArgumentParser
import Foundation
import IdzipCore

@main
struct Idzip: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train networks in small random subspaces and ship them as .idz files of a few kilobytes.",
        discussion: """
            Exit status: 0 on success, 1 when the work failed (bad file, missing data, checksum \
            mismatch), 64 when the command line is wrong. Every command adds up the memory it \
            will hold before allocating it and refuses a task that needs more than the machine \
            has; IDZIP_MEMORY_LIMIT (e.g. 64G, or unlimited) sets another limit.
            """,
        version: IdzipVersion.current,
        subcommands: [Train.self, Sweep.self, Compress.self, Eval.self, Predict.self, Expand.self, Export.self, Info.self, Create.self, Bench.self]
    )

    /// As ArgumentParser's `main`, plus: a negative number after an option is its value
    /// (`NegativeNumberArguments`); temporaries removed on SIGINT/SIGTERM/SIGHUP;
    /// every error a command's `run()` throws passes through `terminalSafeError`, so no text
    /// from a file reaches the terminal unescaped; standard output flushed and checked at
    /// the end (a full disk or closed pipe is exit 1).
    static func main() {
        OutputCleanup.installSignalHandlers()
        var command: any ParsableCommand
        do {
            command = try parseAsRoot(NegativeNumberArguments.attached(Array(CommandLine.arguments.dropFirst())))
        } catch {
            exit(withError: error)
        }
        do {
            try command.run()
            try StandardOutput.finish()
        } catch let error as ValidationError {
            let usage = usageString(for: type(of: command))
            let name = usage.split(separator: " ").prefix { !"<[-".contains($0.first ?? "-") }.joined(separator: " ")
            StandardStreams.write(
                "Error: \(terminalSafe(error.message))\nUsage: \(usage)\n  See '\(name) --help' for more information.\n", toError: true)
            Foundation.exit(ExitCode.validationFailure.rawValue)
        } catch {
            exit(withError: terminalSafeError(error))
        }
    }
}
