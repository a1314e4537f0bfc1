"""Package steps: ``apt``, ``package``, ``dnf``/``dnf5``/``yum``, ``apk``, ``pip``, repositories
and keys (``apt_repository``, ``deb822_repository``, ``yum_repository``, ``apt_key``,
``rpm_key``) and ``dpkg_selections``.

Each step reads what is installed first and asks the package manager once, for
the whole list (one transaction): a second run changes nothing, and one unknown
name fails the task before anything is installed.
"""

from __future__ import annotations

from corral import RegisterStep, StepType, hookimpl, lazy_step
from corral_plugins.packages.apt_schema import APT_SCHEMA
from corral_plugins.packages.schemas import (
    APK_SCHEMA,
    APT_KEY_SCHEMA,
    APT_REPOSITORY_SCHEMA,
    DEB822_SCHEMA,
    DNF_SCHEMA,
    DPKG_SELECTIONS_SCHEMA,
    PACKAGE_FACTS_SCHEMA,
    PACKAGE_SCHEMA,
    PIP_SCHEMA,
    RPM_KEY_SCHEMA,
)
from corral_plugins.packages.yum_repository_schema import YUM_REPOSITORY_SCHEMA


@hookimpl
def corral_register_steps(register: RegisterStep) -> None:
    """Register the package steps."""
    steps = (
        (
            "apt",
            lazy_step("corral_plugins.packages.apt:apt"),
            APT_SCHEMA,
            (),
            "Install, upgrade or remove Debian packages with apt-get.",
        ),
        (
            "package",
            lazy_step("corral_plugins.packages.package:package"),
            PACKAGE_SCHEMA,
            (),
            "Manage packages with the host's manager.",
        ),
        (
            "dnf",
            lazy_step("corral_plugins.packages.rpm:dnf"),
            DNF_SCHEMA,
            (),
            "Install, upgrade or remove RPM packages with dnf.",
        ),
        (
            "dnf5",
            lazy_step("corral_plugins.packages.rpm:dnf5"),
            DNF_SCHEMA,
            (),
            "Install, upgrade or remove RPM packages with dnf5.",
        ),
        (
            "yum",
            lazy_step("corral_plugins.packages.rpm:yum"),
            DNF_SCHEMA,
            # ansible-core redirects yum to dnf; it is not in its module list any more.
            ("ansible.builtin.yum", "ansible.legacy.yum"),
            "Install, upgrade or remove RPM packages with yum/dnf.",
        ),
        (
            "apk",
            lazy_step("corral_plugins.packages.apk:apk"),
            APK_SCHEMA,
            ("community.general.apk",),
            "Manage Alpine packages.",
        ),
        (
            "pip",
            lazy_step("corral_plugins.packages.pip:pip"),
            PIP_SCHEMA,
            (),
            "Install Python packages, in a virtualenv if asked.",
        ),
        (
            "apt_key",
            lazy_step("corral_plugins.packages.apt_key:apt_key"),
            APT_KEY_SCHEMA,
            (),
            "Add or remove a key of apt's trusted keyring with apt-key (deprecated).",
        ),
        (
            "apt_repository",
            lazy_step("corral_plugins.packages.apt_repository:apt_repository"),
            APT_REPOSITORY_SCHEMA,
            (),
            "Add or remove a one-line apt source.",
        ),
        (
            "deb822_repository",
            lazy_step("corral_plugins.packages.deb822:deb822_repository"),
            DEB822_SCHEMA,
            (),
            "Add or remove a deb822 .sources file and its signing key.",
        ),
        (
            "dpkg_selections",
            lazy_step("corral_plugins.packages.dpkg_selections:dpkg_selections"),
            DPKG_SELECTIONS_SCHEMA,
            (),
            "Hold a Debian package, or set its dpkg selection state.",
        ),
        (
            "rpm_key",
            lazy_step("corral_plugins.packages.rpm_key:rpm_key"),
            RPM_KEY_SCHEMA,
            (),
            "Import a GPG key into the rpm database, or remove one.",
        ),
        (
            "yum_repository",
            lazy_step("corral_plugins.packages.yum_repository:yum_repository"),
            YUM_REPOSITORY_SCHEMA,
            (),
            "Add, change or remove a repository in a yum/dnf .repo file.",
        ),
    )
    register(
        StepType(
            name="package_facts",
            run=lazy_step("corral_plugins.packages.facts:package_facts"),
            schema=PACKAGE_FACTS_SCHEMA,
            check_mode=True,
            facts=("packages",),
            description="Gather the installed packages into ansible_facts.packages.",
        )
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
