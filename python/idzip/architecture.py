"""Architectures (Formats/idz-v1.md sections 4.1, 6 and 7): layers, output shapes and the
parameter tensors in theta order, with PyTorch names and layouts."""
import math
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from .errors import InvalidArchitecture

__all__ = [
    "MAX_LAYERS", "MAX_RANK", "MAX_DIMENSION", "MAX_ACTIVATION_COUNT", "MAX_PARAMETERS",
    "MAX_KERNEL", "INIT_SCHEMES", "Layer", "TensorSpec", "Architecture",
]

MAX_LAYERS = 1024
MAX_RANK = 8
MAX_DIMENSION = 1 << 24
MAX_ACTIVATION_COUNT = 1 << 31
MAX_PARAMETERS = 1 << 36
MAX_KERNEL = 64

#: Init scheme codes of section 9.
INIT_SCHEMES = {0: "zeros", 1: "he_normal", 2: "lecun_normal", 3: "glorot_uniform", 4: "standard_normal", 5: "ones"}
_ZEROS, _HE_NORMAL, _STANDARD_NORMAL, _ONES = 0, 1, 4, 5
MAX_NAME_BYTES = 256
#: Layer types with tensors (their names must be unique).
_TENSOR_TYPES = ("dense", "conv2d", "convolution", "batchnorm", "toy")
#: Types only format version 3 stores (Formats/idz-v3.md section 3).
VERSION3_TYPES = ("convolution", "batchnorm", "avgpool", "global_avgpool", "add", "dropout",
                  "leaky_relu", "gelu", "tanh", "sigmoid")


@dataclass(frozen=True)
class Layer:
    """One layer of the architecture section.

    Attributes:
        type: ``"dense"``, ``"conv2d"``, ``"maxpool"``, ``"relu"``, ``"flatten"``, ``"toy"``, and in
            version 3 (Formats/idz-v3.md section 3) ``"convolution"``, ``"batchnorm"``,
            ``"avgpool"``, ``"global_avgpool"``, ``"add"``, ``"dropout"``, ``"leaky_relu"``,
            ``"gelu"``, ``"tanh"``, ``"sigmoid"``.
        units: dense output width.
        filters, kernel, padding: conv2d (square kernel, stride 1; padding ``"valid"`` or ``"same"``).
        size: maxpool and avgpool window and stride.
        groups, group_size: toy (D = groups * group_size); ``groups`` is also a convolution's.
        stride, pad, bias: convolution (pad: zeros on each side; bias: whether it has one).
        epsilon, momentum: batchnorm.
        other: add (the earlier layer added, -1 for the input).
        rate: dropout. slope: leaky_relu.
    """

    type: str
    units: Optional[int] = None
    filters: Optional[int] = None
    kernel: Optional[int] = None
    padding: Optional[str] = None
    size: Optional[int] = None
    groups: Optional[int] = None
    group_size: Optional[int] = None
    stride: Optional[int] = None
    pad: Optional[int] = None
    bias: Optional[bool] = None
    epsilon: Optional[float] = None
    momentum: Optional[float] = None
    other: Optional[int] = None
    rate: Optional[float] = None
    slope: Optional[float] = None

    @property
    def summary(self):
        """One line as `idzip info` prints it, e.g. ``"dense 200"`` or ``"conv 5x5x6 valid"``."""
        if self.type == "dense":
            return "dense %d" % self.units
        if self.type == "conv2d":
            return "conv %dx%dx%d %s" % (self.kernel, self.kernel, self.filters, self.padding)
        if self.type == "maxpool":
            return "maxpool %d" % self.size
        if self.type == "toy":
            return "toy %dx%d" % (self.groups, self.group_size)
        if self.type == "convolution":
            text = "conv %dx%dx%d" % (self.kernel, self.kernel, self.filters)
            if self.stride != 1:
                text += " stride %d" % self.stride
            text += " pad %d" % self.pad
            if self.groups != 1:
                text += " depthwise"
            return text if self.bias else text + " no bias"
        if self.type == "avgpool":
            return "avgpool %d" % self.size
        if self.type == "global_avgpool":
            return "global avgpool"
        if self.type == "add":
            return "add input" if self.other < 0 else "add %d" % self.other
        return self.type


