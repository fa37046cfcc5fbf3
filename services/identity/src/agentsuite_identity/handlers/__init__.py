"""One async function per command: (command, unit of work, named deps). One module per area."""
