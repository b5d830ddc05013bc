"""Prompt-state caches for Llama.set_cache(), as llama-cpp-python's llama_cache module.

A completion looks up the cached state whose tokens share the longest prefix with its prompt and,
when that prefix is longer than what the context already holds, loads it: only the rest of the
prompt is evaluated. After each completion the state (prompt + completion) is stored.
LlamaDiskCache keeps states as pickle files in a directory (llama-cpp-python uses the diskcache
package, which Debian does not ship; the behaviour is the same).
"""

from __future__ import annotations

import hashlib
import os
import pickle
from abc import ABC, abstractmethod
from collections import OrderedDict
from typing import Optional, Sequence, Tuple

from .llama_sampling import LlamaState, longest_token_prefix as _longest_prefix


class BaseLlamaCache(ABC):
    def __init__(self, capacity_bytes: int = (2 << 30)):
        self.capacity_bytes = capacity_bytes

    @property
    @abstractmethod
    def cache_size(self) -> int: ...

    @abstractmethod
    def _keys(self): ...

    def _find_longest_prefix_key(self, key: Tuple[int, ...]) -> Optional[Tuple[int, ...]]:
        best_len, best = 0, None
        for k in self._keys():
            n = _longest_prefix(k, key)
            if n > best_len:
                best_len, best = n, k
        return best

    def __contains__(self, key: Sequence[int]) -> bool:
        return self._find_longest_prefix_key(tuple(key)) is not None


class LlamaRAMCache(BaseLlamaCache):
    """States in memory, least recently used dropped first beyond capacity_bytes."""

    def __init__(self, capacity_bytes: int = (2 << 30)):
        super().__init__(capacity_bytes)
        self.cache_state: "OrderedDict[Tuple[int, ...], LlamaState]" = OrderedDict()

    @property
    def cache_size(self) -> int:
        return sum(s.llama_state_size for s in self.cache_state.values())

    def _keys(self):
        return list(self.cache_state.keys())

    def __getitem__(self, key: Sequence[int]) -> LlamaState:
        k = self._find_longest_prefix_key(tuple(key))
        if k is None:
            raise KeyError("Key not found")
        self.cache_state.move_to_end(k)
        return self.cache_state[k]

    def __setitem__(self, key: Sequence[int], value: LlamaState) -> None:
        key = tuple(key)
        self.cache_state.pop(key, None)
        self.cache_state[key] = value
        while self.cache_size > self.capacity_bytes and self.cache_state:
            self.cache_state.popitem(last=False)


LlamaCache = LlamaRAMCache  # llama-cpp-python's old name


class LlamaDiskCache(BaseLlamaCache):
    """States as pickle files in cache_dir; the oldest files go first beyond capacity_bytes."""

    def __init__(self, cache_dir: str = ".cache/llama_cache", capacity_bytes: int = (2 << 30)):
        super().__init__(capacity_bytes)
        self.cache_dir = cache_dir
        os.makedirs(cache_dir, exist_ok=True)

    def _path(self, key: Tuple[int, ...]) -> str:
        return os.path.join(self.cache_dir, hashlib.sha256(repr(key).encode()).hexdigest() + ".state")

    def _entries(self):
        for name in sorted(os.listdir(self.cache_dir)):
            if name.endswith(".state"):
                yield os.path.join(self.cache_dir, name)

    def _keys(self):
        keys = []
        for p in self._entries():
            with open(p, "rb") as f:
                keys.append(pickle.load(f))  # the key is pickled first, then the state
        return keys

    @property
    def cache_size(self) -> int:
        return sum(os.path.getsize(p) for p in self._entries())

    def __getitem__(self, key: Sequence[int]) -> LlamaState:
        k = self._find_longest_prefix_key(tuple(key))
        if k is None:
            raise KeyError("Key not found")
        with open(self._path(k), "rb") as f:
            pickle.load(f)
            return pickle.load(f)

    def __setitem__(self, key: Sequence[int], value: LlamaState) -> None:
        key = tuple(key)
        with open(self._path(key), "wb") as f:
            pickle.dump(key, f)
            pickle.dump(value, f)
        os.utime(self._path(key))
        files = sorted(self._entries(), key=os.path.getmtime)
        while files and self.cache_size > self.capacity_bytes:
            os.remove(files.pop(0))
