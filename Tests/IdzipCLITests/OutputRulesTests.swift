import Foundation
import IdzipCore
import Testing

/// Outputs never destroy anything (README, "What `-o` accepts"): an output that is an
/// input is refused whatever its spelling; FIFOs and devices are written into, never
/// replaced; `-` is standard output; a bad output is reported before any work; `kill -9`,
/// SIGTERM and SIGINT leave no partial or hidden file; a failed standard output is exit 1.
@Suite(.serialized) struct OutputRulesTests {
    func idzip(_ arguments: [String], in directory: TemporaryDirectory, environment: [String: String] = [:]) throws -> CommandRunner.Result {
        try CommandRunner.run(arguments, in: directory.url, environment: environment)
    }

    func oneLine(_ result: CommandRunner.Result) -> Bool {
        result.standardError.split(separator: "\n").count == 1
    }

    func kind(_ path: URL) -> mode_t? {
        var status = stat()
        return lstat(path.path, &status) == 0 ? status.st_mode & S_IFMT : nil
    }

    /// A small model m.idz and a data directory `data` whose files are only bytes (every
    /// check below happens before data is read).
    func setUp() throws -> TemporaryDirectory {
        let directory = try TemporaryDirectory()
        let create = try idzip(["create", "--model", "fc:784-8-10", "--dim", "5", "--theta-scale", "0.1", "-o", "m.idz"], in: directory)
        #expect(create.status == 0, "\(create.standardError)")
        try FileManager.default.createDirectory(at: directory.file("data"), withIntermediateDirectories: true)
        for name in ["train_x.npy", "train_y.npy", "test_x.npy", "test_y.npy"] {
            try Data("data \(name)".utf8).write(to: directory.file("data/\(name)"))
        }
        try FileManager.default.createDirectory(at: directory.file("sub"), withIntermediateDirectories: true)
        return directory
    }

    // MARK: The same file as an input

    @Test func anOutputThatIsAnInputIsRefusedWhateverItsSpelling() throws {
        let directory = try setUp()
        #expect(link(directory.file("m.idz").path, directory.file("hard.idz").path) == 0)
        try FileManager.default.createSymbolicLink(atPath: directory.file("soft.idz").path, withDestinationPath: "m.idz")
        #expect(link(directory.file("data/train_x.npy").path, directory.file("data/x.idz").path) == 0)
        #expect(link(directory.file("data/test_y.npy").path, directory.file("data/c.idz.checkpoint").path) == 0)
        let model = try Data(contentsOf: directory.file("m.idz"))
        let cases: [[String]] = [
            ["expand", "m.idz", "-o", "m.idz", "--format", "npy"],
            ["expand", "m.idz", "-o", "./m.idz", "--format", "npy"],
            ["expand", "m.idz", "-o", "sub/../m.idz", "--format", "safetensors"],
            ["expand", "m.idz", "-o", "./sub/./../m.idz", "--format", "npy"],
            ["expand", "./m.idz", "-o", directory.file("m.idz").path, "--format", "npy"],
            ["expand", "m.idz", "-o", "hard.idz", "--format", "npy"],
            ["expand", "m.idz", "-o", "soft.idz", "--format", "npy"],
            ["expand", "soft.idz", "-o", "m.idz", "--format", "npy"],
            ["export", "m.idz", "--format", "c", "-o", "hard.idz"],
            ["export", "m.idz", "--format", "onnx", "-o", "soft.idz"],
            ["eval", "m.idz", "--data", "data", "--predictions", "m.idz"],
            ["eval", "m.idz", "--data", "data", "--predictions", "./hard.idz"],
            ["eval", "m.idz", "--data", "data", "--predictions", "data/train_y.npy"],
            ["eval", "m.idz", "--data", "data", "--predictions", "sub/../data/../data/test_x.npy"],
            ["train", "--model", "fc:784-8-10", "--data", "data", "--dim", "5", "-o", "data/x.idz"],
            ["train", "--model", "fc:784-8-10", "--data", "data", "--dim", "5", "-o", "data/c.idz"],
        ]
        for arguments in cases {
            let result = try idzip(arguments, in: directory)
            #expect(result.status == 64 && oneLine(result) && result.standardError.contains("is the input"), "\(arguments): \(result.status) \(result.standardError)")
        }
        #expect(try Data(contentsOf: directory.file("m.idz")) == model)
        for name in ["train_x.npy", "train_y.npy", "test_x.npy", "test_y.npy"] {
            #expect(try String(contentsOf: directory.file("data/\(name)"), encoding: .utf8) == "data \(name)")
        }
        #expect(kind(directory.file("soft.idz")) == S_IFLNK)
    }

