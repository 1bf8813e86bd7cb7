import Foundation
import IdzipCore
import Testing

/// `OutputTarget` and `AtomicFileWriter`: the one mechanism behind every output idzip
/// writes. Outputs never replace an input, a FIFO or a device, and never leave a partial
/// or hidden file.
struct OutputTargetTests {
    final class Directory {
        let path: String
        init() throws {
            path = FileManager.default.temporaryDirectory.appendingPathComponent("idzip-output-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: path + "/sub", withIntermediateDirectories: true)
        }
        deinit { try? FileManager.default.removeItem(atPath: path) }
        func file(_ name: String) -> String { path + "/" + name }
        var contents: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }
        func write(_ text: String, to name: String) throws { try Data(text.utf8).write(to: URL(fileURLWithPath: file(name))) }
        func read(_ name: String) -> String? { try? String(contentsOfFile: file(name), encoding: .utf8) }
    }

    func refusal(_ path: String, inputs: [String] = [], standardOutput: Bool = false, streams: Bool = true) -> OutputPathError? {
        do {
            _ = try OutputTarget.check(path, role: "-o", inputs: inputs, standardOutput: standardOutput, streams: streams)
            return nil
        } catch {
            return error
        }
    }

    @Test func theSameFileAsAnInputIsRefusedWhateverTheSpelling() throws {
        let directory = try Directory()
        try directory.write("model", to: "m.idz")
        #expect(link(directory.file("m.idz"), directory.file("hard.idz")) == 0)
        try FileManager.default.createSymbolicLink(atPath: directory.file("soft.idz"), withDestinationPath: "m.idz")
        let input = directory.file("m.idz")
        for spelling in ["m.idz", "./m.idz", "sub/../m.idz", "sub/./../m.idz", "hard.idz", "soft.idz"] {
            let error = refusal(directory.path + "/" + spelling, inputs: [input])
            #expect(error?.isUsage == true && error?.description.contains("is the input") == true, "\(spelling): \(String(describing: error))")
        }
        // The input named through the link is the same file as the output named directly.
        #expect(refusal(input, inputs: [directory.file("soft.idz")])?.isUsage == true)
        #expect(refusal(directory.file("other.npy"), inputs: [input]) == nil)
        #expect(directory.read("m.idz") == "model")
    }

    @Test func directoriesMissingDirectoriesAndDanglingLinksAreRefused() throws {
        let directory = try Directory()
        try FileManager.default.createSymbolicLink(atPath: directory.file("dangling"), withDestinationPath: "nowhere/x")
        for (path, words) in [
            (directory.file("sub"), "is a directory"),
            (directory.file("new/"), "names a directory"),
            (directory.file("dangling"), "symbolic link to nothing"),
            ("", "names no file"),
            ("-", "standard output"),
        ] {
            let error = refusal(path)
            #expect(error?.isUsage == true && error?.description.contains(words) == true, "\(path): \(String(describing: error))")
        }
        // A missing directory is the file system's state, as a missing input is: exit 1.
        for path in [directory.file("missing/m.npy"), directory.file("missing/../out.npy")] {
            let error = refusal(path)
            #expect(error?.isUsage == false && error?.description.contains("does not exist") == true, "\(path): \(String(describing: error))")
        }
        try directory.write("x", to: "plain")
        #expect(refusal(directory.file("plain/m.npy"))?.isUsage == false, "a path through a regular file")
        #expect(refusal(directory.file("sub/m.npy")) == nil)
        #expect(try OutputTarget.check("-", role: "-o", inputs: [], standardOutput: true) == .standardOutput)
        #expect(directory.contents == ["dangling", "plain", "sub"], "the checks leave nothing behind")
    }

    @Test func aDirectoryThatTakesNoFilesIsAFailureNotAUsageError() throws {
        // /proc takes no new files, even for root.
        guard FileManager.default.fileExists(atPath: "/proc/self") else { return }
        let error = refusal("/proc/idzip-output.npy")
        #expect(error != nil && error?.isUsage == false, "\(String(describing: error))")
        if getuid() != 0 {
            let directory = try Directory()
            #expect(chmod(directory.file("sub"), 0o555) == 0)
            defer { chmod(directory.file("sub"), 0o755) }
            #expect(refusal(directory.file("sub/m.npy"))?.isUsage == false)
        }
    }

    @Test func FIFOsAndDevicesAreStreamsUnlessARegularFileIsNeeded() throws {
        let directory = try Directory()
        #expect(mkfifo(directory.file("fifo"), 0o644) == 0)
        #expect(try OutputTarget.check(directory.file("fifo"), role: "-o", inputs: []) == .file(URL(fileURLWithPath: directory.file("fifo"))))
        #expect(refusal("/dev/null") == nil)
        #expect(refusal(directory.file("fifo"), streams: false)?.isUsage == true)
        #expect(refusal("/dev/null", streams: false)?.isUsage == true)
    }

