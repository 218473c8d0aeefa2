"""Hostile input 3, secrets: credentials given in ``storage_options``, in the store URL
(``scheme://user:password@...``, the password holding "/", "+" and "=" as AWS secrets do,
plain and percent-encoded) or in Azure's connection strings, SAS tokens and environment
variables never appear in error messages, in log records, in reprs, in the
pytest header and report, or in the ``%asset`` configuration display, even when the server
echoes the request back in its error."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from servers import azure_retries, serve_http

from pytest_assets import Assets, AssetsError

pytestmark = pytest.mark.reliability
pytest_plugins = ["pytester"]

KEY = "AKIAFAKEKEY0ID7SECRET"
SECRET = "wJalrX/UtnFEMI+K7MDENG=bPxRfiCYSECRET"
PASSWORD = "pa55/w0rd+SECRET=x"
USER = "alice-SECRET-user"
AZ_KEY = "c2VjcmV0LWF6dXJlLWtlefv/LVNFQ1JFVC10ZXN0//4="  # base64, as Azure's account keys are
AZ_SIG = "Sa5/SiGnAtUrE+SECRET="
AZ_SAS = f"sv=2021-08-06&ss=b&srt=sco&sp=rwdl&se=2030-01-01&sig={AZ_SIG}"
# any of these in any output is a leak (the pieces too: backends split URLs at "/")
LEAKS = [KEY, SECRET, *SECRET.split("/"), PASSWORD, *PASSWORD.split("/"), USER, quote(SECRET)]
LEAKS += [AZ_KEY, *AZ_KEY.split("/")[:2], "SiGnAtUrE"]  # in any encoding


def _azure(endpoint: str, secret: str) -> str:
    return f"DefaultEndpointsProtocol=http;AccountName=acct;{secret};BlobEndpoint={endpoint}/acct"


def assert_no_secret(text: str, where: str) -> None:
    found = [secret for secret in LEAKS if secret in text]
    assert not found, f"{where} shows {found}: {text[:500]}"


class _Echo(BaseHTTPRequestHandler):
    """An S3/GCS look-alike that refuses everything, echoing the request back (as some
    servers do in their error bodies): the Authorization header holds the access key id."""

    def _refuse(self) -> None:
        echoed = f"{self.command} {self.path} {dict(self.headers)}"
        echoed = echoed.replace("<", "").replace(">", "")
        body = (
            "<?xml version='1.0' encoding='UTF-8'?><Error><Code>AccessDenied</Code>"
            f"<Message>Access Denied: {echoed}</Message></Error>"
        ).encode()
        self.send_response(403)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _refuse

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def echo() -> Iterator[str]:
    with serve_http(_Echo) as url:
        yield url


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _cases(echo: str, tmp_path: Path) -> dict[str, tuple[str, dict[str, Any]]]:
    s3_options = {"key": KEY, "secret": SECRET, "client_kwargs": {"endpoint_url": echo}}
    dead = f"http://127.0.0.1:{_closed_port()}"
    return {
        "s3 options, server refuses and echoes": ("s3://bucket/store", s3_options),
        "s3 options, server unreachable": (
            "s3://bucket/store",
            {
                "key": KEY,
                "secret": SECRET,
                "client_kwargs": {"endpoint_url": dead},
                "config_kwargs": {"retries": {"max_attempts": 1}},  # fail fast: same messages
            },
        ),
        "s3 URL user:password": (
            f"s3://{KEY}:{SECRET}@bucket/store",
            {"client_kwargs": {"endpoint_url": echo}},
        ),
        "s3 URL percent-encoded": (
            f"s3://{KEY}:{quote(SECRET, safe='')}@bucket/store",
            {"client_kwargs": {"endpoint_url": echo}},
        ),
        "gs URL user:password": (
            f"gs://{USER}:{PASSWORD}@bucket/store",
            {"endpoint_url": echo, "token": "anon"},
        ),
        "memory URL user:password": (f"memory://{USER}:{PASSWORD}@host/store", {}),
        "file URL user:password": (f"file://{USER}:{PASSWORD}@{tmp_path}/store", {}),
        "http URL user:password": (f"http://{USER}:{PASSWORD}@127.0.0.1:{_closed_port()}/s", {}),
        "az connection string with a SAS, server refuses and echoes": (
            "az://container/store",
            {"connection_string": _azure(echo, f"SharedAccessSignature={AZ_SAS}")},
        ),
        "az connection string with an account key, server refuses": (  # the key is not sent
            "az://container/store",
            {"connection_string": _azure(echo, f"AccountKey={AZ_KEY}")},
        ),
        "az account key in the environment, account unreachable": ("az://container/store", {}),
    }


# Cases whose credentials are in the environment, as adlfs and modelkit read them.
ENVIRONMENTS = {
    "az account key in the environment, account unreachable": lambda: {
        "AZURE_STORAGE_CONNECTION_STRING": _azure(
            f"http://127.0.0.1:{_closed_port()}", f"AccountKey={AZ_KEY}"
        ),
    },
}


CASES = [
    "s3 options, server refuses and echoes",
    "s3 options, server unreachable",
    "s3 URL user:password",
    "s3 URL percent-encoded",
    "gs URL user:password",
    "memory URL user:password",
    "file URL user:password",
    "http URL user:password",
    "az connection string with a SAS, server refuses and echoes",
    "az connection string with an account key, server refuses",
    "az account key in the environment, account unreachable",
]


@pytest.mark.parametrize("case", CASES)
def test_credentials_never_appear_in_errors_logs_or_reprs(
    echo: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    case: str,
) -> None:
    """Input: a store configured with credentials (``storage_options`` key and secret, or
    ``user:password@`` in the URL), used for every operation (fetch pinned and latest,
    versions, names, info, push, verify) against a server that refuses and echoes the request,
    a dead endpoint, or a backend that does not understand credentials in URLs. Must hold: no
    credential in any error message, in any log record of ours (any level) or of any library
    at INFO and above, in ``repr()`` of the Assets object and of its configuration, or in the
    configuration rows shown by the faces."""
    url, options = _cases(echo, tmp_path)[case]
    for name, value in ENVIRONMENTS.get(case, dict)().items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)  # a URL a backend misreads may become a relative path
    caplog.set_level(logging.DEBUG, logger="pytest_assets")
    caplog.set_level(logging.INFO)
    (tmp_path / "file.txt").write_text("data")
    assets = Assets.from_config(
        store=url, cache_dir=tmp_path / "cache", storage_options=options, start_dir=tmp_path
    )
    assert assets.config is not None
    seen = [repr(assets), repr(assets.config), str(assets.config.describe())]
    calls = [
        lambda: assets.fetch("a/b:0.0"),
        lambda: assets.fetch("a/b"),
        lambda: assets.versions("a/b"),
        lambda: assets.names(),
        lambda: assets.info("a/b:0.0"),
        lambda: assets.push(tmp_path / "file.txt", "c/d"),
        lambda: assets.verify(),
    ]
    with azure_retries(1):  # the Azure SDK's own pauses take 84 s on a dead account
        for call in calls:
            try:
                seen.append(repr(call()))
            except AssetsError as exc:  # anything else escaping is a failure too
                seen.append(str(exc))
    for text in seen:
        assert_no_secret(text, case)
    if "echoes" in case:  # the server did put the key in its answer: it was scrubbed
        assert any("refused access" in text and "***" in text for text in seen), seen
    ours = [r for r in caplog.records if r.name.startswith("pytest_assets")]
    loud = [r for r in caplog.records if r.levelno >= logging.INFO]
    for record in ours + loud:
        assert_no_secret(record.getMessage(), f"log record of {record.name}")
        if record.exc_info and record.exc_info[1] is not None:
            assert_no_secret(str(record.exc_info[1]), f"exception logged by {record.name}")


def test_pytest_header_and_report_never_show_credentials(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, echo: str
) -> None:
    """Input: the store URL with ``user:password@`` (password with "/") in the ini file, in
    ASSETS_STORE and on the command line, and a conftest giving key and secret in
    ``storage_options``, with a test whose fetch is refused by a server echoing the request.
    Must hold: neither the header, nor the failure report, nor the summary shows a credential;
    the header shows the store with ``***@``."""
    for name in ("ASSETS_STORE", "ASSETS_DIR", "ASSETS_OFFLINE", "ASSETS_VERSIONING"):
        monkeypatch.delenv(name, raising=False)
    url = f"s3://{USER}:{PASSWORD}@bucket/store"
    pytester.makeini(f"[pytest]\nassets_store = {url}\nassets_dir = cache\n")
    pytester.makeconftest(
        f"""
