"""Package steps: ``apt``, ``package``, ``dnf``/``yum``, ``apk``, ``pip`` and apt's repositories.

Each step reads what is installed first and asks the package manager once, for
the whole list (one transaction): a second run changes nothing, and one unknown
name fails the task before anything is installed.
"""

from __future__ import annotations

from corral import RegisterStep, StepType, hookimpl
from corral_plugins.packages.apk import APK_SCHEMA, apk
from corral_plugins.packages.apt import apt
from corral_plugins.packages.apt_repository import APT_REPOSITORY_SCHEMA, apt_repository
from corral_plugins.packages.apt_schema import APT_SCHEMA
from corral_plugins.packages.deb822 import DEB822_SCHEMA, deb822_repository
from corral_plugins.packages.package import PACKAGE_SCHEMA, package
from corral_plugins.packages.pip import PIP_SCHEMA, pip
from corral_plugins.packages.rpm import DNF_SCHEMA, dnf, yum


@hookimpl
def corral_register_steps(register: RegisterStep) -> None:
    """Register the package steps."""
    steps = (
        ("apt", apt, APT_SCHEMA, (), "Install, upgrade or remove Debian packages with apt-get."),
        ("package", package, PACKAGE_SCHEMA, (), "Manage packages with the host's manager."),
        ("dnf", dnf, DNF_SCHEMA, (), "Install, upgrade or remove RPM packages with dnf."),
        (
            "yum",
            yum,
            DNF_SCHEMA,
            # ansible-core redirects yum to dnf; it is not in its module list any more.
            ("ansible.builtin.yum", "ansible.legacy.yum"),
            "Install, upgrade or remove RPM packages with yum/dnf.",
        ),
        ("apk", apk, APK_SCHEMA, ("community.general.apk",), "Manage Alpine packages."),
        ("pip", pip, PIP_SCHEMA, (), "Install Python packages, in a virtualenv if asked."),
        (
            "apt_repository",
            apt_repository,
            APT_REPOSITORY_SCHEMA,
            (),
            "Add or remove a one-line apt source.",
        ),
        (
            "deb822_repository",
            deb822_repository,
            DEB822_SCHEMA,
            (),
            "Add or remove a deb822 .sources file and its signing key.",
        ),
    )
    for name, run, schema, aliases, description in steps:
        register(
            StepType(
                name=name,
                run=run,
                schema=schema,
                aliases=aliases,
                check_mode=True,
                description=description,
            )
        )