    // MARK: Destinations that are not regular files

    /// Runs `arguments` while a thread reads the FIFO `name`: what the reader got.
    func readingFIFO(_ name: String, _ arguments: [String], in directory: TemporaryDirectory) throws -> (CommandRunner.Result, Data) {
        let received = Received()
        let path = directory.file(name).path
        let reader = Thread {
            received.data = FileHandle(forReadingAtPath: path)?.readDataToEndOfFile() ?? Data()
            received.done.signal()
        }
        reader.start()
        let result = try idzip(arguments, in: directory)
        #expect(received.done.wait(timeout: .now() + 60) == .success, "the FIFO's reader got end of file")
        return (result, received.data)
    }

    final class Received: @unchecked Sendable {
        var data = Data()
        let done = DispatchSemaphore(value: 0)
    }

    @Test func aFIFOIsWrittenIntoAndItsReaderGetsTheBytesAndEndOfFile() throws {
        let directory = try setUp()
        #expect(mkfifo(directory.file("fifo").path, 0o644) == 0)
        for (arguments, reference) in [
            (["expand", "m.idz", "-o", "fifo", "--format", "npy"], ["expand", "m.idz", "-o", "ref.npy"]),
            // The include guard comes from the output's name: the reference has the same name.
            (["export", "m.idz", "--format", "c", "-o", "fifo"], ["export", "m.idz", "--format", "c", "-o", "sub/fifo"]),
        ] {
            let (result, bytes) = try readingFIFO("fifo", arguments, in: directory)
            #expect(result.status == 0, "\(arguments): \(result.standardError)")
            #expect(try idzip(reference, in: directory).status == 0)
            let expected = try Data(contentsOf: directory.file(reference[reference.count - 1]))
            #expect(!bytes.isEmpty && bytes == expected, "\(arguments)")
            #expect(kind(directory.file("fifo")) == S_IFIFO, "still a FIFO")
        }
    }

    @Test func devicesAndLinksToThemAreWrittenIntoNotReplaced() throws {
        let directory = try setUp()
        try FileManager.default.createSymbolicLink(atPath: directory.file("null.onnx").path, withDestinationPath: "/dev/null")
        try FileManager.default.createSymbolicLink(atPath: directory.file("stdout.h").path, withDestinationPath: "/proc/self/fd/1")
        var cases: [([String], String)] = [
            (["export", "m.idz", "--format", "onnx", "-o", "null.onnx"], "null.onnx"),
            (["expand", "m.idz", "-o", "/dev/null", "--format", "npy"], "null.onnx"),
            (["eval", "m.idz", "--data", "mnist", "--predictions", "null.onnx"], "null.onnx"),
            (["export", "m.idz", "--format", "c", "-o", "stdout.h"], "stdout.h"),
        ]
        // A copy of /dev/null made with mknod (needs root, or CAP_MKNOD).
        if mknod(directory.file("null.idz").path, S_IFCHR | 0o666, dev_t(1 << 8 | 3)) == 0 {
            cases.append((["expand", "m.idz", "-o", "null.idz", "--format", "npy"], "null.idz"))
            cases.append((["train", "--model", "toy", "--dim", "3", "--epochs", "5", "-o", "null.idz"], "null.idz"))
            cases.append((["create", "--model", "toy", "--dim", "3", "-o", "null.idz"], "null.idz"))
        } else {
            #expect(getuid() != 0, "root can make a device node")
        }
        for (arguments, path) in cases {
            let result = try idzip(arguments, in: directory)
            #expect(result.status == 0, "\(arguments): \(result.standardError)")
            #expect(kind(directory.file(path)) != S_IFREG, "\(path) is what it was")
        }
        #expect(kind(directory.file("null.onnx")) == S_IFLNK && kind(directory.file("stdout.h")) == S_IFLNK)
        // Written through the link to standard output: the header arrived there.
        let header = try idzip(["export", "m.idz", "--format", "c", "-o", "stdout.h"], in: directory)
        #expect(header.standardOutput.contains("idz_predict"))
        var status = stat()
        #expect(stat("/dev/null", &status) == 0 && status.st_mode & S_IFMT == S_IFCHR)
    }

