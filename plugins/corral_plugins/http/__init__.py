"""The ``http`` step (also ``uri`` and ``ansible.builtin.uri``): call an HTTP API, or download.

Requests are sent from the controller with httpx (imported when a request is
made, never at start-up); only ``dest`` touches the host: the body is streamed
to a temporary file on the controller, compared with the host's file by sha1,
and written with ``conn.put`` when it differs. The result has Ansible's shape
(``status``, ``url``, ``msg``, ``json``, ``content``, response headers as
lower-case keys) plus ``headers``. TLS certificates are verified by default;
``ca_cert`` and ``client_cert``/``client_key`` name files on the controller.
In check mode only GET and HEAD are sent. Passwords, tokens and the password
in a URL never appear in the result.

The pieces: :mod:`.step` is the step, :mod:`.request` builds the request from the
arguments (and has ``describe_error``, shared with the notify plugin), :mod:`.response`
turns the response into the result, :mod:`.download` saves a body on the host,
:mod:`.get_url` is the ``get_url`` step, and :mod:`.schema` and :mod:`.get_url_schema` are
the arguments' JSON Schemas. Registering the steps imports only the schemas; the rest is
imported when a step first runs (:func:`corral.lazy_step`).
"""

from __future__ import annotations

from corral import RegisterStep, StepType, hookimpl, lazy_step
from corral_plugins.http.get_url_schema import GET_URL_SCHEMA
from corral_plugins.http.schema import HTTP_SCHEMA


@hookimpl
def corral_register_steps(register: RegisterStep) -> None:
    """Register ``http`` (aliases ``uri``, ``ansible.builtin.uri``, ``ansible.legacy.uri``)
    and ``get_url``."""
    register(
        StepType(
            name="http",
            run=lazy_step("corral_plugins.http.step:http"),
            schema=HTTP_SCHEMA,
            aliases=("uri", "ansible.builtin.uri", "ansible.legacy.uri"),
            check_mode=True,
            # The request leaves from the controller; the host is used only for
            # dest, creates and removes.
            on="target",
            description="Send an HTTP request from the controller; optionally save the "
            "body on the host.",
        )
    )
    register(
        StepType(
            name="get_url",
            run=lazy_step("corral_plugins.http.get_url:get_url"),
            schema=GET_URL_SCHEMA,
            check_mode=True,
            description="Download a file from HTTP(S) to the host (from the controller), with "
            "checksum, mode and force.",
        )
    )
