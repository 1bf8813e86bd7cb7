import IdzipCore

/// Builds `.idz` files around fuzzer input (Formats/idz-v1.md), without compression.
enum FuzzFile {
    static let magic: [UInt8] = [0x89, 0x49, 0x44, 0x5A, 0x0D, 0x0A, 0x1A, 0x0A]

    /// `file` with its last 32 bytes replaced by the SHA-256 of the rest.
    static func resealed(_ file: [UInt8]) -> [UInt8] {
        let body = Array(file.dropLast(32))
        return body + IdzChecksum.sha256(body)
    }

    /// A version 2 compact file (layout 1 or 2) with its CRC-32 trailer recomputed.
    static func recrced(_ file: [UInt8]) -> [UInt8] {
        let body = Array(file.dropLast(4))
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in body {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        crc = ~crc
        return body + [UInt8(crc & 0xFF), UInt8((crc >> 8) & 0xFF), UInt8((crc >> 16) & 0xFF), UInt8(crc >> 24)]
    }

    /// Whether `file` declares version 2's compact layout.
    static func isCompact(_ file: [UInt8]) -> Bool {
        file.count > 12 && file[8] == 2 && file[9] == 0 && file[10] == 0 && file[11] == 0 && (file[12] == 1 || file[12] == 2)
    }

    /// A version 1 file whose payload is `payload`, in stored (uncompressed) deflate blocks.
    static func sealed(payload: [UInt8]) -> [UInt8] {
        let compressed = storedZlib(payload)
        var file = magic
        append(&file, UInt64(IdzFile.formatVersion), bytes: 4)
        append(&file, 0, bytes: 4)
        append(&file, UInt64(compressed.count), bytes: 8)
        append(&file, UInt64(payload.count), bytes: 8)
        file += compressed
        return file + IdzChecksum.sha256(file)
    }

    private static func append(_ bytes: inout [UInt8], _ value: UInt64, bytes count: Int) {
        for index in 0..<count { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(index)))) }
    }

    /// RFC 1950 header, RFC 1951 stored blocks of at most 65535 bytes, Adler-32.
    private static func storedZlib(_ data: [UInt8]) -> [UInt8] {
        var output: [UInt8] = [0x78, 0x01]
        var start = 0
        repeat {
            let end = min(start + 65535, data.count)
            let length = UInt16(end - start)
            output.append(end == data.count ? 1 : 0)
            output += [UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8(~length >> 8)]
            output += data[start..<end]
            start = end
        } while start < data.count
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in data {
            a = (a + UInt32(byte)) % 65521
            b = (b + a) % 65521
        }
        let adler = b << 16 | a
        return output + [UInt8(adler >> 24), UInt8((adler >> 16) & 0xFF), UInt8((adler >> 8) & 0xFF), UInt8(adler & 0xFF)]
    }
}
