"""Run inside a virtualenv with the `polyaxon` package: load the agent's settings from an environment, as the agent
does at start, and print what Polyaxon's own code made of them (or the error it raised) as JSON.

Standard input: a JSON list of environments (each a container's environment). Each is read in a forked child whose
environment holds that one and nothing else of this process's, and which executes ``polyaxon.settings`` afresh (it
reads the environment when it runs); Polyaxon's other modules are imported once, before forking, to save time.
Standard output: one JSON line per environment, in order.
"""

import importlib
import json
import os
import sys
import tempfile

import polyaxon._schemas.agent  # noqa: F401  (heavy imports shared by every child)

ORIGINAL = dict(os.environ)


def configuration(environment):
    home = tempfile.mkdtemp()
    os.environ.clear()
    os.environ.update({**environment, "HOME": home, "POLYAXON_HOME": home})
    try:
        settings = importlib.reload(sys.modules["polyaxon.settings"]) if "polyaxon.settings" in sys.modules \
            else importlib.import_module("polyaxon.settings")
        from polyaxon._env_vars.getters.agent import get_agent_info

        agent = settings.AGENT_CONFIG
        result = {
            "agent_loaded": agent is not None,
            "host": settings.CLIENT_CONFIG.host,
            "in_cluster": settings.CLIENT_CONFIG.in_cluster,
            "token": settings.AUTH_CONFIG.token if settings.AUTH_CONFIG else None,
        }
        if agent is not None:
            store, scheduling = agent.artifacts_store, agent.default_scheduling
            result.update({
                "namespace": agent.namespace,
                "artifacts_store": store.to_dict() if store else None,
                "connections": [c.to_dict() for c in agent.connections or []],
                "default_scheduling": scheduling.to_dict() if scheduling else None,
                "agent_secret_name": agent.agent_secret_name,
            })
            owner, uuid = get_agent_info()
            result["instance"] = {"owner": owner, "uuid": uuid}
        return {"ok": result}
    except Exception as error:  # the agent would not start: report what Polyaxon said
        return {"error": f"{type(error).__name__}: {error}"}


for environment in json.load(sys.stdin):
    read, write = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(read)
        with os.fdopen(write, "w") as out:
            out.write(json.dumps(configuration(environment)))
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as answer:
        line = answer.read()
    os.waitpid(child, 0)
    print(line or json.dumps({"error": "the child process died"}), flush=True)
