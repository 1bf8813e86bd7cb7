import CIdzipKernels
import Foundation

/// Where a command's output goes, checked before any work starts. Every output idzip
/// writes (models, checkpoints, expanded weights, exports, predictions, sweep files) is
/// checked here and written by `AtomicFileWriter`, so the rules hold for all of them:
///
/// - `-` is standard output, for outputs that are streams (`standardOutput: true`).
/// - An output that is the same file as an input (same device and inode, whatever the
///   spelling: `./m.idz`, `../dir/m.idz`, a hard link, a symbolic link) is refused.
/// - A directory, a socket or a block device is refused; so is a symbolic link to nothing.
/// - A FIFO or a character device (`/dev/null`, a terminal) is written into directly,
///   never replaced by a regular file (`streams: true`; checkpoints need a regular file).
/// - A symbolic link is followed: the file it names is written as if named directly, and
///   the link stays.
/// - A regular file or a new name is written atomically in its directory, which must exist
///   and accept new files; idzip creates no directories for a file output.
public enum OutputTarget: Sendable, Equatable {
    case standardOutput
    case file(URL)

    /// The name for messages: "-" or the path.
    public var name: String {
        switch self {
        case .standardOutput: "-"
        case .file(let url): url.relativePath
        }
    }

    /// The path of a file target as given: `URL.path` folds `dir/..` away for a relative
    /// URL, where the kernel would look into `dir` (which may not exist, or be a link).
    static func rawPath(_ url: URL) -> String { url.relativePath }

    /// The directory part of `path`, spelled as given ("." when there is none).
    static func directoryPart(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let head = path[..<slash]
        return head.isEmpty ? "/" : String(head)
    }

    /// The last component of `path`.
    static func namePart(_ path: String) -> String {
        path.lastIndex(of: "/").map { String(path[path.index(after: $0)...]) } ?? path
    }

    /// Checks the output `path` against the rules above and `inputs` (files the command
    /// reads; missing ones are ignored) without creating or opening anything that stays.
    /// - Parameters:
    ///   - role: how messages name the output ("-o", "--predictions", "the checkpoint").
    ///   - standardOutput: whether `-` means standard output.
    ///   - streams: whether a FIFO or character device is acceptable.
    /// - Throws: `OutputPathError`: `.isUsage` for a refused name (same as an input, a
    ///   directory, a link to nothing, `-` where no stream is allowed); else (exit 1, like
    ///   a missing input) a missing directory or one that takes no new files.
    public static func check(
        _ path: String, role: String, inputs: [String], standardOutput: Bool = false, streams: Bool = true
    ) throws(OutputPathError) -> OutputTarget {
        guard !path.isEmpty else { throw .usage("\(role) names no file") }
        if path == "-" {
            guard standardOutput else { throw .usage("\(role) cannot be standard output ('-'); name a file") }
            var status = stat()
            if fstat(STDOUT_FILENO, &status) == 0, status.st_mode & S_IFMT == S_IFREG, let input = sameFile(status, inputs) {
                throw .usage("standard output is the input \(input); redirect it elsewhere")
            }
            return .standardOutput
        }
        if path.hasSuffix("/") { throw .usage("\(role) \(path) names a directory; name a file") }
        var status = stat()
        if stat(path, &status) == 0 {
            if let input = sameFile(status, inputs) {
                throw .usage("\(role) \(path) is the input \(input); name another file")
            }
            switch status.st_mode & S_IFMT {
            case S_IFREG:
                try checkDirectory(of: realPath(path) ?? path, role: role, output: path)
            case S_IFDIR:
                throw .usage("\(role) \(path) is a directory; name a file")
            case S_IFIFO, S_IFCHR:
                guard streams else { throw .usage("\(role) \(path) must be a regular file (it is a FIFO or device)") }
            default:
                throw .usage("\(role) \(path) is a socket or block device; name a regular file, a FIFO or a character device")
            }
            return .file(URL(fileURLWithPath: path))
        }
        let error = errno
        var linkStatus = stat()
        if error == ENOENT, lstat(path, &linkStatus) == 0, linkStatus.st_mode & S_IFMT == S_IFLNK {
            throw .usage("\(role) \(path) is a symbolic link to nothing; name a file")
        }
        guard error == ENOENT else {
            if error == ENOTDIR { throw .failure("cannot write \(path): a part of the path is not a directory") }
            throw .failure("cannot write \(path): \(String(cString: strerror(error)))")
        }
        try checkDirectory(of: path, role: role, output: path)
        return .file(URL(fileURLWithPath: path))
    }

