"""What every request's parameters must be before an endpoint reads them (no I/O): texts that
can be stored, object ids, only declared names, a well-formed Idempotency-Key; and
`InvalidParameter`, the refusal of a request before anything is written.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

from system_under_test.payments.errors import StripeError
from system_under_test.payments.wire import Answer

IDEMPOTENCY_KEY_LENGTH_MAX = 255  # Stripe's documented limit.
# Object ids are short ASCII (`ch_` and 24 hex digits); anything longer names no object.
ID_LENGTH_MAX = 255


@dataclass(frozen=True)
class InvalidParameter:
    """Why a request is refused before anything is written: the error, the parameter it
    names, and the fields of its message."""

    error: StripeError
    param: str | None
    fields: Mapping[str, object] = field(default_factory=dict)

    @property
    def code(self) -> str | None:
        """The error's Stripe code."""
        return self.error.code

    def answer(self) -> Answer:
        """The answer that refuses the request."""
        return self.error.answer(param=self.param, **self.fields)


def text_problem(text: str) -> str | None:
    """Why a parameter, header or path text cannot be stored, or None.

    PostgreSQL's text refuses NUL, and undecodable bytes arrive as lone surrogates that no
    encoder takes; both are the client's error, never the server's.

    >>> text_problem("ch_1" + chr(0))
    'contains a NUL character'
    """
    if "\x00" in text:
        return "contains a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid UTF-8"
    return None


def form_problem(form: Mapping[str, str]) -> InvalidParameter | None:
    """The first parameter name or value that cannot be taken at all."""
    for name, value in form.items():
        name_problem = text_problem(name)
        problem = name_problem or text_problem(value)
        if problem is not None:
            shown = name if name_problem is None else repr(name)
            return InvalidParameter(StripeError.PARAMETER_UNSTORABLE, shown, {"problem": problem})
    return None


def object_id_problem(object_id: str) -> str | None:
    """Why a text cannot be an object id (so no object has it), or None."""
    if not object_id.isascii() or not object_id.isprintable() or len(object_id) > ID_LENGTH_MAX:
        return "is not an object id"
    return None


def base_name(name: str) -> str:
    """The parameter a form name belongs to: `metadata[order]` and `expand[]` belong to their
    base parameter."""
    return name.partition("[")[0]


def undeclared_problem(
    form: Mapping[str, str], declared: frozenset[str], unsupported: frozenset[str]
) -> InvalidParameter | None:
    """The first parameter the endpoint does not declare: `unsupported` ones (Stripe has them,
    this system does not implement them) are refused as such, any other as unknown."""
    for name in sorted(form):
        base = base_name(name)
        # `metadata[...]` is declared by its base name; every other name exactly.
        if name in declared or (base == "metadata" and base in declared):
            continue
        if base in unsupported:
            return InvalidParameter(StripeError.PARAMETER_UNSUPPORTED, name)
        return InvalidParameter(StripeError.PARAMETER_UNKNOWN, name)
    return None


def canonical_params(form: Mapping[str, str]) -> dict[str, str]:
    """The request parameters as compared between an idempotent request and its retry."""
    return {name: form[name] for name in sorted(form)}


def idempotency_key_problem(key: str) -> InvalidParameter | None:
    """Why an Idempotency-Key header is refused, or None."""
    if not 1 <= len(key) <= IDEMPOTENCY_KEY_LENGTH_MAX:
        problem = f"must be 1 to {IDEMPOTENCY_KEY_LENGTH_MAX} characters"
    else:
        problem = text_problem(key)
    if problem is None:
        return None
    return InvalidParameter(StripeError.IDEMPOTENCY_KEY_INVALID, None, {"problem": problem})
