"""The `local` backend: every service a real process on loopback, every link through the proxy."""

import json
import logging
import signal
import subprocess
import sys
from pathlib import Path

import requests

from system_under_test import config
from system_under_test.defects import DEFECTS_ENV
from system_under_test.deploy import postgres, readiness
from system_under_test.deploy.address_plan import AddressPlan
from system_under_test.deploy.errors import DeployError
from system_under_test.deploy.ports import LOOPBACK, PortCollision
from system_under_test.deploy.processes import ServiceProcess
from system_under_test.deploy.readiness import ReadyCheck, http_ok, log_count_check
from system_under_test.deploy.spec import LINKS, LISTENERS, PROXY_API_LISTENER, link_listener
from system_under_test.deploy.topology import Endpoints, Merchant, Topology, register_backend
from system_under_test.worker import READY_LINE as WORKER_READY_LINE

log = logging.getLogger("paychaos.deploy")

# Start-up bounds, generous for a loaded 2-core machine.
SERVICE_READY_TIMEOUT_S = 60.0
# Address plans tried before a start gives up on port collisions. A collision needs another
# process to take one of the few ports released in the instant before their service binds
# them; two in a row are already unlikely, three mean the machine is out of ports.
START_ATTEMPTS_MAX = 3
MIGRATE_TIMEOUT_S = 60
# "async": commits return once durable on the primary; "sync": once applied on the replica too.
REPLICATION_MODES = ("async", "sync")
DATA_DIRECTORIES = {"pg-primary": "primary", "pg-replica": "replica"}


