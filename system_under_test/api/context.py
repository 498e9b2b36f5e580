"""Typed keys for what the API application and its requests carry."""

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from system_under_test.config import ServiceConfig
from system_under_test.network_client import CardNetworkClient

CONFIG = web.AppKey("config", ServiceConfig)
PRIMARY = web.AppKey("primary", AsyncEngine)
REPLICA = web.AppKey("replica", AsyncEngine | None)
NETWORK = web.AppKey("network", CardNetworkClient)
# Hash of an API key -> merchant id; keys are immutable, so the cache never goes stale.
MERCHANT_CACHE = web.AppKey("merchant_cache", dict[str, str])
MERCHANT_ID = "merchant_id"
