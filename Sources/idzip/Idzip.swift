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

    /// As ArgumentParser's `main`, plus: temporaries removed on SIGINT/SIGTERM/SIGHUP, and
    /// standard output flushed and checked at the end (a full disk or closed pipe is exit 1).
    static func main() {
        OutputCleanup.installSignalHandlers()
        do {
            var command = try parseAsRoot()
            try command.run()
            try StandardOutput.finish()
        } catch {
            exit(withError: error)
        }
    }
}
