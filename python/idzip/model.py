"""The model in a `.idz` file, as ``idzip.read`` returns it."""
import numpy as np

from . import container
from .expand import expand as _expand, theta0 as _theta0, weights_digest

__all__ = ["Model", "read"]


class Model:
    """A validated `.idz` model.

    Attributes:
        architecture: ``Architecture`` (input shape, layers, output shapes, tensors with
            PyTorch names/shapes and offsets, ``spec`` such as ``"fc:784-200-200-10"``).
        tensors: ``architecture.tensors``, the parameter tensors in theta order.
        parameter_count: D.
        theta0_seed: int, the 64-bit seed of theta0.
        projection: ``Projection`` (kind, seed, d).
        theta_d: float32 array [d], the decoded subspace coordinates.
        theta_d_stored: ``ThetaD`` (encoding, raw stored values, int8 scale).
        preprocessing: ``Preprocessing`` (input_scale, mean [K], std [K]).
        labels: list of class names (empty if the file has none).
        metadata: dict key -> int, float, str, bool or bytes, in file order.
        weights_sha256: 32 bytes, the digest of the expanded weights (section 11).
        file_sha256: 32 bytes, the file's trailer.
        buffers: float32 array, the batch-norm running means and variances
            (``architecture.buffers`` order; empty without batch norm, Formats/idz-v3.md 5).
        batches_tracked: int, PyTorch's ``num_batches_tracked`` (0 without batch norm).
        version: the file's format version (1, 2 or 3).
    """

    def __init__(self, fields):
        self.architecture = fields["architecture"]
        self.theta0_seed = fields["theta0_seed"]
        self.projection = fields["projection"]
        self.theta_d_stored = fields["theta_d"]
        self.theta_d = self.theta_d_stored.values
        self.preprocessing = fields["preprocessing"]
        self.labels = fields["labels"]
        self.metadata = fields["metadata"]
        self.weights_sha256 = fields["weights_sha256"]
        self.file_sha256 = fields["file_sha256"]
        self.file_size = fields["file_size"]
        self.buffers = fields.get("buffers", np.zeros(0, np.float32))
        self.batches_tracked = fields.get("batches_tracked", 0)
        self.version = fields.get("version", 1)
        #: ``Base`` (sha256, locator) of a model fine-tuned from a base (version 3), else None.
        self.base = fields.get("base")
        #: ``TensorModes`` (modes, scales, direct values; version 3), else None.
        self.tensor_modes = fields.get("tensor_modes")

    @property
    def tensors(self):
        return self.architecture.tensors

    @property
    def parameter_count(self):
        return self.architecture.parameter_count

    def __repr__(self):
        return "<idzip.Model %s D=%d %s d=%d %s>" % (
            self.architecture.spec or self.architecture.layer_summary, self.parameter_count,
            self.projection.kind, self.projection.d, self.theta_d_stored.encoding)

    def theta0(self):
        """The frozen initialisation theta0: float32 array [D] in parameter order."""
        return _theta0(self.architecture, self.theta0_seed)

    def expand(self, verify=True, base=None):
        """The full weights theta = theta0 + P theta_d: float32 array [D] in parameter order.

        Bit-for-bit what ``idzip expand -o w.npy`` writes. With ``verify`` (the default) the
        SHA-256 of the weights is compared with the file's weights SHA-256 section.

        A model fine-tuned from a base (version 3, ``self.base`` set) needs ``base``: its
        weights as a flat float32 array [D] or a state_dict (name -> array).

        Raises:
            WeightsChecksumMismatch (a ChecksumMismatch): the digests differ.
            BaseMismatch: no base for a model that needs one, or a base of another digest.
        """
        theta0_values = None
        if self.base is not None:
            from .version3_base import theta0_from_base
            theta0_values = theta0_from_base(self.architecture, self.base, base)
        elif base is not None:
            raise ValueError("the model is not fine-tuned from a base; leave out base=")
        return _expand(self.architecture, self.theta0_seed, self.projection.kind, self.projection.seed,
                       self.theta_d, self.weights_sha256 if verify else None,
                       theta0_values=theta0_values, tensor_modes=self.tensor_modes)

    def state_dict(self, framework="numpy", theta=None, base=None):
        """The weights by tensor name, in PyTorch layout.

        Names and shapes are those of the safetensors file ``idzip expand`` writes
        (``layers.<i>.weight`` [out, in] or [F, C, k, k], ``layers.<i>.bias`` [out],
        ``layers.<i>.theta`` [g*m], or the layers' names in version 3); values are float32,
        with batch normalisation's ``running_mean``, ``running_var`` (float32) and
        ``num_batches_tracked`` (int64 scalar) beside them.

        Args:
            framework: ``"numpy"`` (dict of numpy arrays, views of one theta) or ``"torch"``
                (an ``OrderedDict`` of CPU ``torch.float32`` tensors for ``load_state_dict``;
                needs torch installed).
            theta: weights from ``expand()`` to split instead of expanding again.
            base: the base of a fine-tuned model (version 3), as for ``expand``.
        """
        if framework not in ("numpy", "torch"):
            raise ValueError("framework must be 'numpy' or 'torch', not %r" % (framework,))
        if theta is None:
            theta = self.expand(base=base)
        theta = np.asarray(theta, dtype=np.float32)
        if theta.shape != (self.parameter_count,):
            raise ValueError("theta has shape %s, expected (%d,)" % (theta.shape, self.parameter_count))
        arrays = {t.name: theta[t.offset:t.offset + t.count].reshape(t.shape) for t in self.tensors}
        # Batch-norm buffers, as `idzip expand` writes them (Formats/idz-v3.md section 5).
        for t in self.architecture.buffers:
            arrays[t.name] = self.buffers[t.offset:t.offset + t.count].reshape(t.shape)
        for name in self.architecture.batches_tracked_names:
            arrays[name] = np.array(self.batches_tracked, np.int64)
        if framework == "numpy":
            return arrays
        import collections
        import torch
        return collections.OrderedDict((name, torch.from_numpy(np.array(a, copy=True))) for name, a in arrays.items())

    def preprocess(self, raw):
        """The network input from raw input (section 13): (raw * input_scale - mean[c]) / std[c].

        Args:
            raw: array of shape ``input_shape`` or [N, *input_shape] (for images: the bytes
                0 ..= 255, channels first).
        Returns:
            float32 array of the same shape.
        """
        p = self.preprocessing
        x = np.asarray(raw).astype(np.float32)
        shape = self.architecture.input_shape
        if x.shape != shape and x.shape[1:] != shape:
            raise ValueError("raw input has shape %s; expected %s or [N, *%s]" % (x.shape, shape, shape))
        mean, std = p.mean, p.std
        if len(shape) == 3 and len(mean) > 1:
            mean, std = mean[:, None, None], std[:, None, None]
        else:
            mean, std = mean[0], std[0]
        return (x * np.float32(p.input_scale) - mean) / std

    def digest(self, theta):
        """SHA-256 of float32 weights [D] as section 11 defines it (32 bytes)."""
        return weights_digest(theta)


def read(source):
    """Read and validate a `.idz` model.

    Args:
        source: a path (str or os.PathLike) or the file's bytes (bytes, bytearray, memoryview).
    Returns:
        ``Model``.
    Raises:
        IdzError: the subclass for the first rule the file breaks (``error.kind`` names it
            as idzip does: ``"truncated"``, ``"limit-exceeded"``, ...), or ``IdzIOError``.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        data = container.read_bytes(source)
    return Model(container.decode(data))
