"""The premise: how alike instructions read and how alike their policies act, on hand-built
policies whose answer is known."""

from types import SimpleNamespace

import torch

from cliprl_helpers.core import minigrid_world as mw
from cliprl_helpers.core import premise


def test_premise_on_policies_that_agree_by_colour():
    room = mw.Room("by_colour")
    names = list(room.objects)
    S = room.n_states
    # hand-built greedy behaviour: the same action for all objects of one colour
    colour_action = {"red": 0, "green": 1, "blue": 2}
    W1 = torch.zeros(1, 9, S, 1)
    b2 = torch.stack([torch.nn.functional.one_hot(torch.tensor(colour_action[n.split()[-2]]),
                                                  4).float() for n in names])[None]
    params = {"W1": W1, "b1": torch.zeros(1, 9, 1), "W2": torch.zeros(1, 9, 1, 4), "b2": b2}
    policies = SimpleNamespace(instructions=names, params=params, trial_seeds=[0])
    # language that groups by type: one-hot of the type word
    emb = torch.stack([torch.nn.functional.one_hot(torch.tensor(mw.OBJECT_TYPES.index(
        n.split()[-1])), 3).float() + 0.01 * i for i, n in enumerate(names)])
    pairs = premise.premise(policies, emb, room.table(room.objects[names[0]]).starts)
    assert len(pairs) == 9 * 8
    s = premise.premise_summary(pairs).set_index("ranked by")
    assert s.loc["policy agreement", "top pick same colour"] == 1.0
    assert s.loc["language cosine", "top pick same type"] == 1.0
    assert s.loc["language cosine", "top pick same colour"] == 0.0