@dataclass(frozen=True)
class TensorSpec:
    """A parameter tensor (section 7).

    Attributes:
        name: ``layers.<i>.weight``, ``layers.<i>.bias`` or ``layers.<i>.theta``.
        shape: PyTorch layout: dense [out, in], conv2d [F, C, k, k], bias [out], toy [g*m].
        init_scheme: code of section 9 (``INIT_SCHEMES``).
        fan_in, fan_out: for the init scheme.
        offset: index of the first element in theta (float32 elements, not bytes).
        count: number of elements.
        index: tensor index (theta0's sub-stream).
    """

    name: str
    shape: Tuple[int, ...]
    init_scheme: int
    fan_in: int
    fan_out: int
    offset: int
    count: int
    index: int


def _check_shape(shape, what):
    if len(shape) > MAX_RANK:
        raise InvalidArchitecture("invalid architecture: %s has rank %d > %d" % (what, len(shape), MAX_RANK))
    count = 1
    for dimension in shape:
        if not 1 <= dimension <= MAX_DIMENSION:
            raise InvalidArchitecture("invalid architecture: %s has dimension %d, outside 1 to %d" % (what, dimension, MAX_DIMENSION))
        count *= dimension
        if count > MAX_ACTIVATION_COUNT:
            raise InvalidArchitecture("invalid architecture: %s has more than %d entries" % (what, MAX_ACTIVATION_COUNT))


