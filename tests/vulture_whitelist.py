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
))

# Used by tests only, or dead, in files other developers own: each owner removes the code or
# the entry (issue 29). Grouped here so `make check` is green meanwhile; the list only shrinks.
len((  # TODO owners
    _.RESULT_SLUGS,  # TODO owner of errors.py (adjudication slugs): only tests read it
    _.unused,  # TODO owner of gold.py: gold.py:39 and :445, never read
    _.read_yaml,  # TODO lead (io.py, to be renamed): only tests call it
    _.validate_config,  # TODO Label Studio owner: labelstudio.py, never called
    _.used_labels,  # TODO Label Studio owner: labelstudio.py, never called
    _.replaced,  # TODO Label Studio owner: pull.py:41 and :283, never read
    _.save_raw,  # TODO Label Studio owner: pull.py, never called
    _.write_records,  # TODO Label Studio owner: pull.py, never called
    _.CorpusHashes,  # TODO Label Studio owner: pull.py, never used
    _.scan,  # TODO owner of quarantine.py: only tests call it
    _.addresses,  # TODO owner of scrub.py: only tests call it
))
