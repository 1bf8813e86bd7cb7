import Crypto
import Foundation

/// Reads and writes `.idz` files (Formats/idz-v1.md).
///
/// Layout: a 32-byte preamble (magic, version, flags, compressed and uncompressed payload
/// lengths), the zlib-compressed payload of sections, and a SHA-256 of everything before it.
public enum IdzFile {
    /// The version this idzip writes and the only one it reads. It changes only when an
    /// older reader could not safely ignore a change (see the spec's "Versions").
    ///
    /// - 1: first version.
    public static let formatVersion: UInt32 = 1

    // MARK: Bytes

    /// The complete file for `model`; throws if the model breaks a rule of the format, so
    /// that nothing is written that a reader would reject (Formats/idz-v1.md sections 2-6).
    /// - Throws: `IdzError` of the kind the spec's section 15 names for the broken rule
    ///   (`.invalidValue`, `.invalidArchitecture`, `.limitExceeded`, ...).
    public static func encode(_ model: IdzModel) throws(IdzError) -> [UInt8] {
        let tensors = try IdzModelCheck.check(model)
        let payload = PayloadEncoder.payload(for: model, tensors: tensors)
        guard payload.count <= ContainerLimits.maxUncompressedPayload else {
            throw IdzError(.limitExceeded, "the payload of \(payload.count) bytes exceeds the limit \(ContainerLimits.maxUncompressedPayload)")
        }
        let compressed = try Zlib.deflate(payload)
        guard compressed.count <= ContainerLimits.maxCompressedPayload else {
            throw IdzError(.limitExceeded, "the compressed payload of \(compressed.count) bytes exceeds the limit \(ContainerLimits.maxCompressedPayload)")
        }
        return seal(compressed: compressed, uncompressedLength: payload.count)
    }

    /// The model stored in `bytes`, after checking every rule of the format; sizes are
    /// checked against the limits of spec section 5 before anything is allocated.
    /// - Throws: `IdzError` with one of the kinds of spec section 15; never traps on input.
    public static func decode(_ bytes: [UInt8]) throws(IdzError) -> IdzModel {
        let preamble = try readPreamble(bytes)
        let payloadEnd = IdzLayout.preambleSize + preamble.compressedLength
        let trailer = bytes[payloadEnd...]
        let digest = Array(SHA256.hash(data: bytes[..<payloadEnd]))
        guard trailer.elementsEqual(digest) else {
            throw IdzError(.checksumMismatch, "checksum mismatch: the file is corrupt")
        }
        let payload = try Zlib.inflate(bytes[IdzLayout.preambleSize..<payloadEnd], expectedLength: preamble.uncompressedLength)
        return try PayloadDecoder.model(from: payload)
    }

    // MARK: Files

    /// Reads and decodes a file; its size is checked against the limit before it is read.
    /// - Throws: `IdzError` `.io` when the file cannot be read, else as `decode(_:)`.
    public static func read(contentsOf url: URL) throws(IdzError) -> IdzModel {
        try decode(readBytes(of: url))
    }

    /// Encodes `model` and writes it atomically: readers see the old file or the new one
    /// (a FIFO or character device is written into, see `OutputTarget`).
    /// - Returns: the bytes written.
    /// - Throws: as `encode(_:)`, or `IdzError` `.io` when the file cannot be written.
    @discardableResult
    public static func write(_ model: IdzModel, to url: URL) throws(IdzError) -> Int {
        let bytes = try encode(model)
        do {
            try AtomicFileWriter.write(bytes, to: url)
        } catch {
            throw IdzError(.io, error.description)
        }
        return bytes.count
    }

    // MARK: Preamble

    struct Preamble {
        var compressedLength: Int
        var uncompressedLength: Int
    }

