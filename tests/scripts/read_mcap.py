#!/usr/bin/env python3
"""Read a CLEA episode log with the official Python `mcap` reader; print one JSON object.

    read_mcap.py FILE            # a finished log: indexed (seeking) reader + a streaming pass
    read_mcap.py --stream FILE   # a log that may be truncated (writer killed): streaming only

Used by the `clea-tests` integration tests (tests/tests/episode_log.rs), run with $CLEA_PYTHON.

The JSON object holds:
  mode               "indexed" or "stream"
  header             {"profile", "library"} of the Header record (null if unreadable)
  channels           [{"topic", "schema_name", "schema_encoding", "message_encoding",
                       "schema_is_json_object"}], sorted by topic
  counts             {topic: messages read}
  messages           total messages read
  bad_payloads       [{"topic", "error"}] for payloads that are not JSON (at most 10)
  action_outcomes    the outcome status of every message on a `.../action` topic, in order
  metadata           [{"name", "metadata"}]
  attachments        [attachment names]
  summary_present    the file has a summary section (statistics / indexes)
  footer_present     a Footer record was read
  truncated          the data ended before the footer (streaming); the messages listed are
                     those of the complete chunks before that point
  error              what stopped the reading (null when it read to the end cleanly)
  stream_messages    (indexed mode) messages seen by the streaming pass, as a cross-check

Exit code 0 whenever the file could be opened and the JSON printed, also for a truncated file
(that is reported, not raised); 2 for a usage error.
"""

import io
import json
import sys
from collections import Counter

from mcap.reader import make_reader
from mcap.records import (
    Attachment,
    Channel,
    Footer,
    Header,
    Message,
    Metadata,
    Schema,
    Statistics,
)
from mcap.stream_reader import StreamReader

MAX_BAD = 10


class NonSeekable(io.RawIOBase):
    """A read-only view of a file that claims not to be seekable (a pipe, as far as a reader
    can tell)."""

    def __init__(self, f):
        super().__init__()
        self._f = f

    def readable(self):
        return True

    def seekable(self):
        return False

    def readinto(self, b):
        data = self._f.read(len(b))
        b[: len(data)] = data
        return len(data)


class Collector:
    def __init__(self):
        self.schemas = {}
        self.channels = {}
        self.counts = Counter()
        self.messages = 0
        self.bad_payloads = []
        self.action_outcomes = []
        self.metadata = []
        self.attachments = []

    def schema(self, s):
        self.schemas[s.id] = s

    def channel(self, c):
        self.channels[c.id] = c

    def message(self, channel, data):
        topic = channel.topic
        self.counts[topic] += 1
        self.messages += 1
        try:
            payload = json.loads(data)
        except (ValueError, UnicodeDecodeError) as e:
            if len(self.bad_payloads) < MAX_BAD:
                self.bad_payloads.append({"topic": topic, "error": str(e)})
            return
        if topic.endswith("/action"):
            outcome = payload.get("outcome") if isinstance(payload, dict) else None
            status = outcome.get("status") if isinstance(outcome, dict) else None
            self.action_outcomes.append(status)

    def channel_rows(self):
        rows = []
        for c in self.channels.values():
            s = self.schemas.get(c.schema_id)
            is_obj = False
            if s is not None:
                try:
                    is_obj = isinstance(json.loads(s.data), dict)
                except (ValueError, UnicodeDecodeError):
                    is_obj = False
            rows.append(
                {
                    "topic": c.topic,
                    "schema_name": s.name if s else None,
                    "schema_encoding": s.encoding if s else None,
                    "message_encoding": c.message_encoding,
                    "schema_is_json_object": is_obj,
                }
            )
        return sorted(rows, key=lambda r: r["topic"])

    def result(self, mode, header, **extra):
        out = {
            "mode": mode,
            "header": header,
            "channels": self.channel_rows(),
            "counts": dict(sorted(self.counts.items())),
            "messages": self.messages,
            "bad_payloads": self.bad_payloads,
            "action_outcomes": self.action_outcomes,
            "metadata": self.metadata,
            "attachments": self.attachments,
        }
        out.update(extra)
        return out


def describe(e):
    return f"{type(e).__name__}: {e}"


def stream_pass(raw):
    """Read records in order until the footer or until the data ends. Messages of a chunk are
    only yielded once the whole chunk was read, so a truncated last chunk contributes none."""
    col = Collector()
    header = None
    footer = False
    summary = False
    error = None
    reader = StreamReader(raw, validate_crcs=True)
    try:
        for rec in reader.records:
            if isinstance(rec, Schema):
                col.schema(rec)
            elif isinstance(rec, Channel):
                col.channel(rec)
            elif isinstance(rec, Message):
                ch = col.channels.get(rec.channel_id)
                if ch is None:
                    raise ValueError(f"message on unknown channel {rec.channel_id}")
                col.message(ch, rec.data)
            elif isinstance(rec, Metadata):
                col.metadata.append({"name": rec.name, "metadata": dict(rec.metadata)})
            elif isinstance(rec, Attachment):
                col.attachments.append(rec.name)
            elif isinstance(rec, Statistics):
                summary = True
            elif isinstance(rec, Footer):
                footer = True
            elif isinstance(rec, Header):
                header = {"profile": rec.profile, "library": rec.library}
    except Exception as e:  # the end of a truncated file shows up as any of several errors
        error = describe(e)
    return col, header, footer, summary, error


def read_stream(path):
    with open(path, "rb") as f:
        col, header, footer, summary, error = stream_pass(io.BufferedReader(NonSeekable(f)))
    return col.result(
        "stream",
        header,
        summary_present=summary,
        footer_present=footer,
        truncated=not footer,
        error=error,
    )


def read_indexed(path):
    col = Collector()
    header = None
    summary_present = False
    error = None
    with open(path, "rb") as f:
        try:
            reader = make_reader(f, validate_crcs=True)
            h = reader.get_header()
            header = {"profile": h.profile, "library": h.library}
            summary = reader.get_summary()
            summary_present = summary is not None
            for schema, channel, message in reader.iter_messages():
                if schema is not None:
                    col.schema(schema)
                col.channel(channel)
                col.message(channel, message.data)
            if summary is not None:
                # Channels without messages still belong to the file.
                for s in summary.schemas.values():
                    col.schema(s)
                for c in summary.channels.values():
                    col.channel(c)
            col.metadata = [
                {"name": m.name, "metadata": dict(m.metadata)} for m in reader.iter_metadata()
            ]
            col.attachments = [a.name for a in reader.iter_attachments()]
        except Exception as e:
            error = describe(e)
        f.seek(0)
        scol, _, footer, _, serror = stream_pass(f)
    return col.result(
        "indexed",
        header,
        summary_present=summary_present,
        footer_present=footer,
        truncated=not footer,
        error=error or serror,
        stream_messages=scol.messages,
    )


def main(argv):
    args = argv[1:]
    stream = False
    if args and args[0] == "--stream":
        stream = True
        args = args[1:]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    out = read_stream(args[0]) if stream else read_indexed(args[0])
    json.dump(out, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
