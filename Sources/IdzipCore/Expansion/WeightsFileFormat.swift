/// The standard formats `idzip expand` writes.
public enum WeightsFileFormat: String, Sendable, CaseIterable {
    /// Named tensors in their shapes (https://github.com/huggingface/safetensors).
    case safetensors
    /// One flat float32 vector theta in parameter order, as numpy's .npy (version 1.0).
    case npy

    /// The format a path's extension names, if any.
    public init?(pathExtension: String) {
        switch pathExtension.lowercased() {
        case "safetensors": self = .safetensors
        case "npy": self = .npy
        default: return nil
        }
    }
}
