"""The weight-sync wire format: standard safetensors both ways, one reused buffer, zero-copy reads."""

import numpy as np
import pytest
import safetensors.torch
import torch

from rlvr.sync.wire import Packer, tensor_names, unpack


def state(seed: int) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return {
        "model.layers.0.self_attn.q_proj.weight": torch.randn(6, 4, generator=gen),
        "model.norm.weight": torch.randn(5, generator=gen).to(torch.bfloat16),  # odd byte count before...
        "model.layers.0.mlp.down_proj.weight": torch.randn(3, 7, generator=gen),  # ...wider dtypes
        "step": torch.tensor([seed], dtype=torch.int64),
        "mask": torch.tensor([True, False, True]),
        "empty": torch.zeros(0, 3),
    }


def assert_same(got: dict, want: dict) -> None:
    assert set(got) == set(want)
    for name, t in want.items():
        assert got[name].dtype == t.dtype and got[name].shape == t.shape, name
        assert torch.equal(got[name], t), name


def test_packed_bytes_are_read_by_the_safetensors_library():
    want = state(0)
    assert_same(safetensors.torch.load(bytes(Packer().pack(want))), want)


def test_unpack_reads_what_the_safetensors_library_writes():
    want = state(1)
    blob = safetensors.torch.save(want, metadata={"format": "pt"})
    assert_same(unpack(blob), want)
    assert set(tensor_names(blob)) == set(want)  # __metadata__ is not a tensor


def test_the_buffer_is_reused_for_any_layout_that_fits_and_grows_for_one_that_does_not():
    packer = Packer()
    first = packer.pack(state(0))
    second = packer.pack(state(1))
    assert second is first  # same memory: the second sync touches no new pages
    assert_same(unpack(second), state(1))  # and it holds the new values, not the old ones
    smaller = {k: v for k, v in state(2).items() if k != "mask"}
    third = packer.pack(smaller)  # a per-update push after a full first sync
    assert np.shares_memory(third, first) and set(tensor_names(third)) == set(smaller)
    assert_same(unpack(third), smaller)
    assert_same(safetensors.torch.load(bytes(third)), smaller)  # no stale tail: the view ends where the data does
    bigger = {**state(3), "extra": torch.ones(64)}
    fourth = packer.pack(bigger)
    assert not np.shares_memory(fourth, first)
    assert_same(unpack(fourth), bigger)


def test_unpack_returns_views_that_share_the_buffer():
    blob = Packer().pack({"w": torch.arange(12, dtype=torch.float32).view(3, 4)})
    w = unpack(blob)["w"]
    assert w.data_ptr() >= blob.ctypes.data and w.data_ptr() < blob.ctypes.data + blob.nbytes
    w[0, 0] = 100.0  # a writable numpy buffer gives writable views: this writes into the buffer itself
    assert unpack(blob)["w"][0, 0].item() == 100.0


def test_every_tensor_starts_aligned_to_its_element_size():
    blob = Packer().pack(state(3))
    base = blob.ctypes.data
    for name, t in unpack(blob).items():
        if t.numel():
            assert (t.data_ptr() - base) % t.element_size() == 0, name


def test_read_only_bytes_unpack_without_copying_or_warning(recwarn):
    blob = safetensors.torch.save({"w": torch.ones(2, 2)})
    assert torch.equal(unpack(memoryview(blob))["w"], torch.ones(2, 2))
    assert not [w for w in recwarn if "not writable" in str(w.message)]


@pytest.mark.parametrize("blob, message", [
    (b"abc", "not safetensors: 3 bytes"),
    ((10**6).to_bytes(8, "little") + b"{}", "header of 1000000 bytes"),
    ((4).to_bytes(8, "little") + b"{{{{", "unreadable header"),
])
def test_malformed_buffers_are_refused_with_a_reason(blob, message):
    with pytest.raises(ValueError, match=message):
        unpack(blob)


def test_offsets_that_do_not_match_the_shape_are_refused():
    header = b'{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,8]}}'
    blob = len(header).to_bytes(8, "little") + header + bytes(8)
    with pytest.raises(ValueError, match="do not fit shape"):
        unpack(np.frombuffer(blob, dtype=np.uint8))
