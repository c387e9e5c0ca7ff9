"""The output folder of a run: one run at a time, checked before any work, each provider's outputs
published as one unit, and a record of which outputs are current.

- :class:`RunLock`: ``<out>/.qi-equity.lock``, held with ``flock`` for the whole run and holding
  the holder's PID, host, start time and command. A second run into the same folder fails at once
  naming the holder; a lock left by a run that died is free (the kernel drops a dead process's
  ``flock``) and is taken over, and the run says so.
- :func:`check_writable`: every folder the run writes is probed with a real write, and the free
  space compared with what the run needs, before any notebook runs.
- :func:`publish_unit`: a provider's report, metrics and findings are each written in full to a
  temporary file beside its target (and flushed to disk) before any of them is renamed into
  place, so a full disk or a failed write leaves all three as they were. The SHA-256 of each file
  published is recorded in ``run.json``.
- :func:`current`: whether a provider's outputs on disk are the ones its last successful run
  published (hashes match), with the disclosure rule of this run; the collaborative report
  compares only those, and says which providers it left out and why (:func:`comparison_set`).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

LOCK_NAME = ".qi-equity.lock"
FAULT_ENOSPC_ENV = "QI_EQUITY_FAULT_ENOSPC"  # fault injection (tests): these providers' writes hit a full disk
MB_PER_REPORT = 10  # a provider's report, metrics and findings together (about 3-6 MB today), with room
MB_BASE = 20        # index, run record, collaborative report


class OutputError(ValueError):
    """The output folder cannot be used (locked by another run, not writable, too little space)."""


class RunLock:
    """One run at a time in ``folder`` (see the module docstring). Use as a context manager."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self.fd: int | None = None
        self.took_over: dict | None = None

    def __enter__(self):
        import fcntl

        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise OutputError(f"{self.folder}: cannot write here ({exc.strerror}): choose another --out "
                              "or fix the folder's permissions. No report was run.") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_json_fd(fd)
            os.close(fd)
            raise OutputError(
                f"{self.folder}: another run is writing to this folder (PID {holder.get('pid', '?')} on "
                f"{holder.get('host', '?')}, started {holder.get('started', '?')}: {holder.get('command', '?')}). "
                "Wait for it to finish, or stop it, then run again.") from None
        previous = _read_json_fd(fd)
        if previous.get("pid"):
            self.took_over = previous  # a run that died holding it: its flock went with it
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                 "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                                 "command": " ".join(sys.argv[:1] + sys.argv[1:])[:300]}).encode())
        self.fd = fd
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            try:
                self.path.unlink()
            except OSError:
                pass
            os.close(self.fd)
            self.fd = None


def _read_json_fd(fd: int) -> dict:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        data = os.read(fd, 4096)
        return json.loads(data) if data.strip() else {}
    except (OSError, ValueError):
        return {}


