#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A third party that removes or edits the kill switch's table, again and again, and times how
long the table stays removed, from nftables' own events (nfnetlink, NFNLGRP_NFTABLES).

  nftevents.py cycle --kind flush|delete|accept --count N [--table killswitch] [--timeout 1]

Run in the namespace of the table. Each round runs the third party's nft command, then waits for
the next commit made by a process named "killswitch" (watch restoring the table). For each round
it prints one JSON line:

  gap_ms        from the third party's commit to killswitch's commit, both as nfnetlink events
                seen by this listener: how long the table was missing (or carried the intruder's
                accept rule)
  after_cmd_ms  from the third party's nft command returning to killswitch's commit
  restored      whether killswitch committed within --timeout

and at the end one line with the median, p90 and max of each, and how many rounds timed out.
Standard library only.
"""
import argparse
import errno
import json
import socket
import struct
import subprocess
import sys
import threading
import time

NETLINK_NETFILTER = 12
NFNLGRP_NFTABLES = 7
NFNL_SUBSYS_NFTABLES = 10
NFT_MSG_NEWGEN = 15
NFTA_GEN_PROC_PID, NFTA_GEN_PROC_NAME = 2, 3
SO_RCVBUFFORCE = 33

COMMANDS = {
    # nft flush ruleset: every table goes, the kill switch's with the others
    "flush": ["nft", "flush", "ruleset"],
    "delete": ["nft", "delete", "table", "inet", "{table}"],
    # an accept rule at the head of output: the table is there, and lets everything out
    "accept": ["nft", "insert", "rule", "inet", "{table}", "output", "accept"],
}


def attrs(buf, off, end):
    """Yields (type, payload) of the netlink attributes in buf[off:end]."""
    while off + 4 <= end:
        alen, atype = struct.unpack_from("=HH", buf, off)
        if alen < 4:
            return
        yield atype & 0x3FFF, buf[off + 4:off + alen]
        off += (alen + 3) & ~3


class Listener(threading.Thread):
    """Receives every nftables event, timestamped when it arrives: (time, msg, table, proc)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 16 << 20)
        except OSError:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
        self.sock.bind((0, 1 << (NFNLGRP_NFTABLES - 1)))
        self.events = []
        self.overruns = 0
        self.cond = threading.Condition()

    def run(self):
        while True:
            try:
                buf = self.sock.recv(1 << 20)
            except OSError as e:
                if e.errno == errno.ENOBUFS:
                    with self.cond:
                        self.overruns += 1
                    continue
                raise
            t = time.monotonic()
            got = []
            off = 0
            while off + 16 <= len(buf):
                mlen, mtype = struct.unpack_from("=IH", buf, off)
                if mlen < 16:
                    break
                end = off + mlen
                if mtype >> 8 == NFNL_SUBSYS_NFTABLES and off + 20 <= end:
                    msg = mtype & 0xFF
                    table = proc = None
                    for atype, payload in attrs(buf, off + 20, end):
                        if msg == NFT_MSG_NEWGEN and atype == NFTA_GEN_PROC_NAME:
                            proc = payload.split(b"\0", 1)[0].decode(errors="replace")
                        elif msg != NFT_MSG_NEWGEN and atype == 1:
                            table = payload.split(b"\0", 1)[0].decode(errors="replace")
                    got.append((t, msg, table, proc))
                off += (mlen + 3) & ~3
            with self.cond:
                self.events.extend(got)
                self.cond.notify_all()

    def wait_for(self, start, pred, deadline):
        """(index, event) of the first event from index start on that satisfies pred, waiting until
        deadline; None when none came."""
        i = start
        with self.cond:
            while True:
                while i < len(self.events):
                    if pred(self.events[i]):
                        return i, self.events[i]
                    i += 1
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)


def pct(values, p):
    if not values:
        return None
    v = sorted(values)
    return round(v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))], 2)


def cmd_cycle(args):
    lst = Listener()
    lst.start()
    argv = [a.replace("{table}", args.table) for a in COMMANDS[args.kind]]
    gaps, after, missed = [], [], 0
    for i in range(args.count):
        with lst.cond:
            mark = len(lst.events)
        t0 = time.monotonic()
        rc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE).returncode
        t1 = time.monotonic()
        deadline = t1 + args.timeout
        # The third party's commit: the first event about our table after the mark.
        gone = lst.wait_for(mark, lambda e: e[2] == args.table and e[1] != NFT_MSG_NEWGEN, deadline)
        back = None
        if gone:
            back = lst.wait_for(gone[0], lambda e: e[1] == NFT_MSG_NEWGEN and e[3] == "killswitch", deadline)
        if back:
            gone, back = gone[1], back[1]
        row = {"round": i, "kind": args.kind, "nft_rc": rc, "cmd_ms": round((t1 - t0) * 1e3, 2)}
        if back:
            row["gap_ms"] = round((back[0] - gone[0]) * 1e3, 2)
            row["after_cmd_ms"] = round((back[0] - t1) * 1e3, 2)
            row["restored"] = True
            gaps.append(row["gap_ms"])
            after.append(row["after_cmd_ms"])
        else:
            row["restored"] = False
            missed += 1
        print(json.dumps(row), flush=True)
        time.sleep(args.settle)
    summary = {
        "summary": args.kind, "rounds": args.count, "restored": args.count - missed, "missed": missed,
        "gap_ms": {"median": pct(gaps, 50), "p90": pct(gaps, 90), "max": max(gaps) if gaps else None},
        "after_cmd_ms": {"median": pct(after, 50), "p90": pct(after, 90), "max": max(after) if after else None},
        "overruns": lst.overruns,
    }
    print(json.dumps(summary), flush=True)
    return 0 if missed == 0 else 1


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("cycle")
    p.add_argument("--kind", choices=sorted(COMMANDS), required=True)
    p.add_argument("--count", type=int, default=50)
    p.add_argument("--table", default="killswitch")
    p.add_argument("--timeout", type=float, default=1.0)
    p.add_argument("--settle", type=float, default=0.1)
    args = ap.parse_args()
    return cmd_cycle(args)


if __name__ == "__main__":
    sys.exit(main())
