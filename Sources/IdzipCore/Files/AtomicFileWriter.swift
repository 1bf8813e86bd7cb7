import CIdzipKernels
import Foundation

/// Writes one output of a command (see `OutputTarget` for the rules). A regular file (or a
/// new name) is written atomically: readers see the old file or the complete new one, never
/// a partial one. The bytes go to a temporary file in the destination's directory (unnamed
/// on Linux, so that even `kill -9` leaves nothing; else named and removed on SIGINT,
/// SIGTERM and SIGHUP), which `commit()` puts in place. A FIFO, a character device or
/// standard output is a stream: written directly, never replaced; `commit()` closes it. A
/// writer that is dropped without `commit()` removes its temporary file.
package final class AtomicFileWriter {
    /// The destination as named (for messages).
    package let destination: URL
    /// "standard output" or the path.
    private let displayName: String
    private enum Mode {
        /// A temporary to put at `path` (a symbolic link's target, resolved).
        case atomic(TemporaryFile, path: String)
        /// Written directly; `closes` is false for standard output.
        case stream(closes: Bool)
    }
    private var mode: Mode
    private var descriptor: Int32
    private var committed = false
    /// Bytes written, and the first byte not yet handed to `startWriteback()`.
    private var byteCount = 0
    private var writebackStart = 0

    package convenience init(destination: URL) throws(FileWriteError) {
        try self.init(target: .file(destination))
    }

    /// Opens `target`. A FIFO is opened for writing here, which waits for a reader.
    /// - Throws: `FileWriteError` for a directory, socket, block device or link to nothing,
    ///   or when the file or its temporary cannot be created.
    package init(target: OutputTarget) throws(FileWriteError) {
        switch target {
        case .standardOutput:
            destination = URL(fileURLWithPath: "/dev/stdout")
            displayName = "standard output"
            _ = idz_standard_output_flush()
            descriptor = STDOUT_FILENO
            mode = .stream(closes: false)
        case .file(let url):
            destination = url
            let path = OutputTarget.rawPath(url)
            displayName = path
            var status = stat()
            if stat(path, &status) == 0 {
                switch status.st_mode & S_IFMT {
                case S_IFREG:
                    let resolved = OutputTarget.realPath(path) ?? path
                    (descriptor, mode) = try Self.temporary(beside: resolved, for: path)
                case S_IFIFO, S_IFCHR:
                    // Written into, never replaced: no O_CREAT, no O_TRUNC.
                    var fd: Int32
                    repeat { fd = open(path, O_WRONLY | O_CLOEXEC) } while fd < 0 && errno == EINTR
                    guard fd >= 0 else { throw FileWriteError(path: path, reason: String(cString: strerror(errno))) }
                    descriptor = fd
                    mode = .stream(closes: true)
                case S_IFDIR:
                    throw FileWriteError(path: path, reason: "it is a directory; name a file")
                default:
                    throw FileWriteError(path: path, reason: "it is a socket or block device; name a regular file, a FIFO or a character device")
                }
            } else {
                var link = stat()
                if lstat(path, &link) == 0, link.st_mode & S_IFMT == S_IFLNK {
                    throw FileWriteError(path: path, reason: "it is a symbolic link to nothing; name a file")
                }
                (descriptor, mode) = try Self.temporary(beside: path, for: path)
            }
        }
    }

    private static func temporary(beside path: String, for name: String) throws(FileWriteError) -> (Int32, Mode) {
        do {
            let temporary = try TemporaryFile(directory: OutputTarget.directoryPart(path), destinationName: OutputTarget.namePart(path))
            return (temporary.descriptor, .atomic(temporary, path: path))
        } catch {
            throw FileWriteError(path: name, reason: error.reason)
        }
    }

    deinit {
        if !committed { discard() }
    }

    /// True when the output is a stream (FIFO, character device, standard output): bytes
    /// reach it as they are written and cannot be taken back.
    package var isStream: Bool {
        if case .stream = mode { return true }
        return false
    }

    /// Bytes written so far.
    package var bytesWritten: Int { byteCount }

    package func write(_ bytes: UnsafeRawBufferPointer) throws(FileWriteError) {
        var offset = 0
        while offset < bytes.count {
            let written = Foundation.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw FileWriteError(path: displayName, reason: String(cString: strerror(errno)))
            }
            offset += written
        }
        byteCount += bytes.count
    }

    /// Asks the kernel to start writing the bytes written since the last call to disk,
    /// without waiting, so that a long stream's `commit()` (fsync) has little left to do
    /// and the disk works while the caller computes. A hint: failures are ignored.
    package func startWriteback() {
        #if os(Linux)
        if isStream { return }
        guard descriptor >= 0, byteCount > writebackStart else { return }
        _ = posix_fadvise(descriptor, off_t(writebackStart), off_t(byteCount - writebackStart), POSIX_FADV_DONTNEED)
        writebackStart = byteCount
        #endif
    }

    package func write(_ bytes: [UInt8]) throws(FileWriteError) {
        var failure: FileWriteError?
        bytes.withUnsafeBytes { raw in
            do throws(FileWriteError) { try write(raw) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Flushes the temporary file to disk and puts it in place (a stream: closes it).
    package func commit() throws(FileWriteError) {
        guard !committed else { return }
        switch mode {
        case .stream(let closes):
            committed = true
            if closes {
                guard close(descriptor) == 0 else { throw FileWriteError(path: displayName, reason: String(cString: strerror(errno))) }
            }
            descriptor = -1
        case .atomic(let temporary, let path):
            guard fsync(descriptor) == 0 else {
                let reason = String(cString: strerror(errno))
                discard()
                throw FileWriteError(path: displayName, reason: reason)
            }
            do {
                try temporary.commit(to: path, destinationName: OutputTarget.namePart(path))
            } catch {
                discard()
                throw FileWriteError(path: displayName, reason: error.reason)
            }
            committed = true
            let closed = close(descriptor)
            descriptor = -1
            guard closed == 0 else { throw FileWriteError(path: displayName, reason: String(cString: strerror(errno))) }
        }
    }

    /// Abandons the write: the temporary file is removed and the destination is untouched
    /// (a stream is closed; what it received stays received).
    package func discard() {
        guard !committed else { return }
        committed = true
        switch mode {
        case .stream(let closes):
            if closes, descriptor >= 0 { close(descriptor) }
        case .atomic(let temporary, _):
            temporary.remove()
        }
        descriptor = -1
    }

    /// Writes `bytes` to `destination` atomically (a stream: directly).
    package static func write(_ bytes: [UInt8], to destination: URL) throws(FileWriteError) {
        try write(bytes, to: .file(destination))
    }

    /// Writes `bytes` to `target` atomically (a stream: directly).
    package static func write(_ bytes: [UInt8], to target: OutputTarget) throws(FileWriteError) {
        let writer = try AtomicFileWriter(target: target)
        try writer.write(bytes)
        try writer.commit()
    }
}

/// A file that could not be written.
package struct FileWriteError: Error, CustomStringConvertible, Equatable {
    package var path: String
    package var reason: String

    package var description: String { "cannot write \(path): \(reason)" }
}
