"""How long a proxy's or a toxic's name may be: every name the API accepts can be addressed.

A name travels in the request line of every later call (`/proxies/{p}/toxics/{t}/stats` the
longest), and aiohttp refuses a request line over 8190 bytes with a bare 400: a proxy created
with a longer name could never be read, changed or deleted again.
"""

from __future__ import annotations

from faults.proxy import errors

# 255 bytes of UTF-8, each percent-encoded as 3 characters in the worst case, twice in the
# longest path: "GET /proxies/" + 765 + "/toxics/" + 765 + "/stats HTTP/1.1" is 1,566 bytes,
# well within aiohttp's 8,190 and the 4,096 or 8,192 of common HTTP clients and proxies.
# 255 is also the usual bound of a name (file names, Stripe's idempotency keys).
NAME_BYTES_MAX = 255


def bounded_name(name: str, field: str, where: str = "") -> str:
    """Return `name`, or raise a 400 ApiError naming `field` (and `where`, the body's item it is
    in) if it is longer than NAME_BYTES_MAX.

    >>> bounded_name("api", "name")
    'api'
    >>> bounded_name("n" * 256, "name")
    Traceback (most recent call last):
    ...
    faults.proxy.errors.ApiError: bad request body: field 'name' is longer than 255 bytes
    """
    if len(name.encode("utf-8", "surrogatepass")) > NAME_BYTES_MAX:
        raise errors.bad_request_body(
            f"field {field!r}{where} is longer than {NAME_BYTES_MAX} bytes"
        )
    return name
