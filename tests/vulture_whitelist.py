"""Names that vulture (`make check`: `vulture src/ tests/vulture_whitelist.py --min-confidence 60`)
takes for dead code but something outside our calls uses. Each entry says who calls it. Never
imported: vulture only reads this file, so the attribute accesses below are never run."""

from types import SimpleNamespace

_ = SimpleNamespace()

len((  # called by frameworks
    _.main_options,  # cli.py: typer's app callback (the options before the command)
    _.annotators_add,  # cli.py: a typer command, registered by its decorator
    _.is_open,  # dataset/writer.py: pyarrow's ParquetWriter reads it in __del__
    _.log_message,  # feedback.py: http.server's BaseHTTPRequestHandler calls it
    _.do_GET,  # feedback.py: http.server dispatches GET to it
    _.do_POST,  # feedback.py: http.server dispatches POST to it
    _.close_connection,  # feedback.py: read by http.server after each request
    _.daemon_threads,  # feedback.py: read by socketserver.ThreadingMixIn
    _.server_version,  # recommend.py: http.server sends it as the Server header
))

len((  # public functions the tests call to keep a published figure or document true
    _.render_block,  # muckeys.py: writes a record back as key text; the round trip over all 2,275 blocks
    _.same_modulo_whitespace,  # muckeys.py: the round trip's comparison
    _.compare_grit,  # dataset/muc_rows.py: the counts per role of docs/dataset.md's comparison with GRIT
    _.predicted_origins,  # recommend.py: which submitted regions came from a prediction (the browser test)
))