    /// Checks magic, version, flags, the declared lengths against the limits and the file
    /// length, in that order.
    static func readPreamble(_ bytes: [UInt8]) throws(IdzError) -> Preamble {
        let magic = IdzLayout.magic
        guard bytes.prefix(magic.count).elementsEqual(magic.prefix(bytes.count)) else {
            throw IdzError(.badMagic, "not an .idz file (bad magic)")
        }
        var reader = ByteReader(bytes[...], context: "preamble")
        guard bytes.count >= IdzLayout.preambleSize else {
            throw IdzError(.truncated, "truncated file: \(bytes.count) bytes, shorter than the \(IdzLayout.preambleSize)-byte preamble")
        }
        _ = try reader.raw(magic.count, "magic")
        let version = try reader.u32("version")
        guard version == formatVersion else {
            throw IdzError(.unsupportedVersion, "unsupported .idz version \(version) (this idzip reads version \(formatVersion))")
        }
        let flags = try reader.u32("flags")
        guard flags == 0 else {
            throw IdzError(.unsupportedFlags, "unsupported flags 0x\(String(flags, radix: 16)) (version \(formatVersion) defines none)")
        }
        let compressed = try reader.u64("compressed length")
        let uncompressed = try reader.u64("uncompressed length")
        guard compressed <= UInt64(ContainerLimits.maxCompressedPayload) else {
            throw IdzError(.limitExceeded, "declared compressed payload of \(compressed) bytes exceeds the limit \(ContainerLimits.maxCompressedPayload)")
        }
        guard uncompressed <= UInt64(ContainerLimits.maxUncompressedPayload) else {
            throw IdzError(.limitExceeded, "declared uncompressed payload of \(uncompressed) bytes exceeds the limit \(ContainerLimits.maxUncompressedPayload)")
        }
        let preamble = Preamble(compressedLength: Int(compressed), uncompressedLength: Int(uncompressed))
        let expectedSize = IdzLayout.preambleSize + preamble.compressedLength + IdzLayout.trailerSize
        guard bytes.count >= expectedSize else {
            throw IdzError(.truncated, "truncated file: the preamble declares \(expectedSize) bytes, the file has \(bytes.count)")
        }
        guard bytes.count == expectedSize else {
            throw IdzError(.trailingBytes, "\(bytes.count - expectedSize) trailing bytes after the end of the file (\(expectedSize) bytes)")
        }
        let possible = preamble.compressedLength * ContainerLimits.maxInflationRatio + ContainerLimits.inflationSlack
        guard preamble.uncompressedLength <= possible else {
            throw IdzError(.badCompression, "declared uncompressed payload of \(uncompressed) bytes is impossible for \(compressed) compressed bytes (a zlib bomb?)")
        }
        return preamble
    }

    /// Preamble + compressed payload + SHA-256 trailer.
    static func seal(compressed: [UInt8], uncompressedLength: Int) -> [UInt8] {
        var writer = ByteWriter()
        writer.raw(IdzLayout.magic)
        writer.u32(formatVersion)
        writer.u32(0)
        writer.count(compressed.count)
        writer.count(uncompressedLength)
        writer.raw(compressed)
        var bytes = writer.bytes
        bytes.append(contentsOf: SHA256.hash(data: bytes))
        return bytes
    }

    // MARK: Reading a file

    private static func readBytes(of url: URL) throws(IdzError) -> [UInt8] {
        let path = url.path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw ioError(path) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw ioError(path) }
        let limit = ContainerLimits.maxFileSize
        guard Int64(status.st_size) <= Int64(limit) else {
            throw IdzError(.limitExceeded, "\(path) has \(status.st_size) bytes, more than an .idz file can have (\(limit))")
        }
        // Read to the end, never more than limit + 1 bytes: the size may change, and
        // devices and pipes report none.
        var bytes = [UInt8](repeating: 0, count: min(Int(max(status.st_size, 0)), limit) + 1)
        var filled = 0
        while true {
            if filled == bytes.count {
                guard bytes.count <= limit else {
                    throw IdzError(.limitExceeded, "\(path) has more bytes than an .idz file can have (\(limit))")
                }
                bytes.append(contentsOf: repeatElement(0, count: min(bytes.count, limit + 1 - bytes.count)))
            }
            let count = bytes.withUnsafeMutableBytes { buffer in
                Foundation.read(descriptor, buffer.baseAddress! + filled, buffer.count - filled)
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw ioError(path)
            }
            if count == 0 { break }
            filled += count
        }
        bytes.removeSubrange(filled...)
        return bytes
    }

    private static func ioError(_ path: String) -> IdzError {
        IdzError(.io, "cannot read \(path): \(String(cString: strerror(errno)))")
    }
}
