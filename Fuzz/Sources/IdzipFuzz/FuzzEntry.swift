import IdzipCore

/// libFuzzer's entry point. Inputs that start with the `.idz` magic are files: decoded as
/// they are, and again with the SHA-256 trailer (or a compact file's CRC-32) recomputed,
/// so that mutations reach the zlib stream and the compact body. Other inputs are uncompressed payloads: sealed into a file with a correct
/// preamble and trailer, so that mutations reach the section parsers.
///
/// Whatever decodes must encode again, and that file must decode to a model that encodes
/// to the same bytes; anything else is a bug, reported to libFuzzer as a crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    if input.starts(with: FuzzFile.magic) {
        check(input)
        if FuzzFile.isCompact(input) {
            if input.count >= 17 { check(FuzzFile.recrced(input)) }
        } else if input.count >= 64 {
            check(FuzzFile.resealed(input))
        }
    } else {
        check(FuzzFile.sealed(payload: input))
    }
    return 0
}

private func check(_ bytes: [UInt8]) {
    guard let model = try? IdzFile.decode(bytes) else { return }
    // Re-encoded in the profile it was read from (a compact file may keep a shorter digest).
    guard let container = try? IdzFile.container(of: bytes) else {
        fatalError("a decoded file has no container")
    }
    let profile = container.profile(of: model)
    guard let encoded = try? IdzFile.encode(model, profile: profile) else {
        fatalError("a decoded model does not encode again")
    }
    guard let again = try? IdzFile.decode(encoded), let reencoded = try? IdzFile.encode(again, profile: profile) else {
        fatalError("an encoded model does not decode again")
    }
    guard reencoded == encoded else {
        fatalError("decode(encode(model)) changed the model")
    }
}
