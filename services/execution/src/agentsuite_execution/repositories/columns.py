"""execution's schema metadata: every table registers here (the column shapes its tables
share are the kit's, `agentsuite_kit.db.columns`)."""

from __future__ import annotations

from sqlalchemy import MetaData

metadata = MetaData()
