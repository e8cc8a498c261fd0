# -*- coding: utf-8 -*-
# Copyright: nats_streaming.ft contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""AWS region names checked against the regions botocore knows, before any call is made.

A region with the right shape that does not exist (``us-nowhere-9``) otherwise ends in an
endpoint error that names no option. botocore's endpoint data lists the regions of every
partition (aws, aws-cn, aws-us-gov, ...) for each service; a region none of them lists is
refused with close matches. An endpoint set explicitly (``endpoint_url``, ``AWS_URL``,
``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_<SERVICE>``) skips the check: emulators and private
endpoints serve whatever region they are given. Used by the modules (option ``region``) and by
the ``aws_region_problem`` filter of the playbooks (variable ``aws_region``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import os

try:
    import botocore
    import botocore.session
except ImportError:  # pragma: no cover - the modules report the missing library
    botocore = None

_KNOWN = {}


def known_regions(service):
    """Sorted regions of every partition botocore knows for ``service`` (cached per process)."""
    if service not in _KNOWN:
        session = botocore.session.get_session()
        regions = set()
        for partition in session.get_available_partitions():
            regions.update(session.get_available_regions(service, partition_name=partition))
        _KNOWN[service] = sorted(regions)
    return _KNOWN[service]


def explicit_endpoint(services, endpoint_url=None, environ=None):
    """The endpoint set explicitly for any of ``services``, or None."""
    environ = os.environ if environ is None else environ
    if endpoint_url:
        return endpoint_url
    names = ["AWS_URL", "AWS_ENDPOINT_URL"] + ["AWS_ENDPOINT_URL_" + s.upper().replace("-", "_") for s in services]
    for name in names:
        if environ.get(name):
            return environ[name]
    return None


def region_problem(region, services, option="region", endpoint_url=None, environ=None):
    """Why ``region`` cannot be used for ``services`` (None when it can, or when an endpoint is explicit)."""
    if not region or botocore is None or explicit_endpoint(services, endpoint_url, environ):
        return None
    unknown = [s for s in services if region not in known_regions(s)]
    if not unknown:
        return None
    candidates = sorted(set(r for s in services for r in known_regions(s)))
    close = difflib.get_close_matches(region, candidates, n=3, cutoff=0.6)
    if close:
        hint = "did you mean %s?" % " or ".join(close)
    else:
        same_prefix = [r for r in candidates if r.split("-")[0] == region.split("-")[0]] or candidates[:12]
        hint = "known regions include %s." % ", ".join(same_prefix)
    return (
        "%s: %r is not a region that botocore %s knows for %s; %s For a private or local endpoint set endpoint_url; "
        "for a region newer than this botocore, upgrade botocore." % (option, region, botocore.__version__, ", ".join(unknown), hint)
    )
