"""Facts about the course itself, each stated once.

The repository URL and the ref that Colab installs live here and only here; the Colab
badge and the Colab install cell of every notebook are generated from them
(``python -m coursekit headers`` rewrites them, a test checks they agree).
"""

__version__ = "0.1.0"

#: Where the course lives. Change it here, then run ``python -m coursekit headers``.
REPO_URL = "https://github.com/dgm-course/deep-generative-models"

#: The git ref that Colab installs: the release tag of this version, so a notebook opened
#: in Colab always gets the coursekit it was written against.
REPO_REF = f"v{__version__}"

#: Branch the Colab badges open notebooks from.
BADGE_BRANCH = "main"


def repo_slug() -> str:
    """``owner/name`` part of :data:`REPO_URL`."""
    return REPO_URL.rstrip("/").split("github.com/", 1)[1]
