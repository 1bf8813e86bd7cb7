import Crypto
import Foundation

/// Reads and writes `.idz` files (Formats/idz-v1.md).
///
/// Layout: a 32-byte preamble (magic, version, flags, compressed and uncompressed payload
/// lengths), the zlib-compressed payload of sections, and a SHA-256 of everything before it.
public enum IdzFile {
    /// The version this idzip writes by default (`ContainerProfile.standard` without a
    /// codebook). It changes only when an older reader could not safely ignore a change
    /// (see the spec's "Versions").
    ///
    /// - 1: first version.
    /// - 2: codebook theta_d (range coded) and the compact layout (Formats/idz-v2.md).
    /// - 3: new layer types, the layer graph and names, batch-norm buffers (Formats/idz-v3.md).
    /// - 3: models relative to a base, per-tensor modes and scales (Formats/idz-v3.md).
    public static let formatVersion: UInt32 = 1
    /// The newest version this idzip reads and writes.
    public static let latestVersion: UInt32 = 3
    /// The versions `decode` reads.
    public static let readableVersions: ClosedRange<UInt32> = 1...3

    // MARK: Bytes

    /// The complete file for `model` in `profile`; throws if the model breaks a rule of the
    /// format, so that nothing is written that a reader would reject (Formats/idz-v1.md
    /// sections 2-6, Formats/idz-v2.md). The standard profile writes version 1, or version 2
    /// when theta_d is a codebook; the compact profile writes version 2.
    /// - Parameter model: a model whose `weightsSHA256` has 32 bytes (a compact profile
    ///   keeps its first `weightsDigestBytes`; a model read from a compact file may hold fewer
    ///   and can only be written with at most that many).
    /// - Throws: `IdzError` of the kind the spec's section 15 names for the broken rule
    ///   (`.invalidValue`, `.invalidArchitecture`, `.limitExceeded`, ...).
    public static func encode(_ model: IdzModel, profile: ContainerProfile = .standard) throws(IdzError) -> [UInt8] {
        let tensors = try IdzModelCheck.check(model)
        try IdzModelCheck.checkEncodable(model, layout: profile.layout)
        if profile.layout == .compact {
            guard BaseSections.requiredVersion(model) == nil else {
                throw IdzError(.invalidValue, "the compact layout cannot hold a base or tensor modes; write the standard layout")
            }
            return try CompactLayout.encode(model, digestBytes: profile.weightsDigestBytes)
        }
        guard model.weightsSHA256.count == IdzLayout.sha256Size else {
            throw IdzError(.invalidValue, "the standard layout stores the 32-byte weights SHA-256; this model keeps \(model.weightsSHA256.count) bytes of it")
        }
        let payload = PayloadEncoder.payload(for: model, tensors: tensors)
        guard payload.count <= ContainerLimits.maxUncompressedPayload else {
            throw IdzError(.limitExceeded, "the payload of \(payload.count) bytes exceeds the limit \(ContainerLimits.maxUncompressedPayload)")
        }
        let compressed = try Zlib.deflate(payload)
        guard compressed.count <= ContainerLimits.maxCompressedPayload else {
            throw IdzError(.limitExceeded, "the compressed payload of \(compressed.count) bytes exceeds the limit \(ContainerLimits.maxCompressedPayload)")
        }
        return seal(compressed: compressed, uncompressedLength: payload.count, version: standardVersion(of: model))
    }

    /// The lowest version whose standard layout holds `model` (Formats/idz-v3.md section 2):
    /// 3 for version 3's layers, layer graph or buffers, 2 for a codebook theta_d, else 1.
    static func standardVersion(of model: IdzModel) -> UInt32 {
        if model.needsVersion3 || BaseSections.requiredVersion(model) != nil { return 3 }
        return model.theta.encoding == .codebook ? 2 : 1
    }

    /// The exact size in bytes of the file `encode(model, profile:)` returns. The size
    /// depends on every stored byte, the weights digest's included (the standard payload is
    /// compressed; a compact body is deflated when that is smaller): give the model its
    /// real digest (`ModelSealer.fileBytes` does), or use a compact profile that keeps none.
    /// - Throws: as `encode(_:profile:)`.
    public static func encodedSize(of model: IdzModel, profile: ContainerProfile = .standard) throws(IdzError) -> Int {
        try encode(model, profile: profile).count
    }

    /// The model stored in `bytes` (version 1 or 2, any layout), after checking every rule
    /// of the format; sizes are checked against the limits of spec section 5 before
    /// anything is allocated.
    /// - Throws: `IdzError` with one of the kinds of spec section 15; never traps on input.
    public static func decode(_ bytes: [UInt8]) throws(IdzError) -> IdzModel {
        let container = try self.container(of: bytes)
        if container.layout == .compact {
            return try CompactLayout.decode(bytes)
        }
        let headerSize = container.version == 1 ? IdzLayout.preambleSize : IdzLayout.preambleSize + 1  // versions 2 and 3: a layout byte
        let preamble = try readPreamble(bytes, headerSize: headerSize)
        let payloadEnd = headerSize + preamble.compressedLength
        let trailer = bytes[payloadEnd...]
        let digest = Array(SHA256.hash(data: bytes[..<payloadEnd]))
        guard trailer.elementsEqual(digest) else {
            throw IdzError(.checksumMismatch, "checksum mismatch: the file is corrupt")
        }
        let payload = try Zlib.inflate(bytes[headerSize..<payloadEnd], expectedLength: preamble.uncompressedLength)
        return try PayloadDecoder.model(from: payload, version: container.version)
    }

