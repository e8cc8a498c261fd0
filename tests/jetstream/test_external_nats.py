"""STAN in external-NATS mode on the NATS cluster of the nats_jetstream role (JetStream off).

Three nats-server processes from the role's nats.conf (plain NATS, routed over 127.0.0.1) and
three nats-streaming-server processes from the stan role's stan.conf with stan_nats_url pointing
at them (one FT group, one shared store): one server FT-active, the others standby, and a SIGKILL
of the active one loses no acknowledged message.
"""

from __future__ import annotations

from tests.lib.natscluster import NatsCluster
from tests.lib.stan import StanCluster
from tests.stan.helpers import assert_channel_complete, assert_published, wait_for_new_active

BATCH = 1000


def test_stan_ft_on_the_roles_plain_nats_cluster_fails_over_without_loss(tmp_path, stanclient):
    nats = NatsCluster(tmp_path / "nats", size=3, jetstream=False)
    stan = None
    try:
        nats.start()
        assert "jetstream {" not in nats.servers[0].config.read_text()
        nats_url = nats.nats_urls()
        stan = StanCluster(tmp_path / "stan", size=3, overrides={"stan_nats_url": nats_url})
        stan.start()
        conf = stan.servers[0].config.read_text()
        assert f'nats_server_url: "{nats_url}"' in conf and "cluster {" not in conf  # no embedded NATS
        states = sorted(stan.states().values())
        assert states == ["FT_ACTIVE", "FT_STANDBY", "FT_STANDBY"]

        assert_published(stanclient.pub(nats_url, "pub-1", n=BATCH, start=1), BATCH)
        active = stan.active()
        t0 = active.kill()
        _seconds, new_active, _polls = wait_for_new_active(stan, t0)
        assert new_active is not active
        assert sorted(stan.states().values()) == ["FT_ACTIVE", "FT_STANDBY"]
        # Clients keep using the NATS cluster's URLs: the STAN servers are not in the path.
        assert_published(stanclient.pub(nats_url, "pub-2", n=BATCH, start=BATCH + 1), BATCH)
        assert_channel_complete(stanclient.sub(nats_url, "sub-1", expect=2 * BATCH), 2 * BATCH)

        # A NATS server of the cluster dies too: STAN and its clients go on over the other two.
        nats.servers[0].kill()
        rest = nats.nats_urls()
        assert_published(stanclient.pub(rest, "pub-3", n=BATCH, start=2 * BATCH + 1, connect_wait="10s"), BATCH)
        assert_channel_complete(stanclient.sub(rest, "sub-2", expect=3 * BATCH), 3 * BATCH)
    finally:
        if stan is not None:
            stan.stop()
        nats.stop()
