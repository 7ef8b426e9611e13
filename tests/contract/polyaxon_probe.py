"""Run inside a virtualenv with the `polyaxon` package: load the agent's settings from the environment, as the agent
does at start, and print what Polyaxon's own code made of them as JSON (or the error it raised).

Standard input: a JSON object, the container's environment. Nothing else of this process's environment is kept,
so only what the rendered objects provide reaches Polyaxon.
"""

import json
import os
import sys
import tempfile

environment = json.load(sys.stdin)
home = tempfile.mkdtemp()
os.environ.clear()
os.environ.update({**environment, "HOME": home, "POLYAXON_HOME": home})

try:
    from polyaxon import settings
    from polyaxon._env_vars.getters.agent import get_agent_info

    agent = settings.AGENT_CONFIG
    result = {
        "agent_loaded": agent is not None,
        "host": settings.CLIENT_CONFIG.host,
        "in_cluster": settings.CLIENT_CONFIG.in_cluster,
        "token": settings.AUTH_CONFIG.token if settings.AUTH_CONFIG else None,
    }
    if agent is not None:
        store = agent.artifacts_store
        scheduling = agent.default_scheduling
        result.update({
            "namespace": agent.namespace,
            "artifacts_store": store.to_dict() if store else None,
            "connections": [c.to_dict() for c in agent.connections or []],
            "default_scheduling": scheduling.to_dict() if scheduling else None,
            "agent_secret_name": agent.agent_secret_name,
        })
        owner, uuid = get_agent_info()
        result["instance"] = {"owner": owner, "uuid": uuid}
    print(json.dumps({"ok": result}))
except Exception as error:  # the agent would not start: report what Polyaxon said
    print(json.dumps({"error": f"{type(error).__name__}: {error}"}))
