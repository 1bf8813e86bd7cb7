/// The Python source of a `torch.nn.Module` equivalent to a model's network (`idzip info
/// --pytorch`): its `state_dict` has exactly the names and shapes `idzip expand` writes
/// (parameters and batch-norm buffers, Formats/idz-v1.md section 7, Formats/idz-v3.md
/// sections 3 to 5), so `load_state_dict(load_file("weights.safetensors"), strict=True)`
/// accepts them, and its `forward` takes raw inputs, applies the model's preprocessing and
/// returns logits, flattening in C, H, W order as idzip does.
public enum TorchModuleSource {
    /// The module's source for `model`'s network and preprocessing.
    /// - Parameters:
    ///   - className: the Python class name.
    ///   - weightsFile: the safetensors file the last lines load.
    /// - Throws: `ArchitectureError.invalid` for an invalid architecture or the toy problem
    ///   (which is no network).
    public static func source(for model: IdzModel, className: String = "IdzipNet", weightsFile: String = "weights.safetensors") throws(ArchitectureError) -> String {
        let architecture = model.architecture
        let (inputs, outputs) = try architecture.layerShapes()
        if architecture.layers.contains(where: { if case .toyGroupSum = $0 { true } else { false } }) {
            throw .invalid("the toy problem is not a network; it has no PyTorch module")
        }
        var lines: [String] = [
            "import torch",
            "from torch import nn",
            "from safetensors.torch import load_file",
            "",
            "",
            "def _put(root, path, module):",
            "    \"\"\"Registers module at a dotted path (layer1.0.conv1), with plain nn.Module containers on the way.\"\"\"",
            "    *parents, last = path.split(\".\")",
            "    for part in parents:",
            "        if part not in root._modules:",
            "            root.add_module(part, nn.Module())",
            "        root = root._modules[part]",
            "    root.add_module(last, module)",
            "",
            "",
        ]
        let shape = architecture.inputShape
        let outputCount = outputs.last!.reduce(1, *)
        let what = architecture.spec ?? "a described network"
        lines.append("class \(className)(nn.Module):")
        lines.append("    \"\"\"\(what): raw input [N, \(shape.map(String.init).joined(separator: ", "))] -> logits [N, \(outputCount)] (printed by idzip info --pytorch).\"\"\"")
        lines.append("")
        lines.append("    def __init__(self):")
        lines.append("        super().__init__()")
        for (index, layer) in architecture.layers.enumerated() {
            guard let module = moduleExpression(layer, input: inputs[index]) else { continue }
            lines.append("        _put(self, \"\(architecture.name(of: index))\", \(module))")
        }
        lines.append("")
        lines.append("    def forward(self, raw):")
        lines.append("        \(preprocessing(model.preprocessing, shape: shape))  # the recorded preprocessing")
        for (index, layer) in architecture.layers.enumerated() {
            let source = architecture.source(of: index)
            let input = source < 0 ? "x" : "h\(source)"
            let expression: String
            switch layer {
            case .dense, .conv2d, .convolution, .batchNorm:
                expression = "self.get_submodule(\"\(architecture.name(of: index))\")(\(input))"
            case .relu: expression = "torch.relu(\(input))"
            case .activation(.leakyReLU(let slope)): expression = "nn.functional.leaky_relu(\(input), \(slope))"
            case .activation(.gelu): expression = "nn.functional.gelu(\(input))"
            case .activation(.tanh): expression = "torch.tanh(\(input))"
            case .activation(.sigmoid): expression = "torch.sigmoid(\(input))"
            case .dropout(let rate): expression = "nn.functional.dropout(\(input), \(rate), self.training)"
            case .maxPool(let size): expression = "nn.functional.max_pool2d(\(input), \(size))"
            case .averagePool(let size): expression = "nn.functional.avg_pool2d(\(input), \(size))"
            case .globalAveragePool: expression = "torch.flatten(nn.functional.adaptive_avg_pool2d(\(input), 1), 1)"
            case .flatten: expression = "torch.flatten(\(input), 1)"
            case .add(let other): expression = "\(input) + \(other < 0 ? "x" : "h\(other)")"
            case .toyGroupSum: expression = input
            }
            let shapeText = outputs[index].map(String.init).joined(separator: ", ")
            lines.append("        h\(index) = \(expression)  # layer \(index): [N, \(shapeText)]")
        }
        lines.append("        return h\(architecture.layers.count - 1)")
        lines.append("")
        lines.append("")
        lines.append("model = \(className)()")
        lines.append("model.load_state_dict(load_file(\"\(weightsFile)\"), strict=True)")
        lines.append("model.eval()  # batch norm uses the running statistics, dropout is off")
        return lines.joined(separator: "\n") + "\n"
    }

    /// The `nn` module holding the layer's tensors, or nil for a layer without tensors.
    private static func moduleExpression(_ layer: Layer, input: [Int]) -> String? {
        switch layer {
        case .dense(let units):
            return "nn.Linear(\(input[0]), \(units))"
        case .conv2d, .convolution:
            let c = layer.convolutionParameters!
            var text = "nn.Conv2d(\(input[0]), \(c.filters), \(c.kernel)"
            if c.stride != 1 { text += ", stride=\(c.stride)" }
            if c.padding != 0 { text += ", padding=\(c.padding)" }
            if c.groups != 1 { text += ", groups=\(c.groups)" }
            if !c.bias { text += ", bias=False" }
            return text + ")"
        case .batchNorm(let epsilon, let momentum):
            return "nn.BatchNorm\(input.count == 3 ? "2d" : "1d")(\(input[0]), eps=\(epsilon), momentum=\(momentum))"
        default:
            return nil
        }
    }

    /// x = (raw * scale - mean) / std, with per-channel values shaped for [N, C, H, W].
    private static func preprocessing(_ preprocessing: Preprocessing, shape: [Int]) -> String {
        let reshape = shape.count == 1 ? "torch.flatten(raw, 1)" : "raw.reshape(-1, \(shape.map(String.init).joined(separator: ", ")))"
        func values(_ list: [Float]) -> String {
            list.count == 1 ? "\(list[0])" : "torch.tensor([\(list.map { "\($0)" }.joined(separator: ", "))]).reshape(1, -1, 1, 1)"
        }
        return "x = (\(reshape) * \(preprocessing.inputScale) - \(values(preprocessing.mean))) / \(values(preprocessing.standardDeviation))"
    }
}
