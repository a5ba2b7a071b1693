"""mg.utils: helpers around the engine, at PyTorch's paths (mg.utils.data is torch.utils.data)."""
from minigrad.utils import data
