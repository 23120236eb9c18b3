"""Turn inventory credentials into pysnmp auth objects (secrets stay in SecretStr until here)."""

from __future__ import annotations

from pysnmp.hlapi.v3arch.asyncio import CommunityData, UsmUserData
from pysnmp.hlapi.v3arch.asyncio import auth as a

from inventory.credentials import Login, SnmpCommunity, SnmpV3User

AUTH = {
    "none": a.USM_AUTH_NONE, "md5": a.USM_AUTH_HMAC96_MD5, "sha": a.USM_AUTH_HMAC96_SHA,
    "sha224": a.USM_AUTH_HMAC128_SHA224, "sha256": a.USM_AUTH_HMAC192_SHA256,
    "sha384": a.USM_AUTH_HMAC256_SHA384, "sha512": a.USM_AUTH_HMAC384_SHA512,
}
PRIV = {
    "none": a.USM_PRIV_NONE, "des": a.USM_PRIV_CBC56_DES, "aes128": a.USM_PRIV_CFB128_AES,
    "aes192": a.USM_PRIV_CFB192_AES, "aes256": a.USM_PRIV_CFB256_AES,
}


def _secret(value: object) -> str | None:
    return None if value is None else value.get_secret_value()  # type: ignore[attr-defined]


def snmp_auth(name: str, cred: object) -> CommunityData | UsmUserData:
    """pysnmp auth data for a credential; ``name`` keeps pysnmp's LCD entries distinct."""
    if isinstance(cred, SnmpCommunity):
        community = _secret(cred.community)
        if community is None:
            raise ValueError(f"credential {name!r} has no community")
        return CommunityData(name, community, mpModel=0 if cred.kind == "snmp_v1" else 1)
    if isinstance(cred, SnmpV3User):
        return UsmUserData(
            cred.user,
            authKey=_secret(cred.auth_key),
            privKey=_secret(cred.priv_key),
            authProtocol=AUTH[cred.auth_protocol],
            privProtocol=PRIV[cred.priv_protocol],
        )
    if isinstance(cred, Login):
        raise ValueError(f"credential {name!r} is a login, not an SNMP credential")
    raise ValueError(f"credential {name!r} has an unknown type")
