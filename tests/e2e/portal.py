# SPDX-License-Identifier: GPL-2.0-or-later
"""The captive portal lab (portal.sh): the hotel's gateway and its client's probes.

serve GW OTHER READY [RESOLVER]
                       the portal on GW: HTTP on 80 (/ redirects to /login, "PORTAL-LOGIN"),
                       DNS on 53 udp+tcp answering every A query with GW (the hijack; on
                       RESOLVER too, a resolver off the LAN), and decoys that must stay
                       unreachable: GW tcp 8080 and OTHER tcp 80
session DIR GW OTHER   the browser, run by `killswitch portal`: fetches and resolves, probes the
                       decoys, then waits for the test (DIR/go1), outlives the grant (DIR/expires
                       holds its end, epoch seconds), waits again (DIR/go2) and tries once more;
                       results as lines "name value" in DIR/results
probe GW OTHER         the browser once: "resolve R fetch F decoy_addr D" on one line
connect ADDR PORT      one TCP connect: "connected" or "failed:ERROR"
fetch URL              the page's body (after redirects), exit 1 when it cannot be fetched
flood SECONDS GW OTHER a program outside the group: TCP connects and UDP datagrams to the
                       portal's own ports and elsewhere; prints "attempts=N"
"""
import os
import socket
import struct
import sys
import threading
import time
import urllib.request

PAGE = b"PORTAL-LOGIN"


def dns_answer(query, addr):
    if len(query) < 12:
        return None
    qid = query[:2]
    # the question: up to the end of QNAME, then QTYPE and QCLASS
    i = 12
    while i < len(query) and query[i] != 0:
        i += query[i] + 1
    question = query[12:i + 5]
    header = qid + b"\x81\x80" + b"\x00\x01\x00\x01\x00\x00\x00\x00"
    answer = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + socket.inet_aton(addr)
    return header + question + answer


def serve_dns_udp(gw):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((gw, 53))
    while True:
        data, peer = s.recvfrom(4096)
        reply = dns_answer(data, gw)
        if reply:
            s.sendto(reply, peer)


def serve_dns_tcp(gw):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((gw, 53))
    s.listen(16)
    while True:
        c, _ = s.accept()
        try:
            c.settimeout(2)
            n = struct.unpack("!H", c.recv(2))[0]
            data = b""
            while len(data) < n:
                more = c.recv(n - len(data))
                if not more:
                    break
                data += more
            reply = dns_answer(data, gw)
            if reply:
                c.sendall(struct.pack("!H", len(reply)) + reply)
        except OSError:
            pass
        c.close()


def serve_http(gw):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((gw, 80))
    s.listen(16)
    while True:
        c, _ = s.accept()
        try:
            c.settimeout(2)
            req = c.recv(4096).decode("latin-1")
            path = req.split(" ")[1] if " " in req else "/"
            if path == "/login":
                c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(PAGE) + PAGE)
            else:
                c.sendall(b"HTTP/1.0 302 Found\r\nLocation: http://%s/login\r\nContent-Length: 0\r\n\r\n"
                          % gw.encode())
        except OSError:
            pass
        c.close()


def serve_decoy(addr, port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(16)
    while True:
        c, _ = s.accept()
        c.sendall(b"DECOY")
        c.close()


def serve_dns_udp_as(addr, gw):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 53))
    while True:
        data, peer = s.recvfrom(4096)
        reply = dns_answer(data, gw)
        if reply:
            s.sendto(reply, peer)


def serve(gw, other, ready, resolver=None):
    jobs = [(serve_dns_udp, (gw,)), (serve_dns_tcp, (gw,)), (serve_http, (gw,)),
            (serve_decoy, (gw, 8080)), (serve_decoy, (other, 80))]
    if resolver:
        jobs.append((serve_dns_udp_as, (resolver, gw)))
    for fn, args in jobs:
        threading.Thread(target=fn, args=args, daemon=True).start()
    time.sleep(0.3)
    open(ready, "w").close()
    while True:
        time.sleep(3600)


def fetch(url, timeout=3):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read()


def try_fetch(url):
    try:
        return "ok" if fetch(url) == PAGE else "wrong-page"
    except Exception as e:  # refused, reset, timeout: all "failed"
        return "failed:" + type(e).__name__


def try_resolve(name):
    try:
        return socket.gethostbyname(name)
    except Exception as e:
        return "failed:" + type(e).__name__


def try_connect(addr, port):
    s = socket.socket()
    s.settimeout(3)
    try:
        s.connect((addr, port))
        return "connected"
    except Exception as e:
        return "failed:" + type(e).__name__
    finally:
        s.close()


def wait_file(path, seconds):
    end = time.time() + seconds
    while not os.path.exists(path):
        if time.time() > end:
            raise SystemExit("no " + path)
        time.sleep(0.05)


def session(d, gw, other):
    res = []
    res.append(("uid", str(os.getuid())))
    res.append(("resolve", try_resolve("captive.example")))
    res.append(("fetch", try_fetch("http://captive.example/")))
    res.append(("fetch_gw", try_fetch("http://%s/" % gw)))
    res.append(("decoy_port", try_connect(gw, 8080)))
    res.append(("decoy_addr", try_connect(other, 80)))
    with open(os.path.join(d, "results"), "w") as f:
        f.writelines("%s %s\n" % r for r in res)
    open(os.path.join(d, "ready1"), "w").close()
    wait_file(os.path.join(d, "go1"), 60)
    # past the grant's end (the kernel's timeout), then once more
    with open(os.path.join(d, "expires")) as f:
        end = float(f.read())
    while time.time() < end + 1.5:
        time.sleep(0.1)
    open(os.path.join(d, "ready2"), "w").close()
    wait_file(os.path.join(d, "go2"), 60)
    res.append(("fetch_after", try_fetch("http://%s/" % gw)))
    res.append(("resolve_after", try_resolve("captive2.example")))
    with open(os.path.join(d, "results"), "w") as f:
        f.writelines("%s %s\n" % r for r in res)


def flood(seconds, gw, other):
    targets_tcp = [(gw, 80), (gw, 443), (gw, 53), (other, 80), (other, 443)]
    targets_udp = [(gw, 53), (gw, 443), (other, 53), (other, 443)]
    end = time.time() + seconds
    attempts = 0
    while time.time() < end:
        for t in targets_tcp:
            s = socket.socket()
            s.setblocking(False)
            try:
                s.connect_ex(t)
            except OSError:
                pass
            s.close()
            attempts += 1
        for t in targets_udp:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                s.sendto(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01a\x00\x00\x01\x00\x01", t)
            except OSError:
                pass
            s.close()
            attempts += 1
    print("attempts=%d" % attempts)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "serve":
        serve(*args)
    elif cmd == "session":
        session(*args)
    elif cmd == "probe":
        print("resolve %s fetch %s decoy_addr %s" % (try_resolve("captive.example"),
                                                    try_fetch("http://captive.example/"),
                                                    try_connect(args[1], 80)))
    elif cmd == "connect":
        print(try_connect(args[0], int(args[1])))
    elif cmd == "fetch":
        sys.stdout.write(fetch(args[0]).decode())
    elif cmd == "flood":
        flood(float(args[0]), args[1], args[2])
    else:
        raise SystemExit("unknown command " + cmd)


if __name__ == "__main__":
    main()
