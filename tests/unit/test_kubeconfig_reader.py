"""The kubeconfig as the reconciler reads it without the ``kubernetes`` package: files merged with the first entry
of a name winning, paths relative to the file that names them, data before files, and the user's credential in the
library's order (token, tokenFile, exec plugin, username and password). TLS and proxies against a real server are
in test_transport_tls.py."""

from __future__ import annotations

import base64
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.kube import exec_plugin, kubeconfig
from reconciler.kube.endpoint import Endpoint


def _write(path: Path, clusters: dict[str, Any], users: dict[str, Any], contexts: dict[str, tuple[str, str]],
           current: str | None = None) -> Path:
    document: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": name, "cluster": body} for name, body in clusters.items()],
        "users": [{"name": name, "user": body} for name, body in users.items()],
        "contexts": [{"name": name, "context": {"cluster": c, "user": u}} for name, (c, u) in contexts.items()],
    }
    if current:
        document["current-context"] = current
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document))
    return path


def _endpoint(files: list[Path], context: str | None = None) -> Endpoint:
    return kubeconfig.endpoint(kubeconfig.read(files), context)


def test_the_first_file_naming_an_entry_wins_and_paths_are_relative_to_their_file(tmp_path: Path) -> None:
    (tmp_path / "a" / "ca.crt").parent.mkdir(parents=True)
    (tmp_path / "a" / "ca.crt").write_text("ca")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "token").write_text("from-b")
    first = _write(tmp_path / "a" / "config", {"c": {"server": "https://one:6443/", "certificate-authority": "ca.crt"}},
                   {}, {"x": ("c", "u")})
    second = _write(tmp_path / "b" / "config", {"c": {"server": "https://two:6443"}}, {"u": {"tokenFile": "token"}},
                    {"x": ("c", "nobody")}, current="x")
    endpoint = _endpoint([first, second, tmp_path / "absent"])
    assert (endpoint.host, endpoint.ca_file) == ("https://one:6443", str(tmp_path / "a" / "ca.crt"))
    assert endpoint.credential.headers() == {"authorization": "Bearer from-b"}


def test_data_wins_over_files_and_is_written_to_a_private_file(tmp_path: Path) -> None:
    data = base64.b64encode(b"-----BEGIN CERTIFICATE-----\n").decode()
    path = _write(tmp_path / "config", {"c": {"server": "https://s", "certificate-authority": "missing.crt",
                                              "certificate-authority-data": data}},
                  {"u": {"token": "t", "tokenFile": "missing"}}, {"x": ("c", "u")})
    endpoint = _endpoint([path], "x")
    assert endpoint.ca_file is not None and Path(endpoint.ca_file).read_bytes() == b"-----BEGIN CERTIFICATE-----\n"
    assert Path(endpoint.ca_file).stat().st_mode & 0o077 == 0
    assert endpoint.credential.headers() == {"authorization": "Bearer t"}


def test_plain_http_loads_no_certificate_and_insecure_skip_tls_verify_turns_verification_off(tmp_path: Path) -> None:
    path = _write(tmp_path / "config", {"h": {"server": "http://s", "certificate-authority": "missing.crt"},
                                        "i": {"server": "https://s", "insecure-skip-tls-verify": True,
                                              "tls-server-name": "api", "proxy-url": "http://proxy:3128"}},
                  {"u": {"username": "ann", "password": "secret"}}, {"h": ("h", "u"), "i": ("i", "u")})
    assert _endpoint([path], "h").ca_file is None
    insecure = _endpoint([path], "i")
    assert (insecure.verify, insecure.tls_server_name, insecure.proxy) == (False, "api", "http://proxy:3128")
    assert insecure.credential.headers() == {"authorization": f"Basic {base64.b64encode(b'ann:secret').decode()}"}


def test_a_missing_certificate_file_or_cluster_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path / "config", {"c": {"server": "https://s", "certificate-authority": "gone.crt"}}, {},
                  {"x": ("c", "u"), "y": ("nowhere", "u")})
    with pytest.raises(kubeconfig.KubeconfigError, match=r"certificate-authority \S+gone.crt does not exist"):
        _endpoint([path], "x")
    with pytest.raises(kubeconfig.KubeconfigError, match="names cluster 'nowhere', which is not in its clusters"):
        _endpoint([path], "y")


def test_an_exec_plugin_may_issue_a_client_certificate_instead_of_a_token(tmp_path: Path) -> None:
    plugin = tmp_path / "plugin.py"
    plugin.write_text("import json, os\ninfo = json.loads(os.environ['KUBERNETES_EXEC_INFO'])\n"
                      "json.dump({'apiVersion': info['apiVersion'], 'kind': 'ExecCredential', 'status': {"
                      "'clientCertificateData': 'CERT ' + info['spec']['cluster']['server'], "
                      "'clientKeyData': 'KEY'}}, open(1, 'w'))\n")
    spec = {"apiVersion": "client.authentication.k8s.io/v1", "command": sys.executable, "args": [str(plugin)],
            "provideClusterInfo": True}
    path = _write(tmp_path / "config", {"c": {"server": "https://s"}}, {"u": {"exec": spec}}, {"x": ("c", "u")})
    endpoint = _endpoint([path], "x")
    assert endpoint.cert_file and Path(endpoint.cert_file).read_text() == "CERT https://s"
    assert endpoint.key_file and Path(endpoint.key_file).read_text() == "KEY"
    assert endpoint.credential.headers() == {}


def test_an_exec_plugin_that_fails_is_an_error_that_says_so(tmp_path: Path) -> None:
    spec = {"apiVersion": "client.authentication.k8s.io/v1", "command": sys.executable,
            "args": ["-c", "import sys; print('no login', file=sys.stderr); sys.exit(3)"]}
    path = _write(tmp_path / "config", {"c": {"server": "https://s"}}, {"u": {"exec": spec}}, {"x": ("c", "u")})
    with pytest.raises(exec_plugin.ExecError, match=r"exec: process returned 3\. no login"):
        _endpoint([path], "x")


def test_a_symlinked_kubeconfig_names_paths_relative_to_the_link_and_an_empty_token_reads_no_file(
        tmp_path: Path) -> None:
    """As the library reads it: the folder of the file as named (~/.kube/config linked elsewhere), and a token key
    given empty wins over tokenFile."""
    cluster = {"server": "https://s", "certificate-authority": "ca.crt"}
    target = _write(tmp_path / "elsewhere" / "config", {"c": cluster}, {"u": {"token": "", "tokenFile": "token"}},
                    {"x": ("c", "u")})
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "ca.crt").write_text("ca")
    (tmp_path / "home" / "token").write_text("never read")
    link = tmp_path / "home" / "config"
    link.symlink_to(target)
    endpoint = _endpoint([link], "x")
    assert endpoint.ca_file == str(tmp_path / "home" / "ca.crt")
    assert endpoint.credential.headers() == {}
