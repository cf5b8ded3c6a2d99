"""JupyterHub for the course: each learner a Unix user with their own server, one shared course
environment, nbgrader's exchange closed per learner, a Formgrader service for the instructors.

``deploy/jupyterhub/start`` sets the machine up and runs ``jupyterhub -f`` this file; every
setting a site changes comes from its environment (defaults in brackets):

  FLOWLIB_HUB_DIR          the hub's folder: state, exchange, student edition  [/srv/flowlib-hub]
  FLOWLIB_HUB_ENV          the course environment every server runs in         [$FLOWLIB_HUB_DIR/venv]
  FLOWLIB_HUB_URL          where learners reach the hub                         [http://:8000]
  FLOWLIB_HUB_INSTRUCTORS  Unix users who teach (comma-separated; admins, Formgrader)
  FLOWLIB_HUB_GROUP        the instructors' Unix group                          [course-instructors]
  FLOWLIB_HUB_AUTH         pam | test                                           [pam]
  FLOWLIB_HUB_PORTS        the hub's own ports: hub, proxy API, Formgrader      [8081,8001,9999]
"""

import os
import pwd
import secrets
from pathlib import Path

from flowlib.course import layout

HERE = Path(__file__).resolve().parent
HUB = Path(os.environ.get("FLOWLIB_HUB_DIR", "/srv/flowlib-hub"))
ENV = Path(os.environ.get("FLOWLIB_HUB_ENV", str(HUB / "venv")))
INSTRUCTORS = [name for name in os.environ.get("FLOWLIB_HUB_INSTRUCTORS", "").split(",") if name]
GROUP = os.environ.get("FLOWLIB_HUB_GROUP", "course-instructors")
HUB_PORT, API_PORT, FORMGRADER_PORT = (int(p) for p in os.environ.get("FLOWLIB_HUB_PORTS", "8081,8001,9999").split(","))

c = get_config()  # noqa: F821  (JupyterHub provides get_config)

