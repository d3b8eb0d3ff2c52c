"""The command line: the only package that imports typer and rich.

`main` builds the typer commands from one module per command group; `output` holds the stdout
results and the error-to-exit-code mapping; `display` picks how events are shown (`lines` or
`rows`, counted by `meter`); `options` are shared.
"""