class LocalTopology(Topology):
    """PostgreSQL primary + replica, card network, API, worker and fault proxy on 127.0.0.1."""

    def __init__(
        self,
        run_dir: Path,
        *,
        defects: tuple[str, ...] = (),
        proxy_api_port: int = 0,
        merchant_count: int = 2,
        service_environment: dict[str, str] | None = None,
        seed: int | None = None,
        replication: str = "async",
    ) -> None:
        self.run_dir = run_dir
        # The fault proxy's seed (toxicity rolls, jitter): a campaign passes its scenario's.
        self.seed = seed
        self.defects = defects
        self.proxy_api_port = proxy_api_port
        self.merchant_count = merchant_count
        self.service_environment = service_environment or {}
        self._processes: dict[str, ServiceProcess] = {}
        self._ready_checks: dict[str, ReadyCheck] = {}
        # The listeners readiness waits for: the spec's; the proxy's links once they are made.
        self._listeners: dict[str, tuple[str, ...]] = {}
        self._endpoints: Endpoints | None = None
        self._pg_root: Path | None = None
        assert replication in REPLICATION_MODES, f"replication {replication!r}"
        self.replication = replication
        self._plan: AddressPlan | None = None
        self._bindir: Path | None = None
        # Which PostgreSQL service plays which part; a failover swaps them.
        self._roles: dict[str, str | None] = {"primary": "pg-primary", "replica": "pg-replica"}

    # -- interface ---------------------------------------------------------------------------

    def start(self) -> Endpoints:
        try:
            return self._start()
        except BaseException:
            self.teardown()
            raise

    def endpoints(self) -> Endpoints:
        assert self._endpoints is not None, "topology not started"
        return self._endpoints

    def kill(self, service: str) -> int | None:
        status = self._process(service).kill()
        # Its ports are kept from other processes until it restarts. One taken in the instant
        # after it died is not fatal here: the restart's readiness finds whose it is.
        assert self._plan is not None
        lost = self._plan.hold(*self._listeners[service])
        if lost:
            log.warning("%s killed; could not hold the ports of %s", service, ", ".join(lost))
        return status

    def pause(self, service: str) -> None:
        self._process(service).signal(signal.SIGSTOP)

    def resume(self, service: str) -> None:
        self._process(service).signal(signal.SIGCONT)

    def restart(self, service: str) -> None:
        process = self._process(service)
        if process.running():
            process.stop()
        self._launch(service)

    def running(self, service: str) -> bool:
        return self._process(service).running()

    def stopped(self, service: str) -> bool:
        return self._process(service).stopped()

    def pid(self, service: str) -> int | None:
        return self._process(service).pid

    def primary_dsn(self) -> str:
        return self._dsn_of(self._roles["primary"])

    def replica_dsn(self) -> str | None:
        replica = self._roles["replica"]
        return self._dsn_of(replica) if replica is not None else None

    def promote_replica(self) -> dict[str, str]:
        """Promote the replica, then stop the old primary so that it cannot take a write."""
        old, new = self._roles["primary"], self._roles["replica"]
        assert old is not None and self._pg_root is not None and self._bindir is not None
        if new is None:
            raise DeployError("no replica to promote: it was promoted already")
        postgres.promote(self._bindir, self._data_dir(new), self._log(f"{new}-promote"))
        self._process(old).stop()
        self._roles = {"primary": new, "replica": None}
        assert self._plan is not None
        return {
            "new_primary": new,
            "new_primary_address": self._plan.address(new),
            "old_primary": old,
            "old_primary_dsn": self._dsn_of(old),
        }

    def _dsn_of(self, service: str | None) -> str:
        assert service is not None and self._plan is not None, "topology not started"
        return postgres.dsn(self._plan.ports[service])

    def _data_dir(self, service: str) -> Path:
        assert self._pg_root is not None
        return self._pg_root / DATA_DIRECTORIES[service]

    def collect_logs(self) -> list[Path]:
        return sorted((self.run_dir / "logs").glob("*.log"))

    def teardown(self) -> None:
        for name in reversed(list(self._processes)):
            try:
                self._processes[name].stop()
            except DeployError as error:
                log.error("teardown of %s: %s", name, error)
        if self._pg_root is not None:
            postgres.remove_data(self.run_dir)
            self._pg_root = None
        if self._plan is not None:
            self._plan.release_all()

    # -- start-up ----------------------------------------------------------------------------

    def _process(self, service: str) -> ServiceProcess:
        try:
            return self._processes[service]
        except KeyError:
            raise DeployError(f"no service {service!r} in this topology") from None

    def _log(self, name: str) -> Path:
        return self.run_dir / "logs" / f"{name}.log"

    def _launch(self, name: str) -> None:
        process = self._processes[name]
        assert self._plan is not None
        self._plan.release(*self._listeners[name])
        process.start()
        self._wait_ready(name)

    def _wait_ready(self, name: str) -> None:
        assert self._plan is not None
        listeners = {listener: self._plan.ports[listener] for listener in self._listeners[name]}
        readiness.wait_ready(
            self._processes[name],
            listeners,
            self._ready_checks[name],
            timeout_s=SERVICE_READY_TIMEOUT_S,
        )

    def _add(
        self, process: ServiceProcess, ready: ReadyCheck, *, listeners: tuple[str, ...] = ()
    ) -> None:
        """Start `process`; ready once its `listeners` (default: the spec's) are its own and
        `ready` holds."""
        self._processes[process.name] = process
        self._ready_checks[process.name] = ready
        self._listeners[process.name] = listeners or LISTENERS[process.name]
        self._launch(process.name)

    def _start(self) -> Endpoints:
        """Start on a fresh address plan until no port collides, at most START_ATTEMPTS_MAX
        times; a collision on the proxy API port the caller chose is final."""
        bindir = postgres.find_bindir()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._bindir = bindir
        for attempt in range(1, START_ATTEMPTS_MAX + 1):
            self._plan = AddressPlan.allocate(self.proxy_api_port)
            try:
                return self._start_on(bindir, self._plan)
            except PortCollision as collision:
                chosen = self.proxy_api_port and collision.port == self.proxy_api_port
                if chosen or attempt == START_ATTEMPTS_MAX:
                    raise
                log.warning("%s; starting again on a fresh address plan", collision)
                self._discard_attempt()
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _discard_attempt(self) -> None:
        """Stop what an attempt started and forget its state, so the next starts afresh."""
        self.teardown()
        self._processes.clear()
        self._ready_checks.clear()
        self._listeners.clear()
        for path in self.run_dir.glob("network.sqlite*"):
            path.unlink()

    def _start_on(self, bindir: Path, plan: AddressPlan) -> Endpoints:
        self._start_proxy(plan)
        merchants = self._start_databases(bindir, plan)
        self._start_network(plan)
        self._start_api_and_worker(plan)
        self._endpoints = Endpoints(
            backend="local",
            run_dir=str(self.run_dir),
            proxy_api=plan.proxy_api,
            services={
                "proxy": plan.proxy_api,
                **{name: plan.address(name) for name in ("pg-primary", "pg-replica", "network")},
                "api": plan.address("api"),
            },
            links=plan.links,
            api_url=f"http://{plan.links['api']['listen']}",
            admin_urls={
                "api": f"http://{plan.address('api-admin')}",
                "worker": f"http://{plan.address('worker-admin')}",
            },
            primary_dsn=postgres.dsn(plan.ports["pg-primary"]),
            network_url=f"http://{plan.address('network')}",
            merchants=merchants,
            defects=list(self.defects),
        )
        return self._endpoints

    def _python_service(
        self, name: str, module: str, *arguments: str, environment: dict[str, str] | None = None
    ) -> ServiceProcess:
        """A service run as ``python -m module arguments``, logging to ``logs/name.log``."""
        return ServiceProcess(
            name=name,
            command=[sys.executable, "-m", module, *arguments],
            log_path=self._log(name),
            environment=environment or {},
        )

    def _start_proxy(self, plan: AddressPlan) -> None:
        seed = ["--seed", str(self.seed)] if self.seed is not None else []
        address = ["--host", LOOPBACK, "--port", plan.proxy_api.rpartition(":")[2]]
        proxy = self._python_service("proxy", "faults.proxy", *address, *seed)
        # The links' listeners are bound when the links are created, once the API answers.
        self._add(
            proxy,
            lambda: http_ok(f"http://{plan.proxy_api}/version"),
            listeners=(PROXY_API_LISTENER,),
        )
        self._create_links(proxy, plan)
        self._listeners["proxy"] = LISTENERS["proxy"]
        self._wait_ready("proxy")

    def _start_databases(self, bindir: Path, plan: AddressPlan) -> list[Merchant]:
        """The primary (migrated, merchants seeded), then its replica through `replication`."""
        self._pg_root = postgres.data_root(self.run_dir)
        primary_port, replica_port = plan.ports["pg-primary"], plan.ports["pg-replica"]
        primary_data = self._data_dir("pg-primary")
        postgres.init_primary(bindir, primary_data, primary_port, self._log("pg-primary-init"))
        self._add(
            postgres.server_process("pg-primary", bindir, primary_data, self._log("pg-primary")),
            lambda: postgres.is_ready(bindir, primary_port),
        )
        postgres.create_database(bindir, primary_port, self._log("pg-primary-init"))
        merchants = self._migrate(postgres.dsn(primary_port, driver="postgresql+asyncpg"))
        replica_data = self._data_dir("pg-replica")
        replication_port = int(plan.links["replication"]["listen"].rpartition(":")[2])
        postgres.init_replica(
            bindir, replica_data, replica_port, replication_port, self._log("pg-replica-init")
        )
        self._add(
            postgres.server_process("pg-replica", bindir, replica_data, self._log("pg-replica")),
            lambda: postgres.is_ready(bindir, replica_port),
        )
        if self.replication == "sync":
            # Set on the primary only, after the copy: a promoted replica must not wait for a
            # standby of its own.
            postgres.run_sql(
                bindir, primary_port, postgres.SYNCHRONOUS_SETTINGS, self._log("pg-primary-init")
            )
        return merchants

    def _start_network(self, plan: AddressPlan) -> None:
        address = plan.address("network")
        database = str(self.run_dir / "network.sqlite")
        self._add(
            self._python_service(
                "network",
                "system_under_test.externals.network",
                *("--listen", address, "--database", database),
            ),
            lambda: http_ok(f"http://{address}/health"),
        )

    def _start_api_and_worker(self, plan: AddressPlan) -> None:
        """The API and the worker reach every dependency through its link in the proxy."""
        environment = {
            config.PRIMARY_DSN_ENV: plan.link_dsn("pg_primary"),
            config.REPLICA_DSN_ENV: plan.link_dsn("pg_replica"),
            config.NETWORK_URL_ENV: f"http://{plan.links['network']['listen']}",
            config.TEST_MODE_ENV: "1",
            DEFECTS_ENV: ",".join(self.defects),
            **self.service_environment,
        }
        api_address = plan.address("api")
        self._add(
            self._python_service(
                "api",
                "system_under_test.api",
                *("--listen", api_address, "--admin-listen", plan.address("api-admin")),
                environment=environment,
            ),
            lambda: http_ok(f"http://{api_address}/health"),
        )
        self._add(
            self._python_service(
                "worker",
                "system_under_test.worker",
                *("--admin-listen", plan.address("worker-admin")),
                environment=environment,
            ),
            log_count_check(self._log("worker"), WORKER_READY_LINE),
        )

    def _create_links(self, proxy: ServiceProcess, plan: AddressPlan) -> None:
        """Create every link in the proxy; a listen port another process took is a collision."""
        body = [
            {"name": name, "listen": link["listen"], "upstream": link["upstream"], "enabled": True}
            for name, link in plan.links.items()
        ]
        links = {link_listener(link): plan.ports[link_listener(link)] for link in LINKS}
        plan.release(*links)
        try:
            response = requests.post(f"http://{plan.proxy_api}/populate", json=body, timeout=10)
        except requests.RequestException as error:
            raise DeployError(
                f"fault proxy at {plan.proxy_api} did not answer /populate: {error}"
            ) from None
        if response.status_code != 201:
            collision = readiness.taken_by_another(proxy, links)
            if collision is not None:
                raise collision
            raise DeployError(
                f"fault proxy refused the links: {response.status_code} {response.text.strip()}"
            )

    def _migrate(self, dsn: str) -> list[Merchant]:
        # Beside the data, removed with it: the run files the harness writes hold the keys.
        assert self._pg_root is not None
        out = self._pg_root / "seeded-merchants.json"
        process = self._python_service(
            "migrate",
            "system_under_test.migrate",
            *("--dsn", dsn, "--merchants", str(self.merchant_count), "--out", str(out)),
        )
        process.start()
        assert process.process is not None
        try:
            status = process.process.wait(timeout=MIGRATE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            raise DeployError(f"migration did not finish in {MIGRATE_TIMEOUT_S} s") from None
        if status != 0:
            raise DeployError(f"migration failed: {process.log_tail()}")
        return [Merchant(**merchant) for merchant in json.loads(out.read_text())]


register_backend("local", LocalTopology)
