import CLibPNG

/// Decodes PNG files with libpng's simplified API, the only place idzip uses libpng.
///
/// Every PNG kind is accepted (gray, gray + alpha, RGB, RGBA, palette, 1 to 16 bits):
/// libpng converts it to 8-bit sRGB-encoded gray (for a gray file) or RGB (anything else);
/// 16-bit values are scaled to 8 bits, and transparent parts are composited onto black,
/// MNIST's background (by libpng, in linear light). The dimensions are
/// checked against `InputLimits` before the pixel buffer is allocated; libpng's own
/// checks (CRCs, chunk lengths, its 1,000,000-pixel side limit) stop malformed files.
/// libpng stops reading after the last row: a missing IEND chunk is not an error.
package enum PNGDecoder {
    package static let magic: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    package static func decode(_ bytes: [UInt8], name: String) throws(InputError) -> InputImage {
        guard bytes.starts(with: magic) else { throw .malformed(name: name, kind: "PNG", reason: "no PNG signature") }
        // libpng reads from the memory until png_image_finish_read: one closure holds it.
        let result = bytes.withUnsafeBytes { raw in decode(raw, name: name) }
        return try result.get()
    }

    private static func decode(_ raw: UnsafeRawBufferPointer, name: String) -> Result<InputImage, InputError> {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        defer { png_image_free(&image) }
        guard png_image_begin_read_from_memory(&image, raw.baseAddress, raw.count) != 0 else { return .failure(failure(image, name)) }
        let width = Int(image.width), height = Int(image.height)
        let color = image.format & UInt32(PNG_FORMAT_FLAG_COLOR) != 0
        let channels = color ? 3 : 1
        guard width >= 1, height >= 1, width <= InputLimits.maxImageSide, height <= InputLimits.maxImageSide,
              width * height * channels <= InputLimits.maxImageBytes
        else {
            return .failure(.tooLarge(
                name: name,
                reason: "a \(width) x \(height) PNG image exceeds \(InputLimits.maxImageSide) pixels a side or \(InputLimits.maxImageBytes) bytes decoded"))
        }
        image.format = color ? UInt32(PNG_FORMAT_RGB) : UInt32(PNG_FORMAT_GRAY)
        // 16-bit values without gAMA/sRGB are sRGB-encoded like 8-bit ones (libpng would
        // otherwise take them as linear light): they are scaled to 8 bits.
        image.flags |= UInt32(PNG_IMAGE_FLAG_16BIT_sRGB)
        // Zeroed: alpha is composited onto what the buffer holds, black.
        var pixels = [UInt8](repeating: 0, count: width * height * channels)
        let finished = pixels.withUnsafeMutableBytes { png_image_finish_read(&image, nil, $0.baseAddress, 0, nil) }
        guard finished != 0 else { return .failure(failure(image, name)) }
        return .success(InputImage(width: width, height: height, channels: channels, pixels: pixels))
    }

    private static func failure(_ image: png_image, _ name: String) -> InputError {
        var message = image.message
        let text = withUnsafeBytes(of: &message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return .malformed(name: name, kind: "PNG", reason: text.isEmpty ? "libpng could not decode it" : text)
    }
}
