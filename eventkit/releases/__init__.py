"""Release health: per app version and platform, adoption, crash-free users and
sessions, errors per session and first seen (docs/reports.md#release-health), and the
annotations shown on trend charts.

Domain code only: the job body is :func:`run_releases`; the report is
:func:`eventkit.reports.releases.releases`.
"""

from eventkit.releases.annotations import (
    Annotation,
    annotations_between,
    create_annotation,
    delete_annotation,
    list_annotations,
)
from eventkit.releases.rollup import ReleaseRun, run_releases

__all__ = [
    "Annotation",
    "ReleaseRun",
    "annotations_between",
    "create_annotation",
    "delete_annotation",
    "list_annotations",
    "run_releases",
]