    /// Checks a directory that receives outputs (`sweep --out`): it exists and accepts new
    /// files, or it is missing and its nearest existing ancestor does (it is created, with
    /// missing parents, when the work starts).
    /// - Throws: `OutputPathError` as `check`.
    public static func checkDirectory(_ path: String, role: String, inputs: [String]) throws(OutputPathError) {
        guard !path.isEmpty, path != "-" else { throw .usage("\(role) must name a directory") }
        var status = stat()
        if stat(path, &status) == 0 {
            if let input = sameFile(status, inputs) { throw .usage("\(role) \(path) is the input \(input); name another directory") }
            guard status.st_mode & S_IFMT == S_IFDIR else { throw .usage("\(role) \(path) exists and is not a directory") }
            try probe(directory: path, output: path)
            return
        }
        var ancestor = path
        while ancestor.count > 1, ancestor.hasSuffix("/") { ancestor.removeLast() }
        while stat(ancestor, &status) != 0 {
            if errno == ENOTDIR { throw .failure("cannot create \(path): a part of the path is not a directory") }
            guard errno == ENOENT, ancestor != "/", ancestor != "." else {
                throw .usage("\(role) \(path) cannot be created: \(String(cString: strerror(errno)))")
            }
            ancestor = directoryPart(ancestor)
        }
        guard status.st_mode & S_IFMT == S_IFDIR else { throw .failure("cannot create \(path): \(ancestor) is not a directory") }
        try probe(directory: ancestor, output: path)
    }

    /// The input of `inputs` that is the file `status` describes (device and inode), if any.
    static func sameFile(_ status: stat, _ inputs: [String]) -> String? {
        inputs.first { input in
            var other = stat()
            return stat(input, &other) == 0 && other.st_dev == status.st_dev && other.st_ino == status.st_ino
        }
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The directory of the file `path` exists and takes new files.
    static func checkDirectory(of path: String, role: String, output: String) throws(OutputPathError) {
        let directory = directoryPart(path)
        var status = stat()
        guard stat(directory, &status) == 0 else {
            throw .failure("cannot write \(output): the directory \(directory) does not exist; create it first")
        }
        guard status.st_mode & S_IFMT == S_IFDIR else { throw .failure("cannot write \(output): \(directory) is not a directory") }
        try probe(directory: directory, output: output)
    }

    /// Creates and removes a temporary file in `directory` (an unnamed one where the system
    /// has them, so that nothing can be left behind), as the writer will.
    static func probe(directory: String, output: String) throws(OutputPathError) {
        do {
            let temporary = try TemporaryFile(directory: directory, destinationName: ".idzip-probe")
            temporary.remove()
        } catch {
            throw .failure("cannot write \(output): \(error.reason)")
        }
    }
}

/// An output that cannot be written, found before any work.
public struct OutputPathError: Error, CustomStringConvertible, Equatable {
    /// True when the command line names an unusable output (exit 64); false when the
    /// file system cannot take it (a missing directory, permissions, a read-only disk:
    /// exit 1, as a missing input is).
    public var isUsage: Bool
    public var description: String

    static func usage(_ description: String) -> OutputPathError { OutputPathError(isUsage: true, description: description) }
    static func failure(_ description: String) -> OutputPathError { OutputPathError(isUsage: false, description: description) }
}

/// Removes the named temporaries of the process when it is interrupted (SIGINT), ended
/// (SIGTERM, as Slurm does at a job's time limit) or hung up (SIGHUP), then lets the signal
/// end it. Unnamed temporaries (Linux) need nothing: the kernel drops them with the process.
/// A program embedding IdzipCore calls this once if it wants the same.
public enum OutputCleanup {
    /// Installs the handlers (once); `interruptMessage` is written to standard error on SIGINT.
    public static func installSignalHandlers(interruptMessage: String? = nil) {
        // Kept for the process's lifetime: the handler may read it at any moment.
        let message: UnsafePointer<CChar>? = interruptMessage.flatMap { text in strdup(text).map { UnsafePointer($0) } }
        idz_temporary_install_handlers(message)
    }
}

/// C's standard output and error, which Swift's `print` shares (Swift 6 cannot name C's
/// `stdout` itself).
public enum StandardStreams {
    /// Writes `text` and flushes (standard error when `toError`).
    public static func write(_ text: String, toError: Bool = false) {
        idz_standard_stream_write(toError ? 1 : 0, text)
    }

