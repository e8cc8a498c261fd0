# -*- coding: utf-8 -*-
# Copyright: nats_streaming.ft contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``aws_region_problem`` filter: the modules' region check, for a playbook's input validation."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.nats_streaming.ft.plugins.module_utils.aws_regions import region_problem


def aws_region_problem(region, services, option="aws_region", endpoint_url=None):
    if not isinstance(services, (list, tuple)) or not services:
        raise AnsibleFilterError("aws_region_problem: services must be a non-empty list of AWS service names")
    return region_problem(region, list(services), option=option, endpoint_url=endpoint_url) or ""


class FilterModule(object):
    def filters(self):
        return {"aws_region_problem": aws_region_problem}
