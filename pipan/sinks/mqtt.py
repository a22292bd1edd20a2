"""MQTT: events published to a broker with paho-mqtt (the optional extra ``pipan[mqtt]``).

Topics under the URL's prefix (default ``pipan``), all QoS 1:

- ``PREFIX/availability``: ``online`` (retained) while pipan runs, ``offline`` (retained)
  when it stops, and the last will, so the broker says ``offline`` if pipan dies.
- ``PREFIX/events``: every ``segment_start`` and ``segment_end`` event (JSON), in order.
- ``PREFIX/alerts``: the events of ``--alert`` labels, so a subscriber can take alerts alone.
- ``PREFIX/status``: the heartbeat events.
- ``PREFIX/label/LABEL``: how many people are doing LABEL now (retained), for dashboards.
  With ``ha_discovery``, Home Assistant's MQTT discovery makes a "pipan LABEL" sensor of
  each (``homeassistant/sensor/pipan_NODE/LABEL/config``, retained).

paho runs the connection on its own thread and reconnects with a doubling backoff; this
sink waits for a connection before publishing, so events queue (bounded) while the broker
is away and go out in order once it is back.
"""
from __future__ import annotations

import logging
import os
import re
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Dict, Optional, Sequence, Set

from .. import __version__
from ..errors import MissingDependencyError
from ..events import SEGMENT_END, SEGMENT_START, STATUS, Event
from . import Sink

log = logging.getLogger("pipan")

INSTALL = "pip install 'pipan[mqtt]' (or: pip install paho-mqtt)"
DISCOVERY_PREFIX = "homeassistant"
#: Environment variable read for the password when the URL has a user but no password
#: (keeps it out of the process list and the service file).
PASSWORD_ENV = "PIPAN_MQTT_PASSWORD"


@dataclass(frozen=True)
class MqttTarget:
    """A parsed ``mqtt://`` or ``mqtts://`` URL."""

    host: str
    port: int
    prefix: str
    tls: bool = False
    username: Optional[str] = None
    password: Optional[str] = None
    ca_file: Optional[str] = None  # ?ca=FILE: the CA of a broker's self-signed certificate

    def __str__(self) -> str:  # never shows the password
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}/{self.prefix}"


def parse_mqtt_url(url: str, env=os.environ) -> MqttTarget:
    """``mqtt[s]://[user[:password]@]host[:port][/topic/prefix][?ca=FILE]`` -> MqttTarget;
    ValueError with the reason for anything else."""
    u = urllib.parse.urlsplit(url)
    if u.scheme not in ("mqtt", "mqtts"):
        raise ValueError(f"{url!r}: use mqtt://host[:port]/prefix or mqtts:// for TLS")
    try:
        port = u.port
    except ValueError:
        raise ValueError(f"{url!r}: the port is not a number from 1 to 65535") from None
    if not u.hostname:
        raise ValueError(f"{url!r}: no host")
    prefix = urllib.parse.unquote(u.path).strip("/") or "pipan"
    if any(c in prefix for c in "+#\0") or "//" in prefix:
        raise ValueError(f"{url!r}: the topic prefix may not hold +, # or empty levels")
    query = urllib.parse.parse_qs(u.query)
    unknown = set(query) - {"ca"}
    if unknown:
        raise ValueError(f"{url!r}: unknown option {sorted(unknown)[0]!r} (known: ca)")
    ca = query.get("ca", [None])[-1]
    if ca is not None and not os.path.isfile(ca):
        raise ValueError(f"{url!r}: CA file {ca} not found")
    user = urllib.parse.unquote(u.username) if u.username else None
    password = urllib.parse.unquote(u.password) if u.password is not None else None
    if user is not None and password is None:
        password = env.get(PASSWORD_ENV)
    tls = u.scheme == "mqtts"
    return MqttTarget(host=u.hostname, port=port or (8883 if tls else 1883), prefix=prefix,
                      tls=tls, username=user, password=password, ca_file=ca)


def require_paho():
    try:
        import paho.mqtt.client as mqtt
    except ImportError:
        raise MissingDependencyError(f"--mqtt needs paho-mqtt: {INSTALL}") from None
    if not hasattr(mqtt, "CallbackAPIVersion"):
        raise MissingDependencyError(f"--mqtt needs paho-mqtt 2.0 or later: {INSTALL}")
    return mqtt


def topic_word(text: str) -> str:
    """A label as one topic level and id: lower case, [a-z0-9_-] only."""
    return re.sub(r"[^a-z0-9_-]+", "_", text.lower()).strip("_") or "_"


