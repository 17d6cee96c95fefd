"""The table layouts zae-limiter has used, one module each; the only place that knows them apart.

base.py is what every layout answers (stored.py: the records it answers with); flat.py
(0.6-0.7), composite.py (0.8-0.9) and namespaced.py (0.10 and later) answer it. Detection
(resource_registry.detection) picks one per table. A new layout is a module here, a line below
and a line in detection.
"""

from __future__ import annotations

from resource_registry.layouts.base import Layout
from resource_registry.layouts.composite import CompositeLayout
from resource_registry.layouts.flat import FlatLayout
from resource_registry.layouts.namespaced import NamespacedLayout

FLAT: Layout = FlatLayout()
COMPOSITE: Layout = CompositeLayout()
NAMESPACED: Layout = NamespacedLayout()
# Every layout by its name (the TABLE_LAYOUT setting and the tableLayout context value).
LAYOUTS: dict[str, Layout] = {layout.name: layout for layout in (FLAT, COMPOSITE, NAMESPACED)}
