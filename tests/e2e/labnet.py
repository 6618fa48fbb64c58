#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The lab's traffic generator and its "internet" services, standard library only.

Probes print one line and exit 0 when the traffic reached its peer (a reply came back), 1 when it
did not. The exit status is a hint for the "tunnel works" probes only: whether something leaked is
decided by the oracle on the far side of the link, never by what the sender believes.

  send   UDP or TCP to ADDR PORT, optionally bound to a device or an address, optionally STUN
  dns    one DNS query over UDP or TCP; exit 0 when the answer holds the expected address
  mcast  UDP to a multicast group out of a given interface
  flood  UDP sends as fast as possible for a while, ignoring errors (the atomicity test)
  hold   open a TCP or connected-UDP flow, wait for a go file, then keep sending
  invalid  TCP segments conntrack calls invalid (SYN and FIN together), from a raw socket (root)
  serve  TCP/UDP echo, a DNS responder (UDP and TCP), STUN binding responses and a TCP "push" port
"""
import argparse
import os
import select
import socket
import struct
import sys
import threading
import time

SO_BINDTODEVICE = 25
DNS_ANSWER4 = "198.51.100.10"
DNS_ANSWER6 = "2001:db8:100::10"
STUN_COOKIE = 0x2112A442


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def sockaddr(addr, port):
    if "%" in addr:  # link-local with a scope: let getaddrinfo resolve the interface
        return socket.getaddrinfo(addr, port, socket.AF_INET6, socket.SOCK_DGRAM)[0][4]
    return (addr, port)


def make_socket(args, kind):
    s = socket.socket(family_of(args.dst), kind)
    if args.bind_dev:
        s.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, args.bind_dev.encode())
    if args.broadcast:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    if args.bind_addr or args.sport:
        s.bind((args.bind_addr or ("::" if s.family == socket.AF_INET6 else "0.0.0.0"), args.sport or 0))
    return s


def stun_request():
    return struct.pack("!HHI12s", 0x0001, 0, STUN_COOKIE, os.urandom(12))


def cmd_send(args):
    payload = stun_request() if args.stun else args.payload.encode()
    if args.proto == "udp":
        s = make_socket(args, socket.SOCK_DGRAM)
        sent = errs = 0
        for _ in range(args.count):
            try:
                s.sendto(payload, sockaddr(args.dst, args.port))
                sent += 1
            except OSError:
                errs += 1
        reply = b""
        if sent and args.wait > 0:
            r, _, _ = select.select([s], [], [], args.wait)
            if r:
                try:
                    reply = s.recv(2048)
                except OSError:
                    pass
        print(f"udp {args.dst}:{args.port} sent={sent} errors={errs} reply={len(reply)}")
        return 0 if reply else 1
    s = make_socket(args, socket.SOCK_STREAM)
    s.settimeout(args.wait)
    try:
        s.connect(sockaddr(args.dst, args.port))
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        print(f"tcp {args.dst}:{args.port} connected reply={len(data)}")
        return 0 if data == payload else 1
    except OSError as e:
        print(f"tcp {args.dst}:{args.port} failed: {e.strerror or e}")
        return 1
    finally:
        s.close()


def cmd_mcast(args):
    fam = family_of(args.dst)
    s = socket.socket(fam, socket.SOCK_DGRAM)
    idx = socket.if_nametoindex(args.iface)
    if fam == socket.AF_INET:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, struct.pack("4s4si", b"\0" * 4, b"\0" * 4, idx))
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, args.ttl)
        dst = (args.dst, args.port)
    else:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, idx)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, args.ttl)
        dst = (args.dst, args.port, 0, idx)
    sent = errs = 0
    for _ in range(args.count):
        try:
            s.sendto(args.payload.encode(), dst)
            sent += 1
        except OSError:
            errs += 1
    print(f"mcast {args.dst}:{args.port} via {args.iface} sent={sent} errors={errs}")
    return 0 if sent else 1


def dns_query(name, qtype):
    qid = int.from_bytes(os.urandom(2), "big")
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return qid, struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + q + struct.pack("!HH", qtype, 1)


def dns_answers(msg):
    """The A/AAAA addresses in a response (enough parsing for our own responder)."""
    _, _, qd, an, _, _ = struct.unpack("!HHHHHH", msg[:12])
    off = 12
    for _ in range(qd):
        while msg[off]:
            off += msg[off] + 1
        off += 5
    out = []
    for _ in range(an):
        if msg[off] & 0xC0 == 0xC0:
            off += 2
        else:
            while msg[off]:
                off += msg[off] + 1
            off += 1
        rtype, _, _, rdlen = struct.unpack("!HHIH", msg[off:off + 10])
        off += 10
        rdata = msg[off:off + rdlen]
        off += rdlen
        if rtype == 1:
            out.append(socket.inet_ntop(socket.AF_INET, rdata))
        elif rtype == 28:
            out.append(socket.inet_ntop(socket.AF_INET6, rdata))
    return out


def cmd_dns(args):
    qtype = 28 if args.aaaa else 1
    qid, query = dns_query(args.name, qtype)
    args.dst = args.server
    try:
        if args.tcp:
            s = make_socket(args, socket.SOCK_STREAM)
            s.settimeout(args.wait)
            s.connect(sockaddr(args.server, args.port))
            s.sendall(struct.pack("!H", len(query)) + query)
            buf = b""
            while len(buf) < 2 or len(buf) < 2 + struct.unpack("!H", buf[:2])[0]:
                chunk = s.recv(4096)
                if not chunk:
                    break
                buf += chunk
            msg = buf[2:]
        else:
            s = make_socket(args, socket.SOCK_DGRAM)
            s.settimeout(args.wait)
            s.sendto(query, sockaddr(args.server, args.port))
            msg = s.recv(4096)
        got = dns_answers(msg) if len(msg) >= 12 and struct.unpack("!H", msg[:2])[0] == qid else []
    except (OSError, IndexError, struct.error) as e:
        print(f"dns {args.server}:{args.port}/{'tcp' if args.tcp else 'udp'} failed: {getattr(e, 'strerror', None) or e}")
        return 1
    want = DNS_ANSWER6 if args.aaaa else DNS_ANSWER4
    print(f"dns {args.server}:{args.port}/{'tcp' if args.tcp else 'udp'} answer={','.join(got) or '-'}")
    return 0 if want in got else 1


def cmd_flood(args):
    s = make_socket(args, socket.SOCK_DGRAM)
    s.setblocking(False)
    dst = sockaddr(args.dst, args.port)
    payload = args.payload.encode()
    sent = errs = 0
    end = time.monotonic() + args.seconds
    stop = args.stop_file
    n = 0
    while True:
        n += 1
        if n % 256 == 0 and (time.monotonic() > end or (stop and os.path.exists(stop))):
            break
        try:
            s.sendto(payload, dst)
            sent += 1
        except OSError:
            errs += 1
    print(f"flood {args.dst}:{args.port} sent={sent} errors={errs}")
    return 0


def cmd_hold(args):
    """An open flow: established first (ready file), then after the go file keep sending for a while."""
    kind = socket.SOCK_STREAM if args.proto == "tcp" else socket.SOCK_DGRAM
    s = make_socket(args, kind)
    s.settimeout(3)
    try:
        s.connect(sockaddr(args.dst, args.port))
        s.send(b"hello\n")
        if not s.recv(100):  # the echo (or the push): the flow works in both directions
            raise OSError("closed by the peer")
    except OSError as e:
        print(f"hold {args.proto} {args.dst}:{args.port} could not open: {e}")
        return 2
    with open(args.ready, "w") as f:
        f.write("ready\n")
    s.setblocking(False)
    # Drain whatever the peer sends (so the kernel ACKs it) until go, then send too.
    while not os.path.exists(args.go):
        try:
            s.recv(65536)
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            break
        time.sleep(0.02)
    sent = errs = 0
    end = time.monotonic() + args.seconds
    while time.monotonic() < end:
        try:
            if args.send:
                s.send(b"after the kill switch came up\n")
                sent += 1
            s.recv(65536)
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            errs += 1
        time.sleep(0.05)
    print(f"hold {args.proto} {args.dst}:{args.port} sent={sent} errors={errs}")
    return 0


def cmd_invalid(args):
    """Segments without a connection: conntrack gives them none (state invalid), so no ct mark and
    no NAT. IPv4, from a raw socket; the kernel writes the IP header, with the source address the
    route chooses. The checksum stays 0: nothing on the way verifies it for a local sender."""
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    flags = 0x03  # FIN and SYN
    seg = struct.pack("!HHIIBBHHH", args.sport or 40000, args.port, 1, 0, 5 << 4, flags, 1024, 0, 0)
    sent = errs = 0
    for _ in range(args.count):
        try:
            s.sendto(seg, (args.dst, 0))
            sent += 1
        except OSError:
            errs += 1
    print(f"invalid tcp {args.dst}:{args.port} sent={sent} errors={errs}")
    return 0 if sent else 1


# ---- services ------------------------------------------------------------------------------

def dns_response(query):
    if len(query) < 12:
        return None
    qid, flags, qd, _, _, _ = struct.unpack("!HHHHHH", query[:12])
    if flags & 0x8000 or qd != 1:
        return None
    off = 12
    while off < len(query) and query[off]:
        off += query[off] + 1
    qend = off + 5
    if qend > len(query):
        return None
    qtype = struct.unpack("!H", query[off + 1:off + 3])[0]
    question = query[12:qend]
    answers = b""
    if qtype == 1:
        answers = struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + socket.inet_pton(socket.AF_INET, DNS_ANSWER4)
    elif qtype == 28:
        answers = struct.pack("!HHHIH", 0xC00C, 28, 1, 60, 16) + socket.inet_pton(socket.AF_INET6, DNS_ANSWER6)
    n = 1 if answers else 0
    return struct.pack("!HHHHHH", qid, 0x8180, 1, n, 0, 0) + question + answers


def stun_response(req, peer):
    if len(req) < 20:
        return None
    mtype, _, cookie, tid = struct.unpack("!HHI12s", req[:20])
    if mtype != 0x0001 or cookie != STUN_COOKIE:
        return None
    host, port = peer[0], peer[1]
    if host.startswith("::ffff:"):
        host = host[7:]
    fam = family_of(host)
    raw = socket.inet_pton(fam, host)
    xport = port ^ (STUN_COOKIE >> 16)
    if fam == socket.AF_INET:
        xaddr = bytes(a ^ b for a, b in zip(raw, struct.pack("!I", STUN_COOKIE)))
        attr = struct.pack("!BBH", 0, 1, xport) + xaddr
    else:
        key = struct.pack("!I", STUN_COOKIE) + tid
        xaddr = bytes(a ^ b for a, b in zip(raw, key))
        attr = struct.pack("!BBH", 0, 2, xport) + xaddr
    body = struct.pack("!HH", 0x0020, len(attr)) + attr
    return struct.pack("!HHI12s", 0x0101, len(body), STUN_COOKIE, tid) + body


def tcp_listener(port):
    """One dual-stack listener (TCP replies always leave from the address the peer used)."""
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    s.listen(64)
    return s


IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)


def udp_sockets(port):
    """One socket per family, each told the address a datagram was sent to: replies leave from
    that address (a wildcard socket would answer from whatever the route prefers)."""
    s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s4.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s4.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
    s4.bind(("0.0.0.0", port))
    s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s6.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
    s6.bind(("::", port))
    return [s4, s6]


def udp_reply(s, anc, peer, resp):
    cmsg = []
    for level, ctype, cdata in anc:
        if level == socket.IPPROTO_IP and ctype == IP_PKTINFO:
            _, _, dst = struct.unpack("i4s4s", cdata[:12])
            if dst[0] >= 224:
                dst = b"\0" * 4  # multicast or broadcast: let the kernel choose
            cmsg = [(socket.IPPROTO_IP, IP_PKTINFO, struct.pack("i4s4s", 0, dst, b"\0" * 4))]
        elif level == socket.IPPROTO_IPV6 and ctype == socket.IPV6_PKTINFO:
            dst, ifindex = struct.unpack("16si", cdata[:20])
            if dst[0] == 0xFF:
                dst = b"\0" * 16  # multicast: let the kernel choose
            if not (dst[0] == 0xFE and dst[1] & 0xC0 == 0x80):
                ifindex = 0  # only link-local replies need the interface pinned
            cmsg = [(socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, struct.pack("16si", dst, ifindex))]
    try:
        s.sendmsg([resp], cmsg, 0, peer)
    except OSError:
        pass


def tcp_client(conn, port, dns_ports, push_ports):
    conn.settimeout(10)
    try:
        if port in push_ports:
            while True:
                conn.send(b"push\n")
                time.sleep(0.05)
        if port in dns_ports:
            buf = b""
            while True:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                buf += chunk
                while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
                    n = struct.unpack("!H", buf[:2])[0]
                    resp = dns_response(buf[2:2 + n])
                    buf = buf[2 + n:]
                    if resp:
                        conn.sendall(struct.pack("!H", len(resp)) + resp)
        while True:
            chunk = conn.recv(4096)
            if not chunk:
                return
            conn.sendall(chunk)
    except OSError:
        pass
    finally:
        conn.close()


def cmd_serve(args):
    def ports(text):
        return [int(p) for p in text.split(",") if p]

    dns_ports, push_ports = set(ports(args.dns)), set(ports(args.push))
    stun_ports = set(ports(args.stun))
    tcp = {tcp_listener(p): p for p in set(ports(args.tcp)) | dns_ports | push_ports}
    udp = {}
    for p in set(ports(args.udp)) | dns_ports | stun_ports:
        for s in udp_sockets(p):
            udp[s] = p
    if args.ready:
        with open(args.ready, "w") as f:
            f.write("ready\n")
    while True:
        r, _, _ = select.select(list(tcp) + list(udp), [], [])
        for s in r:
            if s in tcp:
                try:
                    conn, _ = s.accept()
                except OSError:
                    continue
                threading.Thread(target=tcp_client, args=(conn, tcp[s], dns_ports, push_ports), daemon=True).start()
                continue
            try:
                data, anc, _, peer = s.recvmsg(4096, 256)
            except OSError:
                continue
            port = udp[s]
            if port in dns_ports:
                resp = dns_response(data)
            elif port in stun_ports:
                resp = stun_response(data, peer)
            else:
                resp = data
            if resp:
                udp_reply(s, anc, peer, resp)


def main():
    ap = argparse.ArgumentParser(prog="labnet")
    sub = ap.add_subparsers(dest="cmd", required=True)

    def common(p):
        p.add_argument("--bind-dev")
        p.add_argument("--bind-addr")
        p.add_argument("--sport", type=int, default=0)
        p.add_argument("--wait", type=float, default=1.0)
        p.add_argument("--broadcast", action="store_true", help="allow sending to a broadcast address")

    p = sub.add_parser("send")
    p.add_argument("proto", choices=["udp", "tcp"])
    p.add_argument("dst")
    p.add_argument("port", type=int)
    common(p)
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--payload", default="killswitch-lab-probe\n")
    p.add_argument("--stun", action="store_true")
    p.set_defaults(fn=cmd_send)

    p = sub.add_parser("dns")
    p.add_argument("server")
    p.add_argument("--port", type=int, default=53)
    p.add_argument("--tcp", action="store_true")
    p.add_argument("--aaaa", action="store_true")
    p.add_argument("--name", default="host.lab.test")
    common(p)
    p.set_defaults(fn=cmd_dns)

    p = sub.add_parser("mcast")
    p.add_argument("dst")
    p.add_argument("port", type=int)
    p.add_argument("--iface", required=True)
    p.add_argument("--ttl", type=int, default=1)
    p.add_argument("--count", type=int, default=2)
    p.add_argument("--payload", default="M-SEARCH * HTTP/1.1\r\n\r\n")
    p.set_defaults(fn=cmd_mcast)

    p = sub.add_parser("flood")
    p.add_argument("dst")
    p.add_argument("port", type=int)
    common(p)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--stop-file")
    p.add_argument("--payload", default="flood")
    p.set_defaults(fn=cmd_flood)

    p = sub.add_parser("hold")
    p.add_argument("proto", choices=["udp", "tcp"])
    p.add_argument("dst")
    p.add_argument("port", type=int)
    common(p)
    p.add_argument("--ready", required=True)
    p.add_argument("--go", required=True)
    p.add_argument("--seconds", type=float, default=1.0)
    p.add_argument("--send", action="store_true")
    p.set_defaults(fn=cmd_hold)

    p = sub.add_parser("invalid")
    p.add_argument("dst")
    p.add_argument("port", type=int)
    p.add_argument("--sport", type=int, default=0)
    p.add_argument("--count", type=int, default=2)
    p.set_defaults(fn=cmd_invalid)

    p = sub.add_parser("serve")
    p.add_argument("--tcp", default="")
    p.add_argument("--udp", default="")
    p.add_argument("--dns", default="")
    p.add_argument("--stun", default="")
    p.add_argument("--push", default="")
    p.add_argument("--ready")
    p.set_defaults(fn=cmd_serve)

    args = ap.parse_args()
    sys.exit(args.fn(args))


if __name__ == "__main__":
    main()
