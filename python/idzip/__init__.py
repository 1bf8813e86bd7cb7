"""idzip: read `.idz` files and regenerate their weights bit-for-bit, with numpy.

An `.idz` file stores a network trained in a random subspace, theta = theta0 + P theta_d
(Formats/idz-v1.md). ``read`` validates a file as idzip's own reader does; ``Model.expand``
regenerates the D float32 weights exactly as ``idzip expand`` does and checks them against
the SHA-256 the file records::

    import idzip
    model = idzip.read("mnist-fc-d1000.idz")
    theta = model.expand()                  # float32 [D], verified
    weights = model.state_dict()            # {"layers.0.weight": [200, 784], ...}
"""
from .architecture import Architecture, Layer, TensorSpec
from .container import Preprocessing, Projection, ThetaD
from .errors import *  # noqa: F401,F403
from .errors import __all__ as _error_names
from .model import Model, read
from .version3_base import Base, BaseMismatch, TensorModes, base_digest

__version__ = "0.1.0"

__all__ = ["read", "Model", "Architecture", "Layer", "TensorSpec", "Projection", "Preprocessing",
           "ThetaD", "Base", "BaseMismatch", "TensorModes", "base_digest", "__version__"] + list(_error_names)
