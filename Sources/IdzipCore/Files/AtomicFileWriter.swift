import Foundation

/// Writes a file so that readers see either the old file or the complete new one, never
/// a partial one: bytes go to a temporary file beside the destination, which is renamed
/// over it by `commit()`. A writer that is dropped without `commit()` removes its
/// temporary file.
package final class AtomicFileWriter {
    package let destination: URL
    private let temporaryPath: String
    private var descriptor: Int32
    private var committed = false
    /// Bytes written, and the first byte not yet handed to `startWriteback()`.
    private var byteCount = 0
    private var writebackStart = 0

    package init(destination: URL) throws(FileWriteError) {
        self.destination = destination
        // An existing destination that is not a regular file (a device, a FIFO, a symlink,
        // a directory) is never replaced by one: refuse with one line.
        var status = stat()
        if lstat(destination.path, &status) == 0, status.st_mode & S_IFMT != S_IFREG {
            throw FileWriteError(
                path: destination.path,
                reason: "it exists and is not a regular file (a device, FIFO, symbolic link or directory); name a new or regular file")
        }
        let directory = destination.deletingLastPathComponent().path
        let name = destination.lastPathComponent
        var template = Array("\(directory)/.\(name).tmp-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            throw FileWriteError(path: destination.path, reason: String(cString: strerror(errno)))
        }
        descriptor = fd
        temporaryPath = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        fchmod(fd, 0o644)
    }

    deinit {
        if !committed { discard() }
    }

    package func write(_ bytes: UnsafeRawBufferPointer) throws(FileWriteError) {
        var offset = 0
        while offset < bytes.count {
            let written = Foundation.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw FileWriteError(path: destination.path, reason: String(cString: strerror(errno)))
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

    /// Flushes the temporary file to disk and renames it over the destination.
    package func commit() throws(FileWriteError) {
        guard !committed else { return }
        guard fsync(descriptor) == 0, close(descriptor) == 0 else {
            let reason = String(cString: strerror(errno))
            discard()
            throw FileWriteError(path: destination.path, reason: reason)
        }
        descriptor = -1
        guard rename(temporaryPath, destination.path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporaryPath)
            committed = true
            throw FileWriteError(path: destination.path, reason: reason)
        }
        committed = true
    }

    /// Abandons the write: the temporary file is removed and the destination is untouched.
    package func discard() {
        if descriptor >= 0 {
            close(descriptor)
            descriptor = -1
        }
        unlink(temporaryPath)
        committed = true
    }

    /// Writes `bytes` to `destination` atomically.
    package static func write(_ bytes: [UInt8], to destination: URL) throws(FileWriteError) {
        let writer = try AtomicFileWriter(destination: destination)
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