class MqttSink(Sink):
    """Publish events to ``target``. ``labels``: the action model's labels (per-label
    counts and discovery); ``reconnect``: (first, longest) seconds between tries."""

    def __init__(self, target: MqttTarget, labels: Sequence[str] = (),
                 ha_discovery: bool = False, client_id: Optional[str] = None,
                 reconnect=(0.5, 30.0), keepalive: int = 30):
        mqtt = require_paho()  # a clear error before anything starts
        self.target = target
        self.name = f"mqtt {target.host}:{target.port}"
        self.labels = tuple(labels)
        self.ha_discovery = ha_discovery
        self.keepalive = int(keepalive)
        p = target.prefix
        self.topics = {"availability": f"{p}/availability", SEGMENT_START: f"{p}/events",
                       SEGMENT_END: f"{p}/events", "alert": f"{p}/alerts",
                       STATUS: f"{p}/status"}
        self._doing: Dict[str, Set[int]] = {lab: set() for lab in self.labels}
        self._lock = threading.Lock()
        self.connected = threading.Event()
        self._outage_logged = False
        self._last_info = None
        self.published = 0
        client_id = client_id or f"pipan-{socket.gethostname()}-{os.getpid()}"
        c = self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                      protocol=mqtt.MQTTv311, clean_session=True)
        if target.username is not None:
            c.username_pw_set(target.username, target.password)
        if target.tls:
            c.tls_set(ca_certs=target.ca_file)
        c.will_set(self.topics["availability"], "offline", qos=1, retain=True)
        c.reconnect_delay_set(min_delay=reconnect[0], max_delay=reconnect[1])
        c.on_connect = self._on_connect
        c.on_connect_fail = self._on_connect_fail
        c.on_disconnect = self._on_disconnect

    # --- paho's thread ---------------------------------------------------------------------

    def _on_connect(self, client, userdata, flags, reason_code, properties=None) -> None:
        if reason_code.is_failure:
            self._outage(f"the broker refused the connection ({reason_code})")
            return
        client.publish(self.topics["availability"], "online", qos=1, retain=True)
        if self.ha_discovery:
            self._publish_discovery()
        with self._lock:
            for label in self.labels:
                self._publish_count(label)
        if self._outage_logged:
            log.warning("%s: connected again", self.name)
        else:
            log.info("%s: connected, publishing under %s/", self.name, self.target.prefix)
        self._outage_logged = False
        self.connected.set()

    def _on_connect_fail(self, client, userdata) -> None:
        self._outage("cannot connect")

    def _on_disconnect(self, client, userdata, flags, reason_code, properties=None) -> None:
        was = self.connected.is_set()
        self.connected.clear()
        if was and not self._closing:
            self._outage(f"connection lost ({reason_code})")

    _closing = False

    def _outage(self, why: str) -> None:
        if not self._outage_logged and not self._closing:
            self._outage_logged = True
            log.warning("%s: %s; retrying with backoff (events wait in a bounded queue)",
                        self.name, why)

    # --- the sink's thread -----------------------------------------------------------------

    def start(self) -> None:
        self.client.connect_async(self.target.host, self.target.port, self.keepalive)
        self.client.loop_start()

    def send(self, event: Event, halt: threading.Event) -> bool:
        payload = event.to_json()
        while not self.connected.wait(0.1):
            if halt.is_set():
                return False
        c = self.client
        self._last_info = c.publish(self.topics[event.type], payload, qos=1)
        if event.alert:
            self._last_info = c.publish(self.topics["alert"], payload, qos=1)
        self.published += 1
        if event.type in (SEGMENT_START, SEGMENT_END) and event.label in self._doing:
            with self._lock:
                people = self._doing[event.label]
                before = len(people)
                (people.add if event.type == SEGMENT_START else people.discard)(event.person)
                if len(people) != before:
                    self._publish_count(event.label)
        return True

    def _publish_count(self, label: str) -> None:
        self._last_info = self.client.publish(
            f"{self.target.prefix}/label/{topic_word(label)}", str(len(self._doing[label])),
            qos=1, retain=True)

    def _publish_discovery(self) -> None:
        node = topic_word(self.target.prefix.replace("/", "_"))
        device = {"identifiers": [f"pipan_{node}"], "name": f"pipan {self.target.prefix}",
                  "manufacturer": "pipan", "sw_version": __version__}
        import json
        for label in self.labels:
            word = topic_word(label)
            config = {"name": f"pipan {label}", "unique_id": f"pipan_{node}_{word}",
                      "state_topic": f"{self.target.prefix}/label/{word}",
                      "availability_topic": self.topics["availability"],
                      "unit_of_measurement": "people", "state_class": "measurement",
                      "icon": "mdi:human", "device": device}
            self.client.publish(f"{DISCOVERY_PREFIX}/sensor/pipan_{node}/{word}/config",
                                json.dumps(config), qos=1, retain=True)

    def close(self, timeout: float) -> None:
        """Wait (up to ``timeout``) for the broker to take what was published, say
        ``offline`` (retained) and disconnect cleanly (so the last will stays unused)."""
        deadline = time.monotonic() + timeout
        self._closing = True
        c = self.client
        if self.connected.is_set():
            last = self._last_info
            if last is not None:
                _wait_published(last, deadline - 0.1)
            info = c.publish(self.topics["availability"], "offline", qos=1, retain=True)
            _wait_published(info, deadline)
            c.disconnect()
        # paho may be sleeping between reconnection tries: do not wait past the deadline
        stopper = threading.Thread(target=c.loop_stop, daemon=True)
        stopper.start()
        stopper.join(max(0.0, deadline - time.monotonic()))


def _wait_published(info, deadline: float) -> None:
    try:
        info.wait_for_publish(max(0.01, deadline - time.monotonic()))
    except (RuntimeError, ValueError):
        pass  # not sent: the count of dropped events says so
