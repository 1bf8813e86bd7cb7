extension Architecture {
    /// ResNet-20, He et al. 2016 ("Deep Residual Learning for Image Recognition"), section
    /// 4.2's CIFAR-10 network: a 3x3 convolution of 16 filters, three stages of three basic
    /// blocks with 16, 32 and 64 filters (the first block of stages 2 and 3 halves the
    /// resolution with stride 2), batch normalisation after every convolution, ReLU, global
    /// average pooling and a dense layer of `classes`. Where a block changes the shape its
    /// shortcut is a 1x1 convolution of stride 2 and batch normalisation (the paper's option
    /// B; its CIFAR network used the parameter-free option A). Convolutions have no bias.
    ///
    /// Layer names are torchvision's ResNet's (`conv1`, `bn1`, `layer1.0.conv1`,
    /// `layer2.0.downsample.0`, `fc`), so the expanded weights load into such a module.
    /// D = 272,474 on [3, 32, 32] with 10 classes.
    /// - Parameters:
    ///   - inputShape: [channels, height, width]; [3, 32, 32] for CIFAR-10.
    ///   - classes: outputs of the last layer.
    public static func resNet20(inputShape: [Int] = [3, 32, 32], classes: Int = 10) -> Architecture {
        var builder = GraphBuilder()
        builder.add(.convolution(Convolution2D(filters: 16, kernel: 3, padding: 1, bias: false)), "conv1")
        builder.add(.standardBatchNorm, "bn1")
        var blockInput = builder.add(.relu, "relu")
        var channels = 16
        for (stage, filters) in [16, 32, 64].enumerated() {
            for block in 0..<3 {
                let prefix = "layer\(stage + 1).\(block)"
                let stride = stage > 0 && block == 0 ? 2 : 1
                builder.add(.convolution(Convolution2D(filters: filters, kernel: 3, stride: stride, padding: 1, bias: false)), "\(prefix).conv1", source: blockInput)
                builder.add(.standardBatchNorm, "\(prefix).bn1")
                builder.add(.relu, "\(prefix).relu")
                builder.add(.convolution(Convolution2D(filters: filters, kernel: 3, padding: 1, bias: false)), "\(prefix).conv2")
                let residual = builder.add(.standardBatchNorm, "\(prefix).bn2")
                if stride != 1 || filters != channels {
                    builder.add(.convolution(Convolution2D(filters: filters, kernel: 1, stride: stride, bias: false)), "\(prefix).downsample.0", source: blockInput)
                    builder.add(.standardBatchNorm, "\(prefix).downsample.1")
                    builder.add(.add(other: residual), "\(prefix).add")
                } else {
                    builder.add(.add(other: blockInput), "\(prefix).add")
                }
                blockInput = builder.add(.relu, "\(prefix).relu")
                channels = filters
            }
        }
        builder.add(.globalAveragePool, "avgpool")
        builder.add(.dense(units: classes), "fc")
        return builder.architecture(inputShape: inputShape)
    }

    /// `mnist-bn`: a small batch-normalised CNN for MNIST (idzip's own; 99.29% MNIST test
    /// accuracy trained directly for 8 epochs, docs/reproduction.md): three blocks of a 3x3
    /// convolution (16, 32 and 32 filters, padding 1, no bias), batch normalisation, ReLU and
    /// 2x2 max pooling, then flatten and a dense layer of `classes`.
    /// D = 17,018 on [1, 28, 28] with 10 classes (the last block's output is [32, 3, 3]).
    public static func mnistBatchNorm(inputShape: [Int] = [1, 28, 28], classes: Int = 10) -> Architecture {
        var builder = GraphBuilder()
        for (block, filters) in [16, 32, 32].enumerated() {
            let n = block + 1
            builder.add(.convolution(Convolution2D(filters: filters, kernel: 3, padding: 1, bias: false)), "conv\(n)")
            builder.add(.standardBatchNorm, "bn\(n)")
            builder.add(.relu, "relu\(n)")
            builder.add(.maxPool(size: 2), "pool\(n)")
        }
        builder.add(.flatten, "flatten")
        builder.add(.dense(units: classes), "fc")
        return builder.architecture(inputShape: inputShape)
    }
}

/// Collects layers with their names and sources (the layer before unless given).
private struct GraphBuilder {
    var layers: [Layer] = []
    var names: [String] = []
    var sources: [Int] = []

    /// Appends a layer reading `source` (default: the last layer) and returns its index.
    @discardableResult
    mutating func add(_ layer: Layer, _ name: String, source: Int? = nil) -> Int {
        sources.append(source ?? layers.count - 1)
        layers.append(layer)
        names.append(name)
        return layers.count - 1
    }

    func architecture(inputShape: [Int]) -> Architecture {
        Architecture(inputShape: inputShape, layers: layers, sources: sources, names: names)
    }
}
