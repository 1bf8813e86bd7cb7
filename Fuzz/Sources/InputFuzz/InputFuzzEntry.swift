import IdzipCore

/// libFuzzer's entry point for the input decoders of `idzip predict` (PNG through libpng,
/// PGM, NPY): every input is given to models of the three input shapes, with and without
/// --resize. A decoder may refuse the bytes with an `InputError`; it must never crash,
/// and what it accepts must hold whole examples of the model's input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    for shape in [[784], [1, 28, 28], [3, 32, 32]] {
        for resize in [false, true] {
            guard let examples = try? ModelInputs(inputShape: shape, resize: resize).examples(from: input, name: "fuzz") else { continue }
            guard examples.count >= 1, examples.raw.count == examples.count * shape.reduce(1, *) else {
                fatalError("\(examples.count) examples of \(examples.raw.count) values for input \(shape)")
            }
        }
    }
    return 0
}
