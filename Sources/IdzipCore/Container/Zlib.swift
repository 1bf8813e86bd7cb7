import CZlib

/// The payload's zlib (RFC 1950) stream, with the output of inflation capped.
enum Zlib {
    /// Compresses `bytes` into one zlib stream.
    static func deflate(_ bytes: [UInt8]) throws(IdzError) -> [UInt8] {
        var capacity = compressBound(uLong(bytes.count))
        var output = [UInt8](repeating: 0, count: Int(capacity))
        let status = output.withUnsafeMutableBufferPointer { out in
            bytes.withUnsafeBufferPointer { input in
                compress2(out.baseAddress, &capacity, input.baseAddress, uLong(input.count), IdzLayout.compressionLevel)
            }
        }
        guard status == Z_OK else {
            throw IdzError(.badCompression, "zlib could not compress the payload (error \(status))")
        }
        output.removeSubrange(Int(capacity)...)
        return output
    }

    /// Compresses `bytes` into one raw deflate stream (RFC 1951, no zlib header or
    /// checksum: the compact layout's CRC-32 covers the file).
    static func rawDeflate(_ bytes: [UInt8]) throws(IdzError) -> [UInt8] {
        var stream = z_stream()
        var output = [UInt8](repeating: 0, count: Int(compressBound(uLong(bytes.count))) + 16)
        let result: (status: Int32, produced: Int) = output.withUnsafeMutableBufferPointer { out in
            bytes.withUnsafeBufferPointer { input in
                let initStatus = deflateInit2_(
                    &stream, IdzLayout.compressionLevel, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY,
                    zlibVersion(), Int32(MemoryLayout<z_stream>.size))
                guard initStatus == Z_OK else { return (initStatus, 0) }
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
                stream.avail_in = uInt(input.count)
                stream.next_out = out.baseAddress
                stream.avail_out = uInt(out.count)
                let status = CZlib.deflate(&stream, Z_FINISH)
                let produced = out.count - Int(stream.avail_out)
                deflateEnd(&stream)
                return (status, produced)
            }
        }
        guard result.status == Z_STREAM_END else {
            throw IdzError(.badCompression, "zlib could not deflate the body (error \(result.status))")
        }
        output.removeSubrange(result.produced...)
        return output
    }

    /// Inflates one raw deflate stream of exactly `expectedLength` bytes (the same checks
    /// as `inflate`).
    static func rawInflate(_ compressed: ArraySlice<UInt8>, expectedLength: Int) throws(IdzError) -> [UInt8] {
        try inflate(compressed, expectedLength: expectedLength, windowBits: -15)
    }

    /// CRC-32 (ISO-HDLC, as zlib and PNG) of `bytes`.
    static func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.withUnsafeBufferPointer { buffer in
            UInt32(truncatingIfNeeded: CZlib.crc32(0, buffer.baseAddress, uInt(buffer.count)))
        }
    }

    /// Inflates `compressed`, which must hold exactly one zlib stream of exactly
    /// `expectedLength` bytes. The output buffer has one byte more than declared, so a
    /// stream that inflates past its declared length (a zlib bomb) is caught after at
    /// most one extra byte.
    static func inflate(_ compressed: ArraySlice<UInt8>, expectedLength: Int, windowBits: Int32 = 15) throws(IdzError) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: expectedLength + 1)
        var stream = z_stream()
        let result: (status: Int32, produced: Int, unusedInput: Int, message: String?) = output.withUnsafeMutableBufferPointer { out in
            compressed.withUnsafeBufferPointer { input in
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
                stream.avail_in = uInt(input.count)
                stream.next_out = out.baseAddress
                stream.avail_out = uInt(out.count)
                let initStatus = inflateInit2_(&stream, windowBits, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
                guard initStatus == Z_OK else { return (initStatus, 0, 0, nil) }
                let status = CZlib.inflate(&stream, Z_FINISH)
                let message = stream.msg.map { String(cString: $0) }
                let outcome = (status, out.count - Int(stream.avail_out), Int(stream.avail_in), message)
                inflateEnd(&stream)
                return outcome
            }
        }
        if result.produced > expectedLength {
            throw IdzError(.badCompression, "the payload inflates past its declared \(expectedLength) bytes (a zlib bomb?)")
        }
        switch result.status {
        case Z_STREAM_END:
            guard result.produced == expectedLength else {
                throw IdzError(.badCompression, "the payload inflates to \(result.produced) bytes, not the declared \(expectedLength)")
            }
            guard result.unusedInput == 0 else {
                throw IdzError(.badCompression, "\(result.unusedInput) bytes follow the end of the zlib stream")
            }
            output.removeLast()
            return output
        case Z_BUF_ERROR, Z_OK:
            throw IdzError(.badCompression, "the zlib stream is truncated")
        case Z_NEED_DICT:
            throw IdzError(.badCompression, "the zlib stream asks for a preset dictionary")
        case Z_DATA_ERROR:
            let reason = result.message ?? "invalid data"
            throw IdzError(.badCompression, "corrupt zlib stream: \(reason)")
        default:
            throw IdzError(.badCompression, "zlib failed with error \(result.status)")
        }
    }
}
