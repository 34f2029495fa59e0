"""The premise of transfer by language: tasks whose instructions read alike have policies
that act alike. For every ordered pair of tasks, how alike language finds them and how
often their trained greedy policies choose the same action (:func:`premise`), and whether
each measure's nearest neighbour shares the colour or the type (:func:`premise_summary`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from .dqn import PARAM_NAMES, greedy_actions
from .language import cosine_matrix


def premise(policies, embeddings: torch.Tensor, starts: np.ndarray) -> pd.DataFrame:
    """How alike two tasks look to language and to their trained policies, for every ordered
    pair of the room's objects.

    Args:
        policies: the :class:`~cliprl_helpers.core.base_policies.BasePolicies` of all nine objects
            (``T`` trials).
        embeddings: ``(9, dim)`` sentence embeddings of their instructions, in the same order.
        starts: ``(S,)`` the states the agreement counts (the room's free states).

    Returns one row per (target, other) pair: ``language cosine`` (of the instructions),
    ``policy agreement`` (share of states where the two greedy policies pick the same action,
    averaged over trials), ``same colour`` and ``same type``.
    """
    names = list(policies.instructions)
    lang = cosine_matrix(embeddings, embeddings).numpy()
    greedy = torch.stack([greedy_actions({k: policies.params[k][t] for k in PARAM_NAMES})
                          for t in range(len(policies.trial_seeds))])  # (T, 9, S)
    mask = torch.as_tensor(starts)
    rows = []
    for i, target in enumerate(names):
        same = (greedy == greedy[:, i:i + 1]) & mask  # (T, 9, S)
        agree = (same.sum(-1).double() / mask.sum()).mean(0).numpy()
        for j, other in enumerate(names):
            if j != i:
                rows.append({"target": target, "object": other,
                             "language cosine": float(lang[i, j]),
                             "policy agreement": float(agree[j]),
                             "same colour": target.split()[-2] == other.split()[-2],
                             "same type": target.split()[-1] == other.split()[-1]})
    return pd.DataFrame(rows)


def premise_summary(pairs: pd.DataFrame) -> pd.DataFrame:
    """For each similarity of :func:`premise`: the share of targets whose most similar other
    object has the same colour, and the share whose most similar has the same type."""
    out = []
    for col in ("language cosine", "policy agreement"):
        top = pairs.loc[pairs.groupby("target", sort=False)[col].idxmax()]
        out.append({"ranked by": col, "top pick same colour": float(top["same colour"].mean()),
                    "top pick same type": float(top["same type"].mean()),
                    "targets": int(len(top))})
    return pd.DataFrame(out)
