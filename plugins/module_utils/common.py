# -*- coding: utf-8 -*-
# Copyright: nats_streaming.ft contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Small helpers shared by every module of the collection."""

from __future__ import absolute_import, division, print_function

import copy


def make_diff(before, after):
    """Ansible diff structure from two normalized representations (None = absent)."""
    return {
        "before": copy.deepcopy(before) if before is not None else {},
        "after": copy.deepcopy(after) if after is not None else {},
    }


def dict_changes(before, after):
    """Keys of ``after`` whose value differs from ``before`` (a missing key counts as different).

    Only keys present in ``after`` are considered: a key the user did not set is left alone.
    """
    before = before or {}
    return dict((k, v) for k, v in (after or {}).items() if before.get(k) != v)
