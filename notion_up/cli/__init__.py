"""The command line: the only package that imports typer and rich.

`main` builds the typer app from one module per command group; `output` holds the stdout
results and the error-to-exit-code mapping; `render` draws events; `options` are shared.
"""
