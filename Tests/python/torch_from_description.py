"""Builds the torch.nn module of an idzip architecture description (docs/architecture-files.md).

Written from the documentation, independently of idzip's Swift code, for the PyTorch parity
tests: the module's state_dict names and shapes are PyTorch's own, so a strict
``load_state_dict`` of the safetensors ``idzip expand`` writes checks that idzip names and
lays out every tensor and buffer as PyTorch does.

``build(description, torch)`` takes the parsed JSON (a dict) and the ``torch`` module (the
real one, or the numpy stand-in of test_torch_module.py) and returns an ``nn.Module`` whose
``forward`` takes the network input, already preprocessed: [N, C, H, W] or [N, features].
"""

__all__ = ["normalise", "build"]


def _int(layer, key, default=None):
    value = layer.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError("%s of %s must be an integer" % (key, layer))
    return value


def normalise(description):
    """The layers with every default filled in and the input shape of each:
    a list of dicts with ``type``, ``name``, ``source``, the type's settings, ``input``
    (shape without the batch) and ``output``."""
    shape_in = tuple(description["input_shape"])
    layers = []
    outputs = []

    def output_of(index):
        return shape_in if index == -1 else outputs[index]

    for i, raw in enumerate(description["layers"]):
        layer = dict(raw)
        layer.setdefault("name", "layers.%d" % i)
        layer.setdefault("source", i - 1)
        src = layer["source"]
        if not -1 <= src < i:
            raise ValueError("layer %d: source %d is not an earlier layer" % (i, src))
        x = output_of(src)
        t = layer["type"]
        if t == "dense":
            out = (_int(layer, "units"),)
        elif t == "conv2d":
            k = _int(layer, "kernel")
            s = _int(layer, "stride", 1)
            p = layer.get("padding", 0)
            if p == "same":
                p = (k - 1) // 2
            elif p == "valid":
                p = 0
            layer.update(stride=s, padding=p, groups=_int(layer, "groups", 1), bias=layer.get("bias", True))
            out = (_int(layer, "filters"), (x[1] + 2 * p - k) // s + 1, (x[2] + 2 * p - k) // s + 1)
        elif t in ("maxpool", "avgpool"):
            size = _int(layer, "size")
            out = (x[0], x[1] // size, x[2] // size)
        elif t == "global_avgpool":
            out = (x[0],)
        elif t == "flatten":
            n = 1
            for d in x:
                n *= d
            out = (n,)
        elif t == "batchnorm":
            layer.setdefault("epsilon", 1e-5)
            layer.setdefault("momentum", 0.1)
            out = x
        elif t == "leaky_relu":
            layer.setdefault("slope", 0.01)
            out = x
        elif t == "add":
            if tuple(output_of(layer["other"])) != tuple(x):
                raise ValueError("layer %d: add of shapes %s and %s" % (i, x, output_of(layer["other"])))
            out = x
        elif t in ("relu", "gelu", "tanh", "sigmoid", "dropout"):
            out = x
        else:
            raise ValueError("layer %d: unknown type %r" % (i, t))
        layer["input"], layer["output"] = tuple(x), tuple(out)
        outputs.append(tuple(out))
        layers.append(layer)
    return layers


def _module_for(layer, nn):
    """The nn module holding the layer's tensors, or None for a layer without tensors."""
    t, x = layer["type"], layer["input"]
    if t == "dense":
        return nn.Linear(x[0], layer["units"])
    if t == "conv2d":
        return nn.Conv2d(x[0], layer["filters"], layer["kernel"], stride=layer["stride"],
                         padding=layer["padding"], groups=layer["groups"], bias=layer["bias"])
    if t == "batchnorm":
        cls = nn.BatchNorm2d if len(x) == 3 else nn.BatchNorm1d
        return cls(x[0], eps=layer["epsilon"], momentum=layer["momentum"])
    return None


def build(description, torch):
    """An ``nn.Module`` computing the described network (inference mode: ``eval()`` it)."""
    nn, F = torch.nn, torch.nn.functional
    layers = normalise(description)

    class Described(nn.Module):
        def __init__(self):
            super().__init__()
            self._plan = []
            for layer in layers:
                module = _module_for(layer, nn)
                if module is not None:
                    parent = self
                    *parents, last = layer["name"].split(".")
                    for part in parents:
                        if part not in parent._modules:
                            parent.add_module(part, nn.Module())
                        parent = parent._modules[part]
                    parent.add_module(last, module)
                self._plan.append((layer, module))

        def forward(self, x):
            outputs = []
            for layer, module in self._plan:
                h = x if layer["source"] == -1 else outputs[layer["source"]]
                t = layer["type"]
                if module is not None:
                    h = module(h)
                elif t == "relu":
                    h = F.relu(h)
                elif t == "leaky_relu":
                    h = F.leaky_relu(h, layer["slope"])
                elif t == "gelu":
                    h = F.gelu(h)
                elif t == "tanh":
                    h = torch.tanh(h)
                elif t == "sigmoid":
                    h = torch.sigmoid(h)
                elif t == "dropout":
                    h = F.dropout(h, layer["rate"], self.training)
                elif t == "maxpool":
                    h = F.max_pool2d(h, layer["size"])
                elif t == "avgpool":
                    h = F.avg_pool2d(h, layer["size"])
                elif t == "global_avgpool":
                    h = torch.flatten(F.adaptive_avg_pool2d(h, 1), 1)
                elif t == "flatten":
                    h = torch.flatten(h, 1)
                elif t == "add":
                    h = h + (x if layer["other"] == -1 else outputs[layer["other"]])
                outputs.append(h)
            return outputs[-1]

    return Described()
