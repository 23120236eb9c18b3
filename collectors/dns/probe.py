"""One DNS question to one server over one transport, with a named outcome."""

from __future__ import annotations

import time
from dataclasses import dataclass

import dns.asyncquery
import dns.exception
import dns.message
import dns.rcode
import dns.rdatatype

# rcode → error kind; anything else not NOERROR/NXDOMAIN is "rcode_<name>".
RCODE_KINDS = {dns.rcode.SERVFAIL: "servfail", dns.rcode.REFUSED: "refused", dns.rcode.NOTAUTH: "notauth"}


@dataclass(frozen=True, slots=True)
class ProbeOutcome:
    """What one probe found: answer code, answer count, SOA serial, latency or a named error."""

    family: str
    transport: str
    qname: str
    qtype: str
    latency_ms: float
    rcode: str | None = None
    answers: int = 0
    serial: int | None = None
    error_kind: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """The server gave an authoritative-looking answer (NOERROR or NXDOMAIN)."""
        return self.error_kind is None


async def probe(server: str, port: int, family: str, transport: str, qname: str, qtype: str,
                timeout_s: float) -> ProbeOutcome:
    """Ask ``qname``/``qtype`` of ``server``; never raises for a server problem."""
    query = dns.message.make_query(qname, qtype)
    start = time.perf_counter()

    def outcome(**kw: object) -> ProbeOutcome:
        return ProbeOutcome(family, transport, qname, qtype, round((time.perf_counter() - start) * 1000, 3),
                            **kw)  # type: ignore[arg-type]

    try:
        if transport == "tcp":
            reply = await dns.asyncquery.tcp(query, server, port=port, timeout=timeout_s)
        else:
            reply = await dns.asyncquery.udp(query, server, port=port, timeout=timeout_s)
    except dns.exception.Timeout:
        return outcome(error_kind="timeout", error=f"no answer within {timeout_s}s")
    except ConnectionRefusedError:
        return outcome(error_kind="unreachable", error="connection refused (nothing listening)")
    except (dns.exception.FormError, dns.message.BadEDNS, dns.message.TrailingJunk) as exc:
        return outcome(error_kind="malformed", error=f"malformed answer: {exc}")
    except EOFError:  # a TCP server that closes the connection before (all of) its answer
        return outcome(error_kind="no_reply", error="connection closed before the answer")
    except OSError as exc:
        return outcome(error_kind="unreachable", error=exc.strerror or str(exc))
    except dns.exception.DNSException as exc:  # any other answer dnspython cannot take
        return outcome(error_kind="protocol", error=f"{type(exc).__name__}: {exc}")
    rcode = reply.rcode()
    name = dns.rcode.to_text(rcode)
    if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        kind = RCODE_KINDS.get(rcode, f"rcode_{name.lower()}")
        return outcome(rcode=name, error_kind=kind, error=f"answered {name}")
    rdtype = dns.rdatatype.from_text(qtype)
    answers = sum(len(rrset) for rrset in reply.answer if rrset.rdtype == rdtype)
    serial = None
    if rdtype == dns.rdatatype.SOA:
        for rrset in reply.answer:
            if rrset.rdtype == dns.rdatatype.SOA:
                serial = int(rrset[0].serial)
    return outcome(rcode=name, answers=answers, serial=serial)
