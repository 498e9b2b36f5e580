"""Typed keys for what the API application and its requests carry."""

from aiohttp import web

from system_under_test.config import ServiceConfig
from system_under_test.payments.execution import Services

CONFIG = web.AppKey("config", ServiceConfig)
SERVICES = web.AppKey("services", Services)
# Hash of an API key -> merchant id; keys are immutable, so the cache never goes stale.
MERCHANT_CACHE = web.AppKey("merchant_cache", dict[str, str])
MERCHANT_ID = "merchant_id"