    @Test func theDirectoryOfASweepIsCheckedBeforeItIsCreated() throws {
        let directory = try Directory()
        try directory.write("x", to: "plain")
        func error(_ path: String) -> OutputPathError? {
            do { try OutputTarget.checkDirectory(path, role: "--out", inputs: []); return nil } catch { return error }
        }
        #expect(error(directory.file("sub")) == nil)
        #expect(error(directory.file("new/deeper")) == nil)
        #expect(!FileManager.default.fileExists(atPath: directory.file("new")), "checking creates nothing")
        #expect(error(directory.file("plain"))?.isUsage == true)
        #expect(error(directory.file("plain/deeper"))?.isUsage == false)
        #expect(error(directory.path)?.isUsage == nil)
        if FileManager.default.fileExists(atPath: "/proc/self") { #expect(error("/proc/idzip-sweep")?.isUsage == false) }
    }

    @Test func aWriteIsInvisibleUntilCommittedAndLeavesNoTemporary() throws {
        let directory = try Directory()
        try directory.write("old", to: "out.bin")
        let writer = try AtomicFileWriter(destination: URL(fileURLWithPath: directory.file("out.bin")))
        try writer.write(Array("new bytes".utf8))
        if TemporaryFile.unnamedAllowed {
            #expect(directory.contents == ["out.bin", "sub"], "an unnamed temporary has no name to leave behind")
        }
        #expect(directory.read("out.bin") == "old")
        try writer.commit()
        #expect(directory.read("out.bin") == "new bytes")
        #expect(directory.contents == ["out.bin", "sub"])

        let abandoned = try AtomicFileWriter(destination: URL(fileURLWithPath: directory.file("out.bin")))
        try abandoned.write(Array("partial".utf8))
        abandoned.discard()
        let fresh = try AtomicFileWriter(destination: URL(fileURLWithPath: directory.file("fresh.bin")))
        try fresh.write(Array("x".utf8))
        fresh.discard()
        #expect(directory.read("out.bin") == "new bytes")
        #expect(directory.contents == ["out.bin", "sub"])
    }

    @Test func aSymbolicLinkIsFollowedAndKept() throws {
        let directory = try Directory()
        try directory.write("old", to: "sub/target.bin")
        try FileManager.default.createSymbolicLink(atPath: directory.file("link.bin"), withDestinationPath: "sub/target.bin")
        try AtomicFileWriter.write(Array("new".utf8), to: URL(fileURLWithPath: directory.file("link.bin")))
        #expect(directory.read("sub/target.bin") == "new")
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: directory.file("link.bin"))) == "sub/target.bin")
        #expect(directory.contents == ["link.bin", "sub"])
    }

    @Test func aFIFOIsWrittenIntoAndItsReaderGetsTheBytesAndEndOfFile() throws {
        let directory = try Directory()
        let fifo = directory.file("fifo")
        #expect(mkfifo(fifo, 0o644) == 0)
        let received = ReceivedBytes()
        let reader = Thread { received.bytes = FileHandle(forReadingAtPath: fifo)?.readDataToEndOfFile() ?? Data() ; received.done.signal() }
        reader.start()
        let payload = [UInt8]((0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        try AtomicFileWriter.write(payload, to: URL(fileURLWithPath: fifo))
        #expect(received.done.wait(timeout: .now() + 30) == .success, "the reader saw end of file")
        #expect([UInt8](received.bytes) == payload)
        var status = stat()
        #expect(lstat(fifo, &status) == 0 && status.st_mode & S_IFMT == S_IFIFO, "still a FIFO")
        #expect(directory.contents == ["fifo", "sub"])
    }

    final class ReceivedBytes: @unchecked Sendable {
        var bytes = Data()
        let done = DispatchSemaphore(value: 0)
    }

    @Test func staleTemporariesOfDeadProcessesAreSweptAndLiveOnesKept() throws {
        let directory = try Directory()
        // A pid above any pid_max: no such process.
        try directory.write("partial", to: ".out.bin.idzip-999999999-AbCdEf")
        try directory.write("partial", to: ".out.bin.idzip-\(getpid())-AbCdEf")
        try directory.write("kept", to: ".other.bin.idzip-999999999-AbCdEf")
        try AtomicFileWriter.write(Array("done".utf8), to: URL(fileURLWithPath: directory.file("out.bin")))
        #expect(directory.contents == [".other.bin.idzip-999999999-AbCdEf", ".out.bin.idzip-\(getpid())-AbCdEf", "out.bin", "sub"])
        TemporaryFile.sweepStale(directory: directory.path, destinationName: "other.bin")
        #expect(!directory.contents.contains(".other.bin.idzip-999999999-AbCdEf"))
    }
}
