"""Facts about the course itself, each stated once.

The repository URL and the ref that Colab installs live here and only here; the Colab
badge and the Colab install cell of every notebook are generated from them
(``python -m coursekit headers`` rewrites them, a test checks they agree).
"""

__version__ = "0.1.0"

#: Where the course lives. Change it here, then run ``python -m coursekit headers``.
REPO_URL = "https://github.com/dgm-course/deep-generative-models"

#: Branch the Colab badges open notebooks from.
BADGE_BRANCH = "main"

#: The git ref that the Colab set-up cell clones: the same branch the badge opens the notebook
#: from, so the notebook and the coursekit it imports come from the same commit. (The
#: repository has no release tags; a tag here would make every student's first cell fail.
#: Pin a tag only once it exists upstream, and let ``tests/test_faults_colab.py`` check it.)
REPO_REF = BADGE_BRANCH


def repo_slug() -> str:
    """``owner/name`` part of :data:`REPO_URL`."""
    return REPO_URL.rstrip("/").split("github.com/", 1)[1]
