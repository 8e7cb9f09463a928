"""SRP's gates on the demo model: at 1 they change nothing, at 0 they equal removing the group's weights;
the importance of the groups by each score."""

from __future__ import annotations

import copy

import pytest
import torch

from gridprune.data import read_hrl
from gridprune.methods.srp.gates import gated, importance, ones_like_groups
from gridprune.models import load_checkpoint
from gridprune.training.examples import collate, load_examples, make_batches
from gridprune.training.loop import ctc_loss

DEV = "wav_files_example/dev.hrl"


@pytest.fixture(scope="module")
def demo():
    checkpoint = load_checkpoint("demo")
    examples = load_examples(read_hrl(DEV).head(4), checkpoint.processor)
    batches = [collate(examples, batch) for batch in make_batches([len(e.inputs) for e in examples], 2)]
    return checkpoint.model, batches


def logits(model, inputs) -> torch.Tensor:
    with torch.no_grad():
        return model(input_values=inputs).logits


def test_gates_at_one_change_nothing_and_leave_no_hook_behind(demo):
    model, batches = demo
    inputs = batches[0][0]
    plain = logits(model, inputs)
    with gated(model, ones_like_groups(model)):
        assert torch.equal(logits(model, inputs), plain)
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


@pytest.mark.parametrize("group, zero", [
    ("ffn", lambda layer, j: (layer.feed_forward.output_dense.weight[:, j],)),
    ("qk", lambda layer, j: (layer.attention.q_proj.weight[j], layer.attention.q_proj.bias[j])),
    ("vo", lambda layer, j: (layer.attention.v_proj.weight[j], layer.attention.v_proj.bias[j])),
])
def test_a_gate_at_zero_equals_removing_its_groups_weights(demo, group, zero):
    model, batches = demo
    inputs = batches[0][0]
    gates = ones_like_groups(model)
    removed = copy.deepcopy(model)
    for index, j in ((1, 3), (2, 17)):
        gates.of(group)[index][j] = 0.0
        with torch.no_grad():
            for tensor in zero(removed.wav2vec2.encoder.layers[index], j):
                tensor.zero_()
    with gated(model, gates):
        gated_logits = logits(model, inputs)
    assert torch.allclose(gated_logits, logits(removed, inputs), atol=1e-5)
    assert not torch.allclose(gated_logits, logits(model, inputs), atol=1e-3)


def test_importance_scores_have_one_value_per_group_and_follow_their_definitions(demo):
    model, batches = demo

    def loss(output, labels):
        return ctc_loss(output, labels, blank=model.config.pad_token_id, zero_infinity=True)

    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    taylor = importance(model, "taylor_abs", batches, loss)
    signed = importance(model, "signed", batches, loss)
    first = importance(model, "taylor_abs", batches[:1], loss)
    l1 = importance(model, "l1")
    layer = model.wav2vec2.encoder.layers[0]
    assert [t.shape[0] for t in taylor.ffn] == [layer.feed_forward.intermediate_dense.out_features] * 4
    assert all(t.shape == (model.config.hidden_size,) for t in taylor.qk + taylor.vo + l1.qk + l1.vo)
    assert all((t >= 0).all() for t in taylor.ffn + taylor.qk + taylor.vo)
    assert all(torch.allclose(s.abs(), f) for s, f in zip(signed.ffn, first.ffn))  # one batch, the sign kept
    assert all((t >= f - 1e-7).all() for t, f in zip(taylor.ffn, first.ffn))  # a sum over batches
    expected = layer.feed_forward.intermediate_dense.weight.abs().sum(1) * layer.feed_forward.output_dense.weight.abs().sum(0)
    assert torch.allclose(l1.ffn[0], expected.detach())
    assert all(torch.equal(p, before[name]) for name, p in model.named_parameters())
    assert not model.training
