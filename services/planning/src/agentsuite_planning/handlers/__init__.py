"""planning's handlers: one async function `(command, uow, deps)` per command or event. They
never commit: a route commits after them (with its Idempotency-Key's record), a consumer's
unit of work is committed by the kit with its inbox claim."""
