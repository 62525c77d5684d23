"""placeholder"""

from .base import StoreBase


class StoreLifecycle(StoreBase):
    pass
