"""Architectures (Formats/idz-v1.md sections 4.1, 6 and 7): layers, output shapes and the
parameter tensors in theta order, with PyTorch names and layouts."""
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
INIT_SCHEMES = {0: "zeros", 1: "he_normal", 2: "lecun_normal", 3: "glorot_uniform", 4: "standard_normal"}
_ZEROS, _HE_NORMAL, _STANDARD_NORMAL = 0, 1, 4


@dataclass(frozen=True)
class Layer:
    """One layer of the architecture section.

    Attributes:
        type: ``"dense"``, ``"conv2d"``, ``"maxpool"``, ``"relu"``, ``"flatten"`` or ``"toy"``.
        units: dense output width.
        filters, kernel, padding: conv2d (square kernel, stride 1; padding ``"valid"`` or ``"same"``).
        size: maxpool window and stride.
        groups, group_size: toy (D = groups * group_size).
    """

    type: str
    units: Optional[int] = None
    filters: Optional[int] = None
    kernel: Optional[int] = None
    padding: Optional[str] = None
    size: Optional[int] = None
    groups: Optional[int] = None
    group_size: Optional[int] = None

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
    output_shapes: Tuple[Tuple[int, ...], ...] = field(init=False, compare=False)
    tensors: Tuple[TensorSpec, ...] = field(init=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "input_shape", tuple(int(x) for x in self.input_shape))
        object.__setattr__(self, "layers", tuple(self.layers))
        shapes = self._output_shapes()
        object.__setattr__(self, "output_shapes", shapes)
        object.__setattr__(self, "tensors", self._tensors(shapes))

    def _output_shapes(self):
        if len(self.layers) > MAX_LAYERS:
            raise InvalidArchitecture("invalid architecture: %d layers exceed the limit of %d" % (len(self.layers), MAX_LAYERS))
        if not self.layers:
            raise InvalidArchitecture("invalid architecture: the network has no layers")
        _check_shape(self.input_shape, "input shape")
        shape, shapes = self.input_shape, []
        for index, layer in enumerate(self.layers):
            shape = self._output_shape(layer, shape, index)
            _check_shape(shape, "output of layer %d (%s)" % (index, layer.type))
            shapes.append(shape)
        return tuple(shapes)

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
        if layer.type == "relu":
            return shape
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
            shape = self.input_shape if index == 0 else shapes[index - 1]
            if layer.type == "dense":
                n = shape[0]
                append("layers.%d.weight" % index, (layer.units, n), _HE_NORMAL, n, layer.units)
                append("layers.%d.bias" % index, (layer.units,), _ZEROS, n, layer.units)
            elif layer.type == "conv2d":
                k = layer.kernel
                fan_in, fan_out = shape[0] * k * k, layer.filters * k * k
                append("layers.%d.weight" % index, (layer.filters, shape[0], k, k), _HE_NORMAL, fan_in, fan_out)
                append("layers.%d.bias" % index, (layer.filters,), _ZEROS, fan_in, fan_out)
            elif layer.type == "toy":
                append("layers.%d.theta" % index, (layer.groups * layer.group_size,), _STANDARD_NORMAL, 1, 1)
        return tuple(tensors)

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
