import CZlib
import Crypto
import Foundation

/// Reads a file front to back, inflating it on the fly when it starts with the gzip magic,
/// and optionally hashing the (uncompressed) bytes with SHA-256.
final class DataFileStream {
    let path: String
    private let descriptor: Int32
    private var hasher: SHA256?
    private var stream: UnsafeMutablePointer<z_stream>?
    private let inputBuffer = UnsafeMutablePointer<UInt8>.allocate(capacity: 1 << 16)
    private var fileEnded = false
    private var streamEnded = false

    init(path: String, hashing: Bool = false) throws(DataError) {
        self.path = path
        var status = stat()
        guard stat(path, &status) == 0 else {
            inputBuffer.deallocate()
            throw .unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        guard status.st_mode & S_IFMT == S_IFREG else {
            inputBuffer.deallocate()
            throw .unreadable(path: path, reason: "not a regular file")
        }
        descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else {
            inputBuffer.deallocate()
            throw .unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        if hashing { hasher = SHA256() }
        // Sniff the gzip magic, then rewind.
        var magic: (UInt8, UInt8) = (0, 0)
        let got = withUnsafeMutableBytes(of: &magic) { pread(descriptor, $0.baseAddress, 2, 0) }
        if got == 2 && magic.0 == 0x1f && magic.1 == 0x8b {
            let z = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            z.initialize(to: z_stream())
            guard inflateInit2_(z, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                z.deallocate()
                close(descriptor)
                inputBuffer.deallocate()
                throw .unreadable(path: path, reason: "cannot start zlib")
            }
            stream = z
        }
    }

    deinit {
        if let stream {
            inflateEnd(stream)
            stream.deallocate()
        }
        close(descriptor)
        inputBuffer.deallocate()
    }

    var isCompressed: Bool { stream != nil }

    /// Hex SHA-256 of all bytes delivered so far (only when created with `hashing`).
    func digest() -> String? {
        guard let hasher else { return nil }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// Fills `target` completely, or throws naming `what` was cut short.
    func read(into target: UnsafeMutableRawBufferPointer, what: String) throws(DataError) {
        let got = try readUpTo(target)
        guard got == target.count else {
            throw .malformed(path: path, reason: "the file ends inside the \(what) (\(got) of \(target.count) bytes)")
        }
    }

    /// Reads exactly `count` bytes. Memory grows only as data actually arrives, so a short
    /// file that declares a huge array fails before allocating it.
    func readBytes(_ count: Int, what: String) throws(DataError) -> [UInt8] {
        if stream == nil {
            let position = lseek(descriptor, 0, SEEK_CUR)
            var status = stat()
            if position >= 0, fstat(descriptor, &status) == 0, Int(status.st_size) - Int(position) < count {
                throw .malformed(
                    path: path, reason: "the file ends inside the \(what) (\(max(0, Int(status.st_size) - Int(position))) of \(count) bytes)")
            }
        }
        let chunkSize = 1 << 24
        var bytes: [UInt8] = []
        bytes.reserveCapacity(min(count, chunkSize))
        var chunk = [UInt8](repeating: 0, count: min(count, chunkSize))
        var failure: DataError?
        while bytes.count < count && failure == nil {
            let wanted = min(chunk.count, count - bytes.count)
            var got = 0
            chunk.withUnsafeMutableBytes { raw in
                do throws(DataError) {
                    got = try readUpTo(UnsafeMutableRawBufferPointer(rebasing: raw[0..<wanted]))
                } catch { failure = error }
            }
            if failure == nil && got < wanted {
                failure = .malformed(path: path, reason: "the file ends inside the \(what) (\(bytes.count + got) of \(count) bytes)")
            }
            bytes.append(contentsOf: chunk[0..<got])
        }
        if let failure { throw failure }
        return bytes
    }

    /// Throws unless the file has no bytes left.
    func expectEnd() throws(DataError) {
        var extra: UInt8 = 0
        let got = try withUnsafeMutableBytes(of: &extra) { raw throws(DataError) in try readUpTo(raw) }
        if got > 0 { throw .malformed(path: path, reason: "there are bytes after the declared data") }
    }

    /// Reads as many bytes as are left, up to target.count; returns how many.
    private func readUpTo(_ target: UnsafeMutableRawBufferPointer) throws(DataError) -> Int {
        guard target.count > 0 else { return 0 }
        let count = stream == nil ? try readPlain(target) : try readInflated(target)
        if count > 0 { hasher?.update(bufferPointer: UnsafeRawBufferPointer(rebasing: target[0..<count])) }
        return count
    }

    private func readPlain(_ target: UnsafeMutableRawBufferPointer) throws(DataError) -> Int {
        var done = 0
        while done < target.count {
            let got = Foundation.read(descriptor, target.baseAddress! + done, min(target.count - done, 1 << 30))
            if got < 0 {
                if errno == EINTR { continue }
                throw .unreadable(path: path, reason: String(cString: strerror(errno)))
            }
            if got == 0 { break }
            done += got
        }
        return done
    }

    private func readInflated(_ target: UnsafeMutableRawBufferPointer) throws(DataError) -> Int {
        guard let z = stream else { return 0 }
        var done = 0
        while done < target.count {
            if z.pointee.avail_in == 0 && !fileEnded {
                let got = Foundation.read(descriptor, inputBuffer, 1 << 16)
                if got < 0 {
                    if errno == EINTR { continue }
                    throw .unreadable(path: path, reason: String(cString: strerror(errno)))
                }
                if got == 0 { fileEnded = true }
                z.pointee.next_in = inputBuffer
                z.pointee.avail_in = UInt32(got)
            }
            if streamEnded {
                // Another gzip member may follow the one that ended.
                if z.pointee.avail_in == 0 && fileEnded { return done }
                guard inflateReset(z) == Z_OK else { throw .malformed(path: path, reason: "bad gzip member") }
                streamEnded = false
            }
            let chunk = min(target.count - done, Int(UInt32.max))
            z.pointee.next_out = (target.baseAddress! + done).assumingMemoryBound(to: UInt8.self)
            z.pointee.avail_out = UInt32(chunk)
            let result = inflate(z, Z_NO_FLUSH)
            done += chunk - Int(z.pointee.avail_out)
            switch result {
            case Z_OK:
                break
            case Z_STREAM_END:
                streamEnded = true
            case Z_BUF_ERROR:
                if z.pointee.avail_in == 0 && fileEnded {
                    throw .malformed(path: path, reason: "the gzip stream is truncated")
                }
            default:
                let message = z.pointee.msg.map { String(cString: $0) } ?? "error \(result)"
                throw .malformed(path: path, reason: "gzip: \(message)")
            }
        }
        return done
    }
}