def check_writable(folder: str | Path, n_reports: int, subfolders=("metrics", "findings")):
    """Raise :class:`OutputError` unless ``folder`` and its ``subfolders`` take a real write and the
    disk has room for ``n_reports`` provider reports (about ``MB_PER_REPORT`` MB each)."""
    folder = Path(folder)
    for d in [folder] + [folder / s for s in subfolders]:
        try:
            d.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(dir=d, prefix=".qi-probe-", suffix=".tmp")
            try:
                os.write(fd, b"x")
                os.fsync(fd)
            finally:
                os.close(fd)
                os.unlink(probe)
        except OSError as exc:
            raise OutputError(f"{d}: cannot write here ({exc.strerror or exc}): choose another --out or fix the "
                              "folder's permissions. No report was run.") from None
    free_mb = shutil.disk_usage(folder).free / 2**20
    need_mb = MB_BASE + MB_PER_REPORT * n_reports
    if free_mb < need_mb:
        raise OutputError(f"{folder}: only {free_mb:.0f} MB free; this run needs about {need_mb} MB "
                          f"({MB_PER_REPORT} MB a report): free some space or choose another --out. No report was run.")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def publish_unit(out: str | Path, code: str, files: dict[str, bytes | str]) -> dict[str, str]:
    """Publish a provider's files (``relative path -> content``) together or not at all.

    Each is written in full and flushed to disk under a temporary name beside its target; only
    when every one is written are they renamed into place (renames take no space, so a full disk
    cannot strike between them). On any failure the temporary files are removed and the previous
    outputs are untouched. Returns ``relative path -> SHA-256`` of what was published.
    """
    out = Path(out)
    staged: list[tuple[str, Path]] = []
    hashes = {}
    try:
        for rel, data in files.items():
            data = data.encode() if isinstance(data, str) else data
            target = out / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
            staged.append((tmp, target))
            os.chmod(tmp, 0o666 & ~_umask())  # as an ordinary new file (mkstemp's are private)
            with os.fdopen(fd, "wb") as fh:
                if staged[1:] and code in os.environ.get(FAULT_ENOSPC_ENV, "").split(","):
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            hashes[rel] = sha256(data)
        for tmp, target in staged:
            os.replace(tmp, target)
    except BaseException:
        for tmp, _ in staged:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        raise
    return hashes


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def file_hashes(out: str | Path, rels) -> dict[str, str | None]:
    """SHA-256 of each file under ``out`` (``None`` where it is missing)."""
    out = Path(out)
    res = {}
    for rel in rels:
        try:
            res[rel] = sha256((out / rel).read_bytes())
        except OSError:
            res[rel] = None
    return res


def published(entry: dict | None) -> dict | None:
    """The outputs a provider's run-record entry vouches for: this entry's when it succeeded, else
    the previous successful run's still on disk (``kept``), else ``None``."""
    if not entry:
        return None
    if entry.get("status") == "ok" and entry.get("files"):
        return {k: entry.get(k) for k in ("files", "rule", "finished_at")}
    return entry.get("kept")


def current(entry: dict | None, rule: dict, out: str | Path) -> tuple[bool, str]:
    """``(True, "")`` when the provider's outputs on disk come from a successful run with ``rule``
    and are unchanged since (hashes match), else ``(False, why)``."""
    if not entry:
        return False, "no report yet"
    pub = published(entry)
    if entry.get("status") != "ok":
        when = f"; its outputs of {pub['finished_at']} are kept but not current" if pub else ""
        return False, f"its report {entry.get('status', 'failed')} in the last run ({entry.get('stage') or ''}){when}"
    if not pub:
        return False, "its outputs have no run record (made by an older version): run it again"
    if pub.get("rule") != rule:
        return False, f"its outputs were made with another disclosure rule ({describe_rule(pub.get('rule'))})"
    if file_hashes(out, pub["files"]) != pub["files"]:
        return False, "its files do not match the run record (changed or half-replaced since): run it again"
    return True, ""


def describe_rule(rule: dict | None) -> str:
    if not rule:
        return "unknown"
    text = f"threshold {rule.get('threshold')}, medians on at least {rule.get('min_median')} pathways"
    return text + (", HES rounding" if rule.get("hes") else "")


def comparison_set(out: str | Path, providers: list[dict], entries: dict, rule: dict, into: str | Path):
    """Copy the current providers' metrics and findings into ``into``/metrics and ``into``/findings
    (what the collaborative report reads) and return ``(codes compared, notes on the others)``."""
    out, into = Path(out), Path(into)
    (into / "metrics").mkdir(parents=True, exist_ok=True)
    (into / "findings").mkdir(parents=True, exist_ok=True)
    codes, notes = [], []
    for p in providers:
        code = p["code"]
        ok, why = current(entries.get(code), rule, out)
        if ok:
            for sub in ("metrics", "findings"):
                src = out / sub / f"{code}.json"
                if src.exists():
                    shutil.copyfile(src, into / sub / f"{code}.json")
            codes.append(code)
        elif (out / "metrics" / f"{code}.json").exists() or entries.get(code):
            notes.append(f"{code}: not compared: {why}")
    return codes, notes


def sweep_temporary_files(out: Path):
    """Remove temporary files a killed worker may have left mid-write."""
    out = Path(out)
    for d in (out, out / "metrics", out / "findings"):
        for p in d.glob(".*.tmp"):
            p.unlink(missing_ok=True)
