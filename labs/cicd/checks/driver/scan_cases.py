"""The hidden security-scan cases: requirements files, each scanned with the grader's
advisory database (advisories.json here: the learner's copy plus advisories they have
never seen, so a scanner must read the database rather than know it).

`planted` files hold at least one vulnerable pin the grader planted; `clean` files hold
traps (fixed versions, look-alike names, versions a string comparison gets wrong,
comments). Which packages must be named lives on the host in checks/expected/.
"""

from __future__ import annotations

PLANTED = (
    # a realistic file; 2.9.1 < 2.31.0, though "2.9.1" > "2.31.0" as strings
    """# ticket-router service
numpy==2.2.6
requests==2.9.1
PyYAML==6.0.2
scikit-learn==1.5.2
jinja2==3.1.6
""",
    # the name as the project spells it, not as the advisory does
    """fastapi==0.115.6
PyYAML==5.3.1
uvicorn==0.34.0
""",
    # urllib3's advisory lists its events out of order (2.0.x range, then the 1.x range)
    """certifi==2024.12.14
urllib3==2.0.4
idna==3.10
""",
    # extras, an environment marker and a trailing comment
    """Jinja2[i18n]==3.1.2 ; python_version >= "3.8"   # templating for reports
markupsafe==3.0.2
""",
    # an advisory only the grader's database has, with last_affected, and a PEP 503 name
    """SF_TokenKit==0.4.2
numpy==2.2.6
""",
    # two findings in one file: report both
    """aiohttp==3.9.1
yarl==1.18.3
scikit-learn==1.4.2
""",
    # an advisory listing exact versions; a pin with hashes over continuation lines
    """sf-evalkit==1.2.1 \\
    --hash=sha256:5f3c7a0d2b1e4f6a8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d
pandas==2.2.3
""",
)

CLEAN = (
    # current versions of everything the database knows
    """requests==2.32.4
urllib3==2.5.0
jinja2==3.1.6
PyYAML==6.0.2
aiohttp==3.12.15
scikit-learn==1.6.1
""",
    # exact fixed versions, and versions a string comparison calls older than the fix
    """urllib3==1.26.17
jinja2==3.1.3
aiohttp==3.10.11
requests==2.32.0
scikit-learn==1.5.0
pyyaml==5.4
""",
    # look-alike names, a comment naming a vulnerable pin, an option line
    """--index-url https://pypi.org/simple
# requests==2.25.0 was removed: CVE-2023-32681
requests-toolbelt==1.0.0
types-requests==2.32.0.20241016
pyyaml-include==1.3.2
jinja2-time==0.2.0
urllib3==2.0.7
""",
    # just past a last_affected, and a version outside an exact-versions list
    """sf-tokenkit==0.4.3
sf-promptlib==2.2.0
sf-evalkit==1.3.0
aiohttp==1.0.4
""",
)