# --- the hub, its proxy (configurable-http-proxy from deploy/jupyterhub/node_modules) and its state
c.JupyterHub.bind_url = os.environ.get("FLOWLIB_HUB_URL", "http://:8000")
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{HUB_PORT}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{API_PORT}"
c.ConfigurableHTTPProxy.command = [str(HERE / "node_modules" / ".bin" / "configurable-http-proxy")]
c.ConfigurableHTTPProxy.pid_file = str(HUB / "state" / "proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{HUB / 'state' / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(HUB / "state" / "cookie_secret")
c.JupyterHub.pid_file = str(HUB / "state" / "jupyterhub.pid")

# --- who logs in. PAM (the default): the machine's Unix users and passwords.
#   GitHub instead (pip install oauthenticator; a GitHub OAuth app whose callback is
#   https://HOST/hub/oauth_callback):
#     c.JupyterHub.authenticator_class = "github"
#     c.GitHubOAuthenticator.client_id = "..."; c.GitHubOAuthenticator.client_secret = "..."
#     c.GitHubOAuthenticator.oauth_callback_url = "https://HOST/hub/oauth_callback"
#     c.GitHubOAuthenticator.allowed_organizations = {"your-course-org"}
#   An LMS (Canvas, Moodle, ...) through LTI 1.3 (pip install jupyterhub-ltiauthenticator; the
#   LMS's tool registration gives these):
#     c.JupyterHub.authenticator_class = "ltiauthenticator.lti13.authenticator.LTI13Authenticator"
#     c.LTI13Authenticator.issuer = "https://canvas.instructure.com"
#     c.LTI13Authenticator.client_id = ["..."]
#     c.LTI13Authenticator.authorize_url = "https://LMS/api/lti/authorize_redirect"
#     c.LTI13Authenticator.jwks_endpoint = "https://LMS/api/lti/security/jwks"
#   With OAuth or LTI each login still needs a Unix user of that name for the spawner below:
#     c.LocalAuthenticator.create_system_users = True  (GitHub: use LocalGitHubOAuthenticator)
if os.environ.get("FLOWLIB_HUB_AUTH", "pam") == "test":
    # the suite's: every listed learner logs in with one password, the instructors with another
    # (never on a real class)
    c.JupyterHub.authenticator_class = "shared-password"
    c.SharedPasswordAuthenticator.user_password = os.environ["FLOWLIB_HUB_TEST_PASSWORD"]
    c.SharedPasswordAuthenticator.admin_password = os.environ["FLOWLIB_HUB_TEST_ADMIN_PASSWORD"]
    c.Authenticator.allowed_users = set(os.environ.get("FLOWLIB_HUB_LEARNERS", "").split(",")) - {""}
else:
    c.JupyterHub.authenticator_class = "pam"
    c.Authenticator.allow_all = True  # every Unix user of this machine; or list them in allowed_users
c.Authenticator.admin_users = set(INSTRUCTORS)
c.Authenticator.allowed_users |= set(INSTRUCTORS)

# --- each learner's server: their own Unix user, in ~/<course>, in the shared course environment.
# The wrapper brings the student edition in first (`flowlib update`: new lessons and every cell the
# learner did not touch arrive; edited cells stay). On a machine with systemd, per-user memory and
# CPU limits: pip install jupyterhub-systemdspawner, then
#   c.JupyterHub.spawner_class = "systemdspawner"; c.SystemdSpawner.mem_limit = "4G"; c.SystemdSpawner.cpu_limit = 2.0
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(HUB / "singleuser")]
c.Spawner.notebook_dir = f"~/{layout.COURSE_ID}"
c.Spawner.default_url = "/lab"
c.Spawner.http_timeout = 120
c.Spawner.start_timeout = 180
ENVIRONMENT = {
    "FLOWLIB_HUB_DIR": str(HUB),
    "FLOWLIB_COURSE_ID": layout.COURSE_ID,
    "PATH": f"{ENV / 'bin'}:/usr/local/bin:/usr/bin:/bin",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
}
c.Spawner.environment = ENVIRONMENT
c.Spawner.env_keep = ["LANG", "LC_ALL", "TZ"]


def role_settings(spawner):
    """Instructors get their course folder as it is; learners the student edition and, through
    their Jupyter config folder, nbgrader's exchange without the instructors' tools."""
    role = "instructor" if spawner.user.name in INSTRUCTORS else "learner"
    spawner.environment["FLOWLIB_HUB_ROLE"] = role
    spawner.environment["JUPYTER_CONFIG_PATH"] = str(HUB / "jupyter" / role)


c.Spawner.pre_spawn_hook = role_settings

# --- Formgrader: a server of the first instructor, in their course folder, for every instructor
if INSTRUCTORS:
    token_file = HUB / "state" / "formgrader_token"
    if not token_file.exists():
        token_file.write_text(secrets.token_hex(32))
        token_file.chmod(0o600)
    c.JupyterHub.services = [
        {
            "name": "formgrader",
            "url": f"http://127.0.0.1:{FORMGRADER_PORT}",
            "command": [str(ENV / "bin" / "jupyterhub-singleuser"), "--ServerApp.default_url=/formgrader"],
            "user": INSTRUCTORS[0],
            "cwd": str(Path(pwd.getpwnam(INSTRUCTORS[0]).pw_dir) / layout.COURSE_ID),
            "api_token": token_file.read_text().strip(),
            "environment": {**ENVIRONMENT, "JUPYTER_CONFIG_PATH": str(HUB / "jupyter" / "instructor")},
        }
    ]
    c.JupyterHub.load_roles = [
        {"name": "instructors", "groups": [GROUP], "scopes": ["access:services!service=formgrader"]},
        {"name": "formgrader", "services": ["formgrader"], "scopes": ["read:users", "list:users"]},
    ]
    c.JupyterHub.load_groups = {GROUP: {"users": INSTRUCTORS}}
