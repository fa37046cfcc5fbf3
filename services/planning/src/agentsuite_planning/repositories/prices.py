"""Model prices (llm.providers.v1): the newest event applied per model wins, a retired
model is absent from reads (see `catalog` for the rules every projection keeps)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import false, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from agentsuite_kit.db.repository import Repository, tenant_of
from agentsuite_planning.domain.forecast import Price
from agentsuite_planning.repositories.tables import model_prices

# a tenant's registry is small; a read is bounded all the same
MAX_MODELS = 1_000


class Prices(Repository):
    async def put(
        self,
        model: str,
        price: Price | None,
        at: datetime,
    ) -> None:
        """`price` None: retired (a row without a price, so an older registration applied
        later cannot bring the model back)."""
        t = model_prices
        row = pg_insert(t).values(
            tenant_id=tenant_of(self),
            model=model,
            input_micros=0 if price is None else price.input_micros_per_mtok,
            output_micros=0 if price is None else price.output_micros_per_mtok,
            currency="USD" if price is None else price.currency,
            retired=price is None,
            as_of=at,
        )
        changed: tuple[str, ...] = ("input_micros", "output_micros", "currency", "retired", "as_of")
        if price is None:
            changed = ("retired", "as_of")
        await self.session.execute(
            row.on_conflict_do_update(
                index_elements=[t.c.tenant_id, t.c.model],
                set_={c: row.excluded[c] for c in changed},
                where=t.c.as_of < row.excluded.as_of,
            )
        )

    async def of(self, models: frozenset[str]) -> Mapping[str, Price]:
        """The named models' prices (retired or unknown ones absent); none named: every
        routed model."""
        t = model_prices
        query = select(t).where(t.c.tenant_id == tenant_of(self), t.c.retired.is_(false()))
        if models:
            query = query.where(t.c.model.in_(sorted(models)))
        rows = await self.session.execute(query.order_by(t.c.model).limit(MAX_MODELS))
        return {
            row.model: Price(
                input_micros_per_mtok=row.input_micros,
                output_micros_per_mtok=row.output_micros,
                currency=row.currency,
            )
            for row in rows
        }