    /// The version and layout the first 13 bytes of `bytes` declare (nothing else is
    /// checked: `decode` checks the rest).
    /// - Throws: `IdzError` `.badMagic`, `.truncated`, `.unsupportedVersion`, or
    ///   `.unsupportedFlags` for an unknown version 2 layout.
    public static func container(of bytes: [UInt8]) throws(IdzError) -> ContainerInfo {
        let magic = IdzLayout.magic
        guard bytes.prefix(magic.count).elementsEqual(magic.prefix(bytes.count)) else {
            throw IdzError(.badMagic, "not an .idz file (bad magic)")
        }
        guard bytes.count >= magic.count + 4 else {
            throw IdzError(.truncated, "truncated file: \(bytes.count) bytes, shorter than the magic and version")
        }
        var reader = ByteReader(bytes[magic.count...], context: "preamble")
        let version = try reader.u32("version")
        // Version 1's order: a file shorter than its 32-byte preamble is truncated before
        // its version is looked at (a compact version 2 file may be shorter).
        guard bytes.count >= IdzLayout.preambleSize || version >= 2 else {
            throw IdzError(.truncated, "truncated file: \(bytes.count) bytes, shorter than the \(IdzLayout.preambleSize)-byte preamble")
        }
        guard readableVersions.contains(version) else {
            throw IdzError(.unsupportedVersion, "unsupported .idz version \(version) (this idzip reads versions 1 to 3)")
        }
        if version == 1 {
            return ContainerInfo(version: 1, layout: .standard, bodyCoding: "zlib")
        }
        guard bytes.count > magic.count + 4 else {
            throw IdzError(.truncated, "truncated file: \(bytes.count) bytes end before the version \(version) layout byte")
        }
        let layout = bytes[magic.count + 4]
        if version == 3 {
            // Version 3 has the standard layout only (Formats/idz-v3.md section 2).
            guard layout == 0 else {
                throw IdzError(.unsupportedFlags, "unknown layout \(layout) (version 3 defines only 0, the standard layout)")
            }
            return ContainerInfo(version: 3, layout: .standard, bodyCoding: "zlib")
        }
        switch layout {
        case 0:
            return ContainerInfo(version: 2, layout: .standard, bodyCoding: "zlib")
        case CompactLayout.storedBody, CompactLayout.deflatedBody:
            return ContainerInfo(
                version: 2, layout: .compact,
                bodyCoding: layout == CompactLayout.storedBody ? "stored" : "deflate")
        default:
            throw IdzError(.unsupportedFlags, "unknown layout \(layout) (version 2 defines 0, 1 and 2)")
        }
    }

    // MARK: Files

    /// Reads and decodes a file; its size is checked against the limit before it is read.
    /// - Throws: `IdzError` `.io` when the file cannot be read, else as `decode(_:)`.
    public static func read(contentsOf url: URL) throws(IdzError) -> IdzModel {
        try decode(readBytes(of: url))
    }

    /// Reads and decodes a file and says which version and layout it has.
    /// - Throws: as `read(contentsOf:)`.
    public static func readWithContainer(contentsOf url: URL) throws(IdzError) -> (model: IdzModel, container: ContainerInfo) {
        let bytes = try readBytes(of: url)
        let model = try decode(bytes)
        return (model, try container(of: bytes))
    }

    /// Encodes `model` in `profile` and writes it atomically: readers see the old file or the new one
    /// (a FIFO or character device is written into, see `OutputTarget`).
    /// - Returns: the bytes written.
    /// - Throws: as `encode(_:)`, or `IdzError` `.io` when the file cannot be written.
    @discardableResult
    public static func write(_ model: IdzModel, to url: URL, profile: ContainerProfile = .standard) throws(IdzError) -> Int {
        let bytes = try encode(model, profile: profile)
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
    /// `headerSize`: 32 for version 1, 33 for version 2's standard layout (its layout
    /// byte sits between the version and the flags). Magic and version are already checked.
    static func readPreamble(_ bytes: [UInt8], headerSize: Int = IdzLayout.preambleSize) throws(IdzError) -> Preamble {
        let magic = IdzLayout.magic
        guard bytes.count >= headerSize else {
            throw IdzError(.truncated, "truncated file: \(bytes.count) bytes, shorter than the \(headerSize)-byte preamble")
        }
        var reader = ByteReader(bytes[(headerSize - IdzLayout.preambleSize + magic.count + 4)...], context: "preamble")
        let flags = try reader.u32("flags")
        guard flags == 0 else {
            throw IdzError(.unsupportedFlags, "unsupported flags 0x\(String(flags, radix: 16)) (versions 1 and 2 define none)")
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
        let expectedSize = headerSize + preamble.compressedLength + IdzLayout.trailerSize
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

    /// Preamble (+ layout byte 0 in version 2) + compressed payload + SHA-256 trailer.
    static func seal(compressed: [UInt8], uncompressedLength: Int, version: UInt32 = 1) -> [UInt8] {
        var writer = ByteWriter()
        writer.raw(IdzLayout.magic)
        writer.u32(version)
        if version >= 2 { writer.u8(0) }
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
