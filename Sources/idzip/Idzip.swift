import ArgumentParser
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

    /// Parses and runs a command. Every error a command's `run()` throws passes through
    /// `terminalSafeError`, so no text from a file reaches the terminal unescaped.
    static func main() {
        var command: any ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            exit(withError: error)
        }
        do {
            try command.run()
        } catch {
            exit(withError: terminalSafeError(error))
        }
    }
}