    @Test func aLinkIsFollowedToItsFileAndADanglingOneRefused() throws {
        let directory = try setUp()
        try Data("old".utf8).write(to: directory.file("sub/w.npy"))
        try FileManager.default.createSymbolicLink(atPath: directory.file("link.npy").path, withDestinationPath: "sub/w.npy")
        try FileManager.default.createSymbolicLink(atPath: directory.file("dangling.npy").path, withDestinationPath: "nowhere/w.npy")
        let followed = try idzip(["expand", "m.idz", "-o", "link.npy"], in: directory)
        #expect(followed.status == 0, "\(followed.standardError)")
        #expect(kind(directory.file("link.npy")) == S_IFLNK)
        #expect(try Data(contentsOf: directory.file("sub/w.npy")).starts(with: [0x93] + Array("NUMPY".utf8)))
        let dangling = try idzip(["expand", "m.idz", "-o", "dangling.npy"], in: directory)
        #expect(dangling.status == 64 && oneLine(dangling) && dangling.standardError.contains("symbolic link to nothing"), "\(dangling.standardError)")
        #expect(kind(directory.file("dangling.npy")) == S_IFLNK)
        #expect(directory.contents == ["dangling.npy", "data", "link.npy", "m.idz", "sub"])
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: directory.file("sub").path)) ?? []) == ["w.npy"])
    }

    @Test func dashIsStandardOutputForStreams() throws {
        let directory = try setUp()
        for (arguments, file) in [
            (["expand", "m.idz", "--format", "npy"], "m.npy"),
            (["expand", "m.idz", "--format", "safetensors"], "m.safetensors"),
            (["export", "m.idz", "--format", "onnx"], "m.onnx"),
        ] {
            let toFile = try idzip(arguments, in: directory)
            #expect(toFile.status == 0, "\(arguments): \(toFile.standardError)")
            let process = Process()
            process.executableURL = CommandRunner.executable
            process.arguments = arguments + ["-o", "-"]
            process.currentDirectoryURL = directory.url
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            let bytes = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "\(arguments)")
            let expected = try Data(contentsOf: directory.file(file))
            #expect(bytes == expected, "\(arguments) -o - gives the file's bytes")
            #expect(!FileManager.default.fileExists(atPath: directory.file("-").path))
        }
        let eval = try idzip(["eval", "m.idz", "--data", "mnist", "--predictions", "-"], in: directory)
        #expect(eval.status == 0, "\(eval.standardError)")
        #expect(eval.standardOutput.split(separator: "\n").count == 10_000 && eval.standardError.contains("accuracy"))
        for arguments in [
            ["expand", "m.idz", "-o", "-", "--json"], ["export", "m.idz", "--format", "c", "-o", "-", "--json"],
            ["train", "--model", "toy", "--dim", "3", "-o", "-"], ["create", "--model", "toy", "--dim", "3", "-o", "-"],
        ] {
            let result = try idzip(arguments, in: directory)
            #expect(result.status == 64, "\(arguments): \(result.standardError)")
        }
    }

    // MARK: Reported before any work

    @Test func aBadOutputIsReportedBeforeTrainingOrExpansion() throws {
        let directory = try setUp()
        try Data("x".utf8).write(to: directory.file("plain"))
        try FileManager.default.createDirectory(at: directory.file("dir.idz"), withIntermediateDirectories: true)
        let long = ["train", "--model", "toy", "--dim", "10", "--epochs", "100000"]
        // A refused name is exit 64; a missing directory is the file system's state, exit 1
        // as for a missing input. Either way one line, and nothing ran.
        let cases: [([String], Int32, String)] = [
            (long + ["-o", "missing/m.idz"], 1, "does not exist"),
            (long + ["-o", "dir.idz"], 64, "is a directory"),
            (long + ["-o", "plain/m.idz"], 1, "not a directory"),
            (["train", "--model", "fc:784-8-10", "--data", "mnist", "--dim", "5", "-o", "missing/m.idz"], 1, "does not exist"),
            (["expand", "m.idz", "-o", "missing/w.npy"], 1, "does not exist"),
            // The kernel looks into missing/ before going up: no such file, never m.idz itself.
            (["expand", "m.idz", "-o", "missing/../m.idz", "--format", "npy"], 1, "does not exist"),
            (["expand", "m.idz", "-o", "sub", "--format", "npy"], 64, "is a directory"),
            (["expand", "m.idz", "-o", "sub/", "--format", "npy"], 64, "names a directory"),
            (["export", "m.idz", "--format", "onnx", "-o", "missing/m.onnx"], 1, "does not exist"),
            (["eval", "m.idz", "--data", "no-such-data", "--predictions", "missing/p.txt"], 1, "does not exist"),
            (["eval", "m.idz", "--data", "no-such-data", "--predictions", "sub"], 64, "is a directory"),
            (["create", "--model", "toy", "--dim", "3", "-o", "missing/m.idz"], 1, "does not exist"),
            (["sweep", "--model", "toy", "--dims", "1-3", "--out", "plain"], 64, "not a directory"),
            (["sweep", "--model", "toy", "--dims", "1-3", "--out", "plain/deeper"], 1, "not a directory"),
        ]
        for (arguments, status, words) in cases {
            let result = try idzip(arguments, in: directory)
            #expect(result.status == status && oneLine(result) && result.standardError.contains(words), "\(arguments): \(result.status) \(result.standardError)")
            #expect(result.standardOutput.isEmpty, "\(arguments): nothing ran")
        }
        #expect(try IdzFile.read(contentsOf: directory.file("m.idz")).projection.dimension == 5, "m.idz is intact")
        // A directory that takes no new files: /proc even for root; a read-only one otherwise.
        var unwritable = ["/proc"]
        if getuid() != 0 {
            #expect(chmod(directory.file("sub").path, 0o555) == 0)
            unwritable.append("sub")
        }
        defer { chmod(directory.file("sub").path, 0o755) }
        for folder in unwritable {
            for arguments in [
                long + ["-o", "\(folder)/m.idz"], ["expand", "m.idz", "-o", "\(folder)/w.npy"],
                ["sweep", "--model", "toy", "--dims", "1-3", "--out", "\(folder)/sweep"],
            ] {
                let result = try idzip(arguments, in: directory)
                #expect(result.status == 1 && oneLine(result) && result.standardError.contains("cannot write"), "\(arguments): \(result.status) \(result.standardError)")
                #expect(result.standardOutput.isEmpty, "\(arguments): nothing ran")
            }
        }
        // sweep --out creates its directory, with missing parents.
        let sweep = try idzip(["sweep", "--model", "toy", "--dims", "1-2", "--epochs", "3", "--out", "new/deeper"], in: directory)
        #expect(sweep.status == 0, "\(sweep.standardError)")
        #expect(FileManager.default.fileExists(atPath: directory.file("new/deeper/results.json").path))
    }

    // MARK: kill -9, SIGTERM, SIGINT

    /// A model whose expansion to .npy (about 160 MB) takes long enough to be interrupted.
    func bigModel(in directory: TemporaryDirectory) throws {
        let create = try idzip(["create", "--model", "fc:1000-20000-1000", "--dim", "10", "--theta-scale", "0.1", "-o", "big.idz"], in: directory)
        #expect(create.status == 0, "\(create.standardError)")
    }

    func launchExpansion(in directory: TemporaryDirectory, environment: [String: String] = [:]) throws -> Process {
        let process = Process()
        process.executableURL = CommandRunner.executable
        process.arguments = ["expand", "big.idz", "-o", "big.npy"]
        process.currentDirectoryURL = directory.url
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Waits (at most a minute) until `condition` holds; false if the process ended first.
    func waitUntil(_ process: Process, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if condition() { return true }
            if !process.isRunning { return false }
            usleep(2_000)
        }
        return false
    }

    func hiddenTemporaries(_ directory: TemporaryDirectory) -> [String] {
        directory.contents.filter { $0.hasPrefix(".big.npy.idzip-") }
    }

    /// The process holds an open unnamed (deleted) file in `directory`: the expansion's temporary.
    func holdsUnnamedTemporary(_ process: Process, in directory: TemporaryDirectory) -> Bool {
        let fds = "/proc/\(process.processIdentifier)/fd"
        for fd in (try? FileManager.default.contentsOfDirectory(atPath: fds)) ?? [] {
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: fds + "/" + fd),
                target.hasPrefix(directory.url.path) || target.hasPrefix(directory.url.resolvingSymlinksInPath().path),
                target.hasSuffix("(deleted)")
            {
                return true
            }
        }
        return false
    }

    @Test func killDashNineDuringAnExpansionLeavesNoFileAndNoLaterRunTripsOnOne() throws {
        let directory = try TemporaryDirectory()
        try bigModel(in: directory)
        // Linux: an unnamed temporary; nothing is left.
        let unnamed = try launchExpansion(in: directory)
        let caught = waitUntil(unnamed) { holdsUnnamedTemporary(unnamed, in: directory) }
        kill(unnamed.processIdentifier, SIGKILL)
        unnamed.waitUntilExit()
        #expect(caught, "the expansion was caught writing")
        #expect(unnamed.terminationReason == .uncaughtSignal)
        #expect(directory.contents == ["big.idz"], "\(directory.contents)")

        // Named temporaries (other systems): kill -9 leaves one; the next write sweeps it.
        let named = try launchExpansion(in: directory, environment: ["IDZIP_NAMED_TEMPORARIES": "1"])
        let caughtNamed = waitUntil(named) { !hiddenTemporaries(directory).isEmpty }
        kill(named.processIdentifier, SIGKILL)
        named.waitUntilExit()
        #expect(caughtNamed && named.terminationReason == .uncaughtSignal)
        #expect(hiddenTemporaries(directory).count == 1, "\(directory.contents)")
        #expect(!directory.contents.contains("big.npy"))
        let again = try idzip(["expand", "big.idz", "-o", "big.npy"], in: directory)
        #expect(again.status == 0, "\(again.standardError)")
        #expect(directory.contents == ["big.idz", "big.npy", "big.npy.json"], "\(directory.contents)")
    }

    @Test(arguments: [SIGTERM, SIGINT, SIGHUP])
    func aSignalRemovesTheTemporaryFile(signal: Int32) throws {
        let directory = try TemporaryDirectory()
        try bigModel(in: directory)
        let process = try launchExpansion(in: directory, environment: ["IDZIP_NAMED_TEMPORARIES": "1"])
        let caught = waitUntil(process) { !hiddenTemporaries(directory).isEmpty }
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        #expect(caught, "the expansion was caught writing")
        #expect(process.terminationReason == .uncaughtSignal && process.terminationStatus == signal, "dies of the signal")
        #expect(directory.contents == ["big.idz"], "\(directory.contents)")
    }

    // MARK: A failed standard output

    func runWithStandardOutputFull(_ arguments: [String], in directory: TemporaryDirectory) throws -> (status: Int32, reason: Process.TerminationReason, error: String) {
        guard let full = FileHandle(forWritingAtPath: "/dev/full") else { return (0, .exit, "no /dev/full") }
        let process = Process()
        process.executableURL = CommandRunner.executable
        process.arguments = arguments
        process.currentDirectoryURL = directory.url
        let error = Pipe()
        process.standardOutput = full
        process.standardError = error
        try process.run()
        let message = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, process.terminationReason, String(decoding: message, as: UTF8.self))
    }

    @Test func aFailedWriteToStandardOutputIsExitOneWithOneLine() throws {
        guard FileManager.default.fileExists(atPath: "/dev/full") else { return }
        let directory = try setUp()
        for arguments in [
            ["info", "m.idz"], ["info", "m.idz", "--json"], ["expand", "m.idz", "-o", "w.npy", "--json"],
            ["expand", "m.idz", "-o", "-", "--format", "npy"], ["export", "m.idz", "--format", "c", "-o", "-"],
            ["create", "--model", "toy", "--dim", "3", "-o", "t.idz"], ["train", "--model", "toy", "--dim", "3", "--epochs", "20", "-o", "t2.idz"],
            ["train", "--model", "toy", "--dim", "3", "--epochs", "20", "-o", "t3.idz", "--json"],
            ["eval", "m.idz", "--data", "mnist", "--json"],
        ] {
            let result = try runWithStandardOutputFull(arguments, in: directory)
            #expect(result.status == 1 && result.reason == .exit, "\(arguments): \(result.status) \(result.error)")
            // One error line (train --json sends its progress to standard error too).
            let errors = result.error.split(separator: "\n").filter { $0.hasPrefix("Error:") }
            #expect(errors.count == 1 && errors[0].contains("cannot write standard output"), "\(arguments): \(result.error)")
            #expect(arguments.contains("--json") || result.error.split(separator: "\n").count == 1, "\(arguments): \(result.error)")
        }
    }
}