@dataclass(frozen=True)
class Architecture:
    """A network: the shape of one example (no batch dimension) and its layers.

    Construction checks every rule of section 6 and raises ``InvalidArchitecture``.

    Attributes:
        input_shape: ``(features,)``, ``(channels, height, width)`` or ``()`` for the toy problem.
        layers: the layers in order.
        output_shapes: the output shape of each layer.
        tensors: the parameter tensors in theta order.
    """

    input_shape: Tuple[int, ...]
    layers: Tuple[Layer, ...]
    sources: Tuple[int, ...] = ()
    names: Tuple[str, ...] = ()
    output_shapes: Tuple[Tuple[int, ...], ...] = field(init=False, compare=False)
    tensors: Tuple[TensorSpec, ...] = field(init=False, compare=False)
    buffers: Tuple[TensorSpec, ...] = field(init=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "input_shape", tuple(int(x) for x in self.input_shape))
        object.__setattr__(self, "layers", tuple(self.layers))
        n = len(self.layers)
        sources = tuple(int(x) for x in self.sources)
        names = tuple(self.names)
        object.__setattr__(self, "sources", () if sources == tuple(range(-1, n - 1)) else sources)
        object.__setattr__(self, "names", () if names == tuple("layers.%d" % i for i in range(n)) else names)
        shapes = self._output_shapes()
        object.__setattr__(self, "output_shapes", shapes)
        object.__setattr__(self, "tensors", self._tensors(shapes))
        object.__setattr__(self, "buffers", self._buffers(shapes))

    def source(self, index):
        """The layer whose output layer ``index`` reads (-1: the network input)."""
        return self.sources[index] if self.sources else index - 1

    def name(self, index):
        """The module path of layer ``index`` (``layers.<i>`` by default)."""
        return self.names[index] if self.names else "layers.%d" % index

    @property
    def needs_version3(self):
        """Whether only format version 3 can hold this network."""
        return bool(self.sources or self.names or any(layer.type in VERSION3_TYPES for layer in self.layers))

    def input_of(self, index, shapes):
        src = self.source(index)
        return self.input_shape if src < 0 else shapes[src]

    def _output_shapes(self):
        if len(self.layers) > MAX_LAYERS:
            raise InvalidArchitecture("invalid architecture: %d layers exceed the limit of %d" % (len(self.layers), MAX_LAYERS))
        if not self.layers:
            raise InvalidArchitecture("invalid architecture: the network has no layers")
        n = len(self.layers)
        if self.sources:
            if len(self.sources) != n:
                raise InvalidArchitecture("invalid architecture: %d sources for %d layers" % (len(self.sources), n))
            for index, src in enumerate(self.sources):
                if not -1 <= src < index:
                    raise InvalidArchitecture("invalid architecture: layer %d reads layer %d, which is not an earlier layer or -1 (the input): a cycle" % (index, src))
        _check_shape(self.input_shape, "input shape")
        shapes = []
        for index, layer in enumerate(self.layers):
            shape = self.input_of(index, shapes)
            if layer.type == "add":
                if not -1 <= layer.other < index:
                    raise InvalidArchitecture("invalid architecture: layer %d (add) adds layer %d, which is not an earlier layer or -1 (the input): a cycle" % (index, layer.other))
                other = self.input_shape if layer.other < 0 else shapes[layer.other]
                if tuple(other) != tuple(shape):
                    raise InvalidArchitecture("invalid architecture: layer %d (add) adds shapes %s and %s, which differ" % (index, list(shape), list(other)))
            shape = self._output_shape(layer, shape, index)
            _check_shape(shape, "output of layer %d (%s)" % (index, layer.type))
            shapes.append(shape)
        self._check_names()
        return tuple(shapes)

    def _check_names(self):
        if not self.names:
            return
        if len(self.names) != len(self.layers):
            raise InvalidArchitecture("invalid architecture: %d names for %d layers" % (len(self.names), len(self.layers)))
        taken = set()
        for index, name in enumerate(self.names):
            raw = name.encode("utf-8")
            if not 1 <= len(raw) <= MAX_NAME_BYTES:
                raise InvalidArchitecture("invalid architecture: layer %d has a name of %d bytes (1 to %d)" % (index, len(raw), MAX_NAME_BYTES))
            if not all(c.isascii() and (c.isalnum() or c in "_.") for c in name) or "" in name.split("."):
                raise InvalidArchitecture("invalid architecture: layer %d has the name %r" % (index, name))
            if self.layers[index].type in _TENSOR_TYPES:
                if name in taken:
                    raise InvalidArchitecture("invalid architecture: two layers with tensors are both named %r" % name)
                taken.add(name)
        for name in taken:
            parts = name.split(".")
            for k in range(1, len(parts)):
                if ".".join(parts[:k]) in taken:
                    raise InvalidArchitecture("invalid architecture: layer name %r has tensors and also contains the layer %r"
                                              % (".".join(parts[:k]), name))

    @staticmethod
    def _output_shape(layer, shape, index):
        label = "invalid architecture: layer %d (%s)" % (index, layer.type)
        if layer.type == "dense":
            if len(shape) != 1:
                raise InvalidArchitecture("%s needs a flat input, got shape %s" % (label, list(shape)))
            if not 1 <= layer.units <= MAX_DIMENSION:
                raise InvalidArchitecture("%s has %d units" % (label, layer.units))
            return (layer.units,)
        if layer.type == "conv2d":
            if len(shape) != 3:
                raise InvalidArchitecture("%s needs a [channels, height, width] input, got %s" % (label, list(shape)))
            if not 1 <= layer.filters <= MAX_DIMENSION:
                raise InvalidArchitecture("%s has %d filters" % (label, layer.filters))
            k = layer.kernel
            if not 1 <= k <= MAX_KERNEL:
                raise InvalidArchitecture("%s has kernel size %d, outside 1 to %d" % (label, k, MAX_KERNEL))
            if layer.padding == "valid":
                if shape[1] < k or shape[2] < k:
                    raise InvalidArchitecture("%s: kernel %d is larger than the input %dx%d" % (label, k, shape[1], shape[2]))
                return (layer.filters, shape[1] - k + 1, shape[2] - k + 1)
            if k % 2 != 1:
                raise InvalidArchitecture("%s: same padding needs an odd kernel, got %d" % (label, k))
            return (layer.filters, shape[1], shape[2])
        if layer.type == "maxpool":
            if len(shape) != 3:
                raise InvalidArchitecture("%s needs a [channels, height, width] input, got %s" % (label, list(shape)))
            s = layer.size
            if s < 1 or shape[1] < s or shape[2] < s:
                raise InvalidArchitecture("%s: pool size %d does not fit the input %s" % (label, s, list(shape)))
            return (shape[0], shape[1] // s, shape[2] // s)
        if layer.type in ("relu", "dropout", "leaky_relu", "gelu", "tanh", "sigmoid", "add"):
            if layer.type == "dropout" and not 0 <= layer.rate < 1:
                raise InvalidArchitecture("%s has rate %s; it must be at least 0 and below 1" % (label, layer.rate))
            if layer.type == "leaky_relu" and not math.isfinite(layer.slope):
                raise InvalidArchitecture("%s has slope %s; it must be finite" % (label, layer.slope))
            return shape
        if layer.type == "convolution":
            if len(shape) != 3:
                raise InvalidArchitecture("%s needs a [channels, height, width] input, got %s" % (label, list(shape)))
            k, st, p, g, f = layer.kernel, layer.stride, layer.pad, layer.groups, layer.filters
            if not (1 <= f <= MAX_DIMENSION and 1 <= k <= MAX_KERNEL and 1 <= st <= 64 and 0 <= p <= 64):
                raise InvalidArchitecture("%s has filters %d, kernel %d, stride %d, padding %d" % (label, f, k, st, p))
            if g not in (1, shape[0]) or f % g:
                raise InvalidArchitecture("%s has %d groups for %d channels and %d filters" % (label, g, shape[0], f))
            h, w = shape[1] + 2 * p, shape[2] + 2 * p
            if h < k or w < k:
                raise InvalidArchitecture("%s: kernel %d is larger than the padded input %dx%d" % (label, k, h, w))
            return (f, (h - k) // st + 1, (w - k) // st + 1)
        if layer.type == "batchnorm":
            if len(shape) not in (1, 3):
                raise InvalidArchitecture("%s needs a [channels, height, width] or [features] input, got %s" % (label, list(shape)))
            if not (math.isfinite(layer.epsilon) and layer.epsilon > 0 and math.isfinite(layer.momentum) and 0 <= layer.momentum <= 1):
                raise InvalidArchitecture("%s has epsilon %s, momentum %s" % (label, layer.epsilon, layer.momentum))
            return shape
        if layer.type == "avgpool":
            return Architecture._output_shape(Layer("maxpool", size=layer.size), shape, index)
        if layer.type == "global_avgpool":
            if len(shape) != 3:
                raise InvalidArchitecture("%s needs a [channels, height, width] input, got %s" % (label, list(shape)))
            return (shape[0],)
        if layer.type == "flatten":
            count = 1
            for dimension in shape:
                count *= dimension
            return (count,)
        if layer.type == "toy":
            if index != 0 or shape != ():
                raise InvalidArchitecture("%s must be the only layer, with no input" % label)
            g, m = layer.groups, layer.group_size
            if not (1 <= g <= MAX_DIMENSION and 1 <= m <= MAX_DIMENSION and g * m <= MAX_PARAMETERS):
                raise InvalidArchitecture("%s has %d groups of %d" % (label, g, m))
            return (g,)
        raise InvalidArchitecture("%s: unknown layer type" % label)

    def _tensors(self, shapes):
        tensors, offset = [], 0

        def append(name, shape, scheme, fan_in, fan_out):
            nonlocal offset
            count = 1
            for dimension in shape:
                count *= dimension
            tensors.append(TensorSpec(name, tuple(shape), scheme, fan_in, fan_out, offset, count, len(tensors)))
            offset += count
            if offset > MAX_PARAMETERS:
                raise InvalidArchitecture("invalid architecture: more than %d parameters" % MAX_PARAMETERS)

        for index, layer in enumerate(self.layers):
            shape = self.input_of(index, shapes)
            name = self.name(index)
            if layer.type == "dense":
                n = shape[0]
                append(name + ".weight", (layer.units, n), _HE_NORMAL, n, layer.units)
                append(name + ".bias", (layer.units,), _ZEROS, n, layer.units)
            elif layer.type == "conv2d":
                k = layer.kernel
                fan_in, fan_out = shape[0] * k * k, layer.filters * k * k
                append(name + ".weight", (layer.filters, shape[0], k, k), _HE_NORMAL, fan_in, fan_out)
                append(name + ".bias", (layer.filters,), _ZEROS, fan_in, fan_out)
            elif layer.type == "convolution":
                k, g = layer.kernel, layer.groups
                fan_in, fan_out = shape[0] // g * k * k, layer.filters // g * k * k
                append(name + ".weight", (layer.filters, shape[0] // g, k, k), _HE_NORMAL, fan_in, fan_out)
                if layer.bias:
                    append(name + ".bias", (layer.filters,), _ZEROS, fan_in, fan_out)
            elif layer.type == "batchnorm":
                append(name + ".weight", (shape[0],), _ONES, 1, 1)
                append(name + ".bias", (shape[0],), _ZEROS, 1, 1)
            elif layer.type == "toy":
                append(name + ".theta", (layer.groups * layer.group_size,), _STANDARD_NORMAL, 1, 1)
        return tuple(tensors)

    def _buffers(self, shapes):
        """Running mean and variance of each batchnorm layer (Formats/idz-v3.md section 5)."""
        out, offset = [], 0
        for index, layer in enumerate(self.layers):
            if layer.type != "batchnorm":
                continue
            c = self.input_of(index, shapes)[0]
            name = self.name(index)
            out.append(TensorSpec(name + ".running_mean", (c,), _ZEROS, 1, 1, offset, c, len(out)))
            out.append(TensorSpec(name + ".running_var", (c,), _ONES, 1, 1, offset + c, c, len(out)))
            offset += 2 * c
        return tuple(out)

    @property
    def buffer_count(self):
        """Floats in the buffer vector (0 without batch normalisation)."""
        return sum(t.count for t in self.buffers)

    @property
    def batches_tracked_names(self):
        """``<name>.num_batches_tracked`` of each batchnorm layer, in layer order."""
        return tuple(self.name(i) + ".num_batches_tracked" for i, layer in enumerate(self.layers) if layer.type == "batchnorm")

    @property
    def parameter_count(self):
        """D, the number of parameters (float32 elements)."""
        return sum(t.count for t in self.tensors)

    @property
    def output_shape(self):
        """The shape of the network's output for one example."""
        return self.output_shapes[-1]

    @property
    def output_count(self):
        """The number of outputs (entries of the last layer's output)."""
        count = 1
        for dimension in self.output_shape:
            count *= dimension
        return count

    @property
    def layer_summary(self):
        """e.g. ``"flatten, dense 200, relu, dense 10"``."""
        return ", ".join(layer.summary for layer in self.layers)

    # The command-line names of idzip (`fc:784-200-200-10`, `lenet:1x28x28:10`, `toy`).

    @classmethod
    def fully_connected(cls, input_shape, widths):
        """A ReLU network of dense layers of ``widths`` (an image input is flattened first)."""
        layers = [Layer("flatten")] if len(input_shape) > 1 else []
        for i, width in enumerate(widths):
            layers.append(Layer("dense", units=width))
            if i < len(widths) - 1:
                layers.append(Layer("relu"))
        return cls(tuple(input_shape), tuple(layers))

    @classmethod
    def lenet(cls, input_shape=(1, 28, 28), classes=10):
        """LeNet-5 as idzip builds it (valid padding, ReLU, max pooling 2)."""
        return cls(tuple(input_shape), (
            Layer("conv2d", filters=6, kernel=5, padding="valid"), Layer("relu"), Layer("maxpool", size=2),
            Layer("conv2d", filters=16, kernel=5, padding="valid"), Layer("relu"), Layer("maxpool", size=2),
            Layer("flatten"), Layer("dense", units=120), Layer("relu"), Layer("dense", units=84), Layer("relu"),
            Layer("dense", units=classes)))

    @classmethod
    def toy(cls, groups=10, size=100):
        """The paper's toy problem: one tensor of groups * size parameters."""
        return cls((), (Layer("toy", groups=groups, group_size=size),))

    @property
    def spec(self):
        """The idzip command-line name that builds exactly this architecture, or None."""
        candidates = ["toy"]
        widths = [layer.units for layer in self.layers if layer.type == "dense"]
        if len(self.input_shape) == 1:
            candidates.append("fc:" + "-".join(str(x) for x in [self.input_shape[0]] + widths))
        if len(self.input_shape) == 3 and widths:
            candidates.append("lenet:%s:%d" % ("x".join(map(str, self.input_shape)), widths[-1]))
        for candidate in candidates:
            try:
                if self._from_spec(candidate) == self:
                    return candidate
            except (InvalidArchitecture, ValueError):
                continue
        return None

    @classmethod
    def _from_spec(cls, spec):
        parts = spec.split(":")
        if parts[0] == "toy":
            return cls.toy()
        if parts[0] == "fc":
            values = [int(x) for x in parts[1].split("-")]
            if len(values) < 2:
                raise ValueError(spec)
            return cls.fully_connected((values[0],), values[1:])
        shape = tuple(int(x) for x in parts[1].split("x"))
        return cls.lenet(shape, int(parts[2]))
