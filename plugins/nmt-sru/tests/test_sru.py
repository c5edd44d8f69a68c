"""nmt-sru against the nmt cell contract. Run after `pip install -e plugins/nmt-sru`."""

from __future__ import annotations

import pytest
import torch

from nmt import registry
from nmt.contracts import check
from nmt.recurrent import RecurrentStack
from nmt.testing import copy_task_losses, tiny_config, train_and_translate
from nmt_sru import SRUCell



@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_registered_through_its_entry_point_with_provenance():
    comp = registry.get("cells", "sru")
    assert (comp.distribution, comp.version) == ("nmt-sru", "0.1.0")
    assert comp.load() is SRUCell
    assert check("cells", SRUCell) is None


def test_single_step_shapes_and_state():
    cell = SRUCell(3, 5)
    state = cell.initial_state(2, torch.device("cpu"), torch.float32)
    assert [tuple(s.shape) for s in state] == [(2, 5)]
    h, (c,) = cell(torch.randn(2, 3), state)
    assert h.shape == c.shape == (2, 5)


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("input_size", [4, 6])  # 6 == hidden: identity highway, no projection
def test_fused_path_matches_the_generic_loop_with_gradients(bidirectional, input_size):
    torch.manual_seed(0)
    stack = RecurrentStack(SRUCell, input_size, 6, num_layers=2, bidirectional=bidirectional,
                           dropout=0.3)
    assert stack.use_fused
    x = torch.randn(4, 7, input_size)
    lengths = torch.tensor([7, 3, 1, 5])
    runs = []
    for fused in (True, False):
        stack.use_fused = fused
        stack.zero_grad()
        torch.manual_seed(1)  # training mode: both paths must draw the same dropout masks
        out, (c,) = stack(x, lengths)
        (out.square().sum() + c.sum()).backward()
        runs.append((out, c, [p.grad.clone() for p in stack.parameters()]))
    (f_out, f_c, f_grads), (l_out, l_c, l_grads) = runs
    torch.testing.assert_close(f_out, l_out, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(f_c, l_c, atol=1e-5, rtol=1e-4)
    for a, b in zip(f_grads, l_grads):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
    assert f_out[1, 3:].abs().sum() == 0 and f_out[2, 1:].abs().sum() == 0


def test_padding_does_not_change_a_sentence():
    torch.manual_seed(0)
    stack = RecurrentStack(SRUCell, 4, 6, num_layers=2, bidirectional=True).eval()
    x = torch.randn(2, 6, 4)
    alone, _ = stack(x[1:, :3], torch.tensor([3]))
    batched, _ = stack(x, torch.tensor([6, 3]))
    torch.testing.assert_close(batched[1, :3], alone[0], atol=1e-5, rtol=1e-4)


def test_a_tiny_model_with_sru_learns_to_copy():
    losses = copy_task_losses(tiny_config(cell="sru"))
    assert sum(losses[-5:]) < 0.75 * sum(losses[:5])  # chance level is ln(10) = 2.3


def test_trains_saves_loads_and_translates_through_the_cli(tmp_path):
    meta, out = train_and_translate(tmp_path, model={"cell": "sru", "encoder_layers": 2})
    assert meta["components"]["cell"] == {"name": "sru", "distribution": "nmt-sru",
                                          "version": "0.1.0"}
    assert len(out) == 2