import pytest
from pytest_assets import Assets

@pytest.fixture(scope="session")
def assets(tmp_path_factory):
    options = {{"key": {KEY!r}, "secret": {SECRET!r},
               "client_kwargs": {{"endpoint_url": {echo!r}}}}}
    return Assets(store="s3://bucket/store", cache_dir=tmp_path_factory.mktemp("c"),
                  storage_options=options)
"""
    )
    pytester.makepyfile("def test_fetch(asset):\n    asset('a/b:0.0')\n")
    outputs = []
    for extra, env in (([], None), ([], url), (["--assets-store", url], None)):
        if env:
            monkeypatch.setenv("ASSETS_STORE", env.replace(USER, USER + "2"))
        result = pytester.runpytest("-rA", *extra)
        result.assert_outcomes(failed=1)
        text = result.stdout.str() + result.stderr.str()
        assert "***@bucket/store" in text
        assert "refused access" in text
        outputs.append(text)
    for text in outputs:
        assert_no_secret(text, "pytest output")


def test_asset_magic_configuration_display_never_shows_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Input: ``%asset --store`` with ``user:password@`` in the URL (password with "/"), then
    ``%asset`` alone (the configuration display) and a fetch that fails. Must hold: the text
    and HTML displays show the store with ``***@`` and no credential, nor does the error."""
    ipython = pytest.importorskip("IPython.core.interactiveshell")
    pytest.importorskip("ipython_ext", reason="the %asset extension is not installed")
    for name in ("ASSETS_STORE", "ASSETS_DIR", "ASSETS_OFFLINE", "ASSETS_VERSIONING"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    shell = ipython.InteractiveShell.instance()
    shell.run_line_magic("load_ext", "ipython_ext")
    try:
        url = f"memory://{USER}:{PASSWORD}@host/store"
        shell.run_line_magic("asset", f"--store {url} --cache-dir {tmp_path / 'cache'}")
        view = shell.run_line_magic("asset", "")
        shown = [repr(view), view._repr_html_()]
        assert "***@host/store" in shown[0]
        failed = shell.run_cell("%asset a/b:0.0").error_in_exec  # stops the cell, one line
        assert failed is not None
        captured = capsys.readouterr()
        shown += [captured.out, captured.err, str(failed)]
        assert "asset:" in captured.out
    finally:
        shell.run_line_magic("unload_ext", "ipython_ext")
    for text in shown:
        assert_no_secret(text, "%asset")


@pytest.mark.parametrize("variable", ["AZURE_STORAGE_ACCOUNT_KEY", "AZURE_STORAGE_SAS_TOKEN"])
def test_an_azure_credential_from_the_environment_is_scrubbed_from_store_messages(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    """adlfs reads these variables when no option is given, so a message may quote them."""
    from pytest_assets.store import Store

    secret = AZ_KEY if variable.endswith("KEY") else AZ_SAS
    monkeypatch.setenv(variable, secret)
    scrubbed = Store("az://container/store").scrub(f"the service said: {secret} is wrong")
    assert_no_secret(scrubbed, variable)
    assert scrubbed.startswith("the service said: ")
    assert scrubbed.endswith("*** is wrong")