    /// Flushes standard output: nil, or why a write to it failed (now or earlier).
    public static func flushOutput() -> String? {
        let error = idz_standard_output_flush()
        return error == 0 ? nil : String(cString: strerror(error))
    }
}

/// A temporary file beside a destination: unnamed (Linux `O_TMPFILE`: nothing remains if
/// the process dies) where possible, else named `.<name>.idzip-<pid>-XXXXXX`, registered for
/// removal on SIGINT/SIGTERM/SIGHUP; stale ones of dead processes are swept on the way.
package struct TemporaryFile {
    var descriptor: Int32
    /// The path of a named temporary; nil for an unnamed one.
    var path: String?
    var slot: Int32 = -1
    let directory: String

    /// Set `IDZIP_NAMED_TEMPORARIES=1` to use named temporaries where unnamed ones work
    /// (tests of the fallback).
    package static let unnamedAllowed: Bool = {
        ProcessInfo.processInfo.environment["IDZIP_NAMED_TEMPORARIES"] != "1" && idz_can_link_unnamed_temporaries() == 1
    }()

    init(directory: String, destinationName: String) throws(FileWriteError) {
        self.directory = directory
        Self.sweepStale(directory: directory, destinationName: destinationName)
        if Self.unnamedAllowed {
            let fd = idz_open_unnamed_temporary(directory, 0o644)
            if fd >= 0 {
                descriptor = fd
                fchmod(fd, 0o644)
                path = nil
                return
            }
            let error = errno
            guard error == EOPNOTSUPP || error == EISDIR || error == EINVAL else {
                throw FileWriteError(path: directory, reason: String(cString: strerror(error)))
            }
        }
        (descriptor, path, slot) = try Self.named(directory: directory, prefix: Self.prefix(destinationName) + "\(getpid())-")
    }

    static func prefix(_ destinationName: String) -> String { ".\(destinationName).idzip-" }

    /// A new named temporary `<directory>/<prefix>XXXXXX`, registered for removal on
    /// signals before it exists (so no signal can fall between its creation and its record).
    static func named(directory: String, prefix: String) throws(FileWriteError) -> (Int32, String, Int32) {
        let letters = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        for _ in 0..<100 {
            let path = "\(directory)/\(prefix)" + String((0..<6).map { _ in letters.randomElement()! })
            let slot = idz_temporary_register(path)
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            if fd >= 0 {
                fchmod(fd, 0o644)
                return (fd, path, slot)
            }
            let error = errno
            idz_temporary_unregister(slot)
            guard error == EEXIST else { throw FileWriteError(path: directory, reason: String(cString: strerror(error))) }
        }
        throw FileWriteError(path: directory, reason: "no free temporary name")
    }

    /// Removes `.<name>.idzip-<pid>-XXXXXX` files of processes that no longer exist (left by
    /// `kill -9` or a power cut); those of running processes are theirs.
    package static func sweepStale(directory: String, destinationName: String) {
        let prefix = Array(prefix(destinationName).utf8)
        guard let stream = opendir(directory) else { return }
        defer { closedir(stream) }
        var stale: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                Array(raw.prefix { $0 != 0 })
            }
            guard name.count > prefix.count, name.starts(with: prefix) else { continue }
            let rest = name[prefix.count...]
            guard let dash = rest.firstIndex(of: UInt8(ascii: "-")),
                let pid = pid_t(String(decoding: rest[..<dash], as: UTF8.self)), pid > 0
            else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { stale.append(directory + "/" + String(decoding: name, as: UTF8.self)) }
        }
        stale.forEach { unlink($0) }
    }

    /// Makes the complete file `destination` (after fsync): links an unnamed temporary in
    /// (renaming over an existing file through a named link), or renames a named one.
    func commit(to destination: String, destinationName: String) throws(FileWriteError) {
        guard let path else {
            if idz_link_unnamed_temporary(descriptor, destination) == 0 { return }
            guard errno == EEXIST else { throw FileWriteError(path: destination, reason: String(cString: strerror(errno))) }
            // link never replaces: link under a fresh name, then rename over the file.
            for _ in 0..<100 {
                let candidate = "\(directory)/\(Self.prefix(destinationName))\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
                let slot = idz_temporary_register(candidate)
                defer { idz_temporary_unregister(slot) }
                guard idz_link_unnamed_temporary(descriptor, candidate) == 0 else {
                    if errno == EEXIST { continue }
                    throw FileWriteError(path: destination, reason: String(cString: strerror(errno)))
                }
                guard rename(candidate, destination) == 0 else {
                    let reason = String(cString: strerror(errno))
                    unlink(candidate)
                    throw FileWriteError(path: destination, reason: reason)
                }
                return
            }
            throw FileWriteError(path: destination, reason: "no free temporary name in \(directory)")
        }
        // On failure the caller's `remove()` deletes the temporary.
        guard rename(path, destination) == 0 else { throw FileWriteError(path: destination, reason: String(cString: strerror(errno))) }
        idz_temporary_unregister(slot)
    }

    /// Closes and deletes the temporary.
    func remove() {
        close(descriptor)
        if let path {
            unlink(path)
            idz_temporary_unregister(slot)
        }
    }
}
