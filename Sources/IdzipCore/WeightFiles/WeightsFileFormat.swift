/// The standard formats a model's full weights are written in (`idzip expand`,
/// `ModelExpansion.write`).
public enum WeightsFileFormat: String, Sendable, CaseIterable {
    /// Named float32 tensors in their PyTorch shapes (https://github.com/huggingface/safetensors),
    /// with the architecture recorded in the metadata; see `SafetensorsWriter`.
    case safetensors
    /// One flat float32 vector theta (D values) in parameter order, as numpy's .npy
    /// (version 1.0); see `NpyHeader`.
    case npy

    /// The format a path's extension names ("safetensors" or "npy", any case), if any.
    public init?(pathExtension: String) {
        switch pathExtension.lowercased() {
        case "safetensors": self = .safetensors
        case "npy": self = .npy
        default: return nil
        }
    }
}
