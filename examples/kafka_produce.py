#!/usr/bin/env python3
"""Produce each non-empty line of FILE as one message (no key) to TOPIC on a Kafka-protocol broker.

    python3 examples/kafka_produce.py BROKERS TOPIC FILE

Written for docs/streaming.md ("A run against a real broker on 127.0.0.1"), to fill a broker
that has no producer CLI for raw lines (tansu's `cat` produces schema-backed messages); it does
what `examples/kafka_loopback.rs --produce` does for the mock cluster. Requires the Python
client `confluent-kafka` (PyPI; run with 2.16.1, which bundles librdkafka 2.16.0), e.g. in a venv:
`python3 -m venv venv && venv/bin/pip install confluent-kafka`.
"""
import sys
import time

from confluent_kafka import Producer


def main() -> int:
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    brokers, topic, path = sys.argv[1:4]
    producer = Producer(
        {"bootstrap.servers": brokers, "linger.ms": 20, "enable.idempotence": True}
    )
    errors = []

    def delivered(err, _msg):
        if err is not None:
            errors.append(err)

    sent = 0
    started = time.time()
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip():
                continue
            while True:
                try:
                    producer.produce(topic, line.encode(), on_delivery=delivered)
                    break
                except BufferError:
                    producer.poll(0.1)
            sent += 1
    left = producer.flush(30)
    print(
        f"produced {sent} messages to `{topic}` in {time.time() - started:.2f} s"
        f" ({left} undelivered, {len(errors)} failed{': ' + str(errors[0]) if errors else ''})"
    )
    return 1 if left or errors else 0


if __name__ == "__main__":
    sys.exit(main())
