//! alpine-strip: turns an Alpine root distroless in one process, then removes itself.
//!
//! The layers, from the bottom (private to the crate; `python3 tests/layers.py` checks that no
//! module depends on another in a cycle and that `unsafe` stays in `os`):
//! - `os`: the only `unsafe` (safe wrappers of the few syscalls nix and std lack), signals;
//! - `root`: the root being stripped, held as a directory descriptor: paths resolved inside it,
//!   confined opens and reads, folder listings, the walk of the whole root;
//! - `format`: readers of untrusted bytes found in the root (ELF, `#!`, tar, gzip, busybox's
//!   bytes);
//! - `apkdb`: apk's state (the installed database, world, triggers, scripts, the lock, `--prune`'s
//!   closure);
//! - `stage`: the pipeline's stages, scan and discover -> plan -> apply -> audit, and whether the
//!   image's programs will still start; `guard` refuses to strip a host.
//!
//! The public surface, for `main.rs` and the tests: [`app`] decides what a run does, then does it;
//! [`options`] are the settings of a run, as every layer reads them; [`cli`] reads the command line
//! into them (and describes it: `--help`, README's table, the man page); [`report`] renders the
//! outcome; [`error`] is every failure with its path and the exit statuses; `fuzzing` (hidden)
//! holds the entry points of the fuzz targets in `tests/fuzz`.
//!
//! The user's guide is README.md; the tests and the measured figures are in tests/README.md. Below:
//! what the tool guards against and how it is built.
//!
//! # Threat model
//!
//! - **The root's contents are hostile.** Any layer of the image can put anything in the tree:
//!   symlinks to anywhere (absolute, `..` chains, loops, a folder that is a link), hard links,
//!   FIFOs, devices and sockets where a file is expected, huge files, a malformed or enormous
//!   database or world, names with newlines, quotes or bytes that are not UTF-8. None of it decides
//!   anything outside the root. The root is opened once as a directory descriptor; every lookup,
//!   listing, read, write and removal after that is an `*at` call relative to it (`statx`,
//!   `readlinkat`, `openat2`, `unlinkat`, `renameat`, `faccessat`), never a host path. A path that
//!   comes from the tree (a link's target, a path the database names) is resolved inside the root
//!   in user space, the way the kernel would for a process chrooted there, and only a path so
//!   resolved, or listed from a folder of the root, can reach an open or a removal: it is its own
//!   type in the code (`InRoot`). The kernel then keeps each open inside the root: `openat2` with
//!   `RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS` and `O_NOFOLLOW`. Where the
//!   kernel has no `openat2` (before Linux 5.6, a seccomp filter answering `EPERM`, qemu-user 7.2)
//!   the same path is opened one folder at a time with `O_NOFOLLOW`, with the same results: the
//!   unit tests run both ways, the seven architectures tested under qemu take the second, and a
//!   debug build takes it when `ALPINE_STRIP_TEST_CONFINE=stepwise` is set
//!   (`ALPINE_STRIP_TEST_CONFINE=stepwise cargo test --test it hostile::`; a release build reads no
//!   such variable). Only regular files are read, with a limit; only files and symlinks are
//!   removed, never a folder.
//! - **No concurrent writer.** The strip is the last step of a build and runs alone in its
//!   container; apk's lock keeps a second strip or an apk out. Were something else to change the
//!   tree during the run, an open or a removal still could not leave the root (a folder swapped for
//!   a symlink fails with `ELOOP`; a file swapped after it was resolved fails the inode check
//!   before it is read), but what the run decided (which files are busybox, which database entries
//!   go) describes the tree as it was, and a file swapped for another under the same name between
//!   the check and the `unlinkat` is removed, as `rm` would. The whole-root walk (the audit, the
//!   search for busybox's hard links) opens each folder relative to its parent's descriptor
//!   (`O_NOFOLLOW`, checked by inode): it only lists, and what it finds is acted on only through
//!   the root's descriptor.
//! - **What it trusts.** The kernel (path resolution, `openat2`, `statx` attributes), its own
//!   binary, the command line (`--root` names the tree to strip), and the engine's mounts (`/proc`,
//!   the bind-mounted `/etc/hosts`, the binary under `RUN --mount`, which are left in place).
//! - **What it cannot defend against.** A writer racing it (above); a kernel or filesystem that
//!   answers differently each time (a FUSE filesystem inside the root); being told to strip a host
//!   (`--force`, or `--root` naming one); a program that needs busybox at run time in a way the
//!   audit cannot see (a shell started by name from code); anything in the files it leaves.
//!
//! # Hostile trees: nothing outside the root decides, nothing is left half done
//!
//! - **Confined reads.** Every file it reads inside the root (the apk database, world, the first
//!   256 bytes of a script for its `#!`) is resolved inside the root as above, must be a regular
//!   file (checked before the open: a FIFO or a device is refused, never opened nor waited on), is
//!   opened relative to the root's descriptor with `openat2(RESOLVE_IN_ROOT)` (see the threat model
//!   below), `O_NOFOLLOW|O_NONBLOCK`, must be the same inode the resolution found, and is read with
//!   a stated limit: 64 MiB for the database, 1 MiB for world, 16 MiB for the triggers file, 64 MiB
//!   for the scripts archive (and 64 MiB for the tar inside `scripts.tar.gz`). A database that is a
//!   link to `/evil-db` or `../../../../evil-db` ends nowhere inside the root, so the root has no
//!   database; the outside file is never read.
//! - **Checked before the first removal.** Every folder it writes to is writable (`faccessat`) and
//!   neither immutable nor append-only (`chattr +i`/`+a` read from `statx`, which `faccessat` does
//!   not see); no file it removes is immutable or append-only; the database reads and parses, and
//!   so does the scripts archive beside it (exit 5 otherwise; `--keep-apk-db` strips anyway). "Not
//!   root", a read-only filesystem, `chattr +a /usr/sbin` or a malformed database stop the run with
//!   one line naming path and reason, and the tree as it was. Files mounted into the root
//!   (`STATX_ATTR_MOUNT_ROOT`: `/strip` under `RUN --mount=type=bind,...`, a file the engine binds
//!   in) are not part of the image: they are left in place with a note, decided before the first
//!   removal, and the run succeeds.
//! - **Not stopped half way by a signal.** SIGINT (Ctrl-C), SIGTERM (an engine cancelling the
//!   build), SIGHUP and SIGQUIT are held from the run's first change to the tree (apk's lock file)
//!   until the report is written (`src/os/interrupt.rs`: blocked, and read back through a
//!   `signalfd`; a dry run changes nothing and holds nothing). One that came before the first
//!   removal stops the run there, looked for before the new database is staged and again after: the
//!   staged files are removed, and so is the lock file when the run made it; one line says
//!   `interrupted by SIGTERM before the first removal: nothing was removed`, exit 6, the tree as it
//!   was (discovery and planning go on until then, a fraction of a second on a large image). One
//!   that comes during the removals ends the process by that signal (status 128+N) once they are
//!   done, the database is in place, apk's lock file is gone (when the run made it) and the report
//!   (or the error of a removal that failed) is written. Killed at once instead, the tree would be
//!   half stripped, the database would still list busybox and the staged files would lie beside it.
//!   A signal the tool was started ignoring (`nohup`) is not held. As PID 1 of a RUN step, where
//!   the kernel drops these signals for a process that does not handle them, one held before the
//!   first removal still stops the run as above, and one that comes later is dropped, as it would
//!   have been. SIGKILL cannot be held; an engine sends it seconds after SIGTERM, the removals take
//!   milliseconds. `tests/it/run_step.rs` sends the signals with `strace -e inject` at chosen
//!   system calls of a RUN step (discovery, staging, the 50th removal, a removal that fails).
//! - **Out of memory.** A failed allocation (`ulimit -v`, `prlimit --as`) ends the run with one
//!   line and exit status 1, never a silent abort (std's answer, SIGILL or SIGABRT): the global
//!   allocator is the system's (the libc's `malloc`), wrapped so that a null calls
//!   `os::memory::out_of_memory`, which allocates nothing: the line from a stack buffer, then the
//!   files the run made removed (apk's lock file when it made it, the staged database files,
//!   registered when made with everything their removal needs), then `_exit(1)`. Before the first
//!   removal the tree is as it was; during the removals the line says so (the database is renamed
//!   in place only after them, and a second run finishes the job); after them, only the report is
//!   lost. `tests/it/memory.rs` strips under limits from the lowest the kernel can load the binary
//!   at to the lowest it strips at, both found by bisection, and with the Nth `mmap` and every one
//!   after it failing, for every N (`strace -e inject`). A memory cgroup's OOM killer sends
//!   SIGKILL, which nothing can answer; a limit too low for the kernel to map the binary and its
//!   stack ends `execve` with SIGSEGV before any of its code runs.
//! - **One writer.** The run takes apk's own lock (`flock` on `/lib/apk/db/lock`, created and
//!   removed again when the tree has none); a second strip, or an apk, beside it refuses at once
//!   with one line and changes nothing.
//! - **Linear.** The audit filters its findings against the removals with a hash set: a tree with
//!   20,000 extra applet links and 20,000 world-writable files strips, audit included, in 0.19 s
//!   (0.17 s with `--no-audit`; measured once on this machine, release binary).
//!
//! `tests/it/hostile.rs` builds each case (tests/README.md).
//!
//! # The apk database
//!
//! Scanners (Trivy, Grype/Syft) read `/lib/apk/db/installed` to decide which packages, and so which
//! CVEs, an image has. A tree that moved it to `/usr/lib/apk/db/installed` (no
//! `/lib/apk/db/installed`) has it read, updated and locked (`/usr/lib/apk/db/lock`) there; world
//! stays `/etc/apk/world`. Which packages leave it follows from what the strip removes, not from a
//! list of names (Alpine renames and splits packages: `libapk2` in 3.22, `libapk` in 3.23):
//!
//! - busybox and its subpackages, ssl_client, apk-tools and apk-tools-static leave by definition;
//! - any other package leaves when the strip removed at least one of its files and none of its
//!   files is left in the root (`libapk` with `/usr/lib/libapk.so.3.0.0`);
//! - a package that loses some files and keeps others stays, with the entries (`R:` and its `a:`,
//!   `Z:` lines) of the removed files taken out, every other byte as before;
//! - a package the strip did not touch stays byte for byte, even with no files (`libc-utils`) or
//!   with a file already missing before the strip.
//!
//! The dropped names leave `/etc/apk/world` too, and the dropped packages leave apk's state beside
//! the database as `apk del` leaves it: their line (keyed by their `C:` checksum) leaves
//! `/lib/apk/db/triggers`, and their scripts (entries `NAME-VERSION.CHECKSUM.ACTION`, `Q1` base64
//! in apk 2, `X1` hex in apk 3) leave `scripts.tar` (3.20) or `scripts.tar.gz` (3.23), in the same
//! file with the same compression, every other entry byte for byte. As apk writes both files anew
//! from the installed packages, a line or script of a package the database no longer lists (left by
//! an earlier tool) goes with them (a package is known by the first 20 bytes of its checksum, as
//! apk 3 knows it); a line or entry that names no package by a checksum stays, where apk would drop
//! it. Only the archive apk reads is edited: `scripts.tar` when it is there, else `scripts.tar.gz`
//! (`tests/it/apk_state.rs` compares both cases with what Alpine's own `apk del` leaves; the gzip
//! is written in stored deflate blocks, which any gzip reader reads, rather than paying 16 KB of
//! binary for a compressor). A scripts archive that does not read (bad tar header, bad gzip, too
//! large) stops the run before the first removal, exit 5. All these files are replaced atomically
//! (a new file in the same folder, same mode and owner, rename over the old one; each step relative
//! to the folder's descriptor, opened confined to the root), so a reader or a killed run sees the
//! old file or the new one; the database is renamed last, so a run killed between two renames is
//! finished by the next. Whether the new files are also fsynced before the removals (so that a
//! power cut, too, leaves the old file or the new one) follows apk 3's own rule for its commits
//! (`apk --sync`, default `auto`, apk-tools `src/commit.c`): only when stripping the host's own `/`
//! (no `--root`, and PID 2 is the kernel's `kthreadd`, i.e. the host's PID namespace). In a
//! container build the step that does not finish is discarded whole, so apk does not sync there and
//! neither does the strip; under `--root` neither does apk. `--sync` asks for it anyway
//! (`tests/it/run_step.rs` traces the fsyncs of a RUN step: none by default, one per new file with
//! `--sync`). A failed fsync stops the run before the first removal. On the real Alpine 3.23.3 root
//! (the fixture, `tests/it/current_alpine.rs`):
//!
//! ```text
//! alpine-strip: stripped /: removed 304 applet links and 11 files, freed 1376976 bytes
//! alpine-strip: apk database: dropped apk-tools 3.0.3-r1, busybox 1.37.0-r30, busybox-binsh 1.37.0-r30, libapk 3.0.3-r1, ssl_client 1.37.0-r30
//! alpine-strip: note: --prune would also remove libcrypto3 3.5.5-r0 (228166 bytes), libssl3 3.5.5-r0 (839544 bytes), zlib 1.3.1-r2 (104280 bytes): 1171990 bytes
//! alpine-strip: warning: missing-interpreter /sbin/ldconfig: #!/bin/sh is removed by the strip (busybox-binsh)
//! alpine-strip: warning: missing-interpreter /usr/bin/ldd: #!/bin/sh is removed by the strip (busybox-binsh)
//! alpine-strip: warning: stale-apk-record /usr/lib/libcrypto.so.3: listed by libcrypto3 3.5.5-r0 but missing
//! ```
//!
//! (The fixture is an export that lacks `/usr/lib/libcrypto.so.3`: the audit names that record, and
//! the strip leaves it alone, since the strip did not remove that file. The note is `--prune`'s,
//! below.)
//!
//! The releases tested, and how: tests/README.md, "Alpine releases".
//!
//! # Layout
//!
//! The layers, from the bottom, one concern per file (`src/`):
//!
//! ```text
//! os/sys.rs                  the few system calls nix and std lack, each behind a safe function
//! os/interrupt.rs            holds SIGINT, SIGTERM, SIGHUP, SIGQUIT while the tree changes
//! os/memory.rs               a failed allocation: one line, the files the run made taken back,
//!                            exit 1 (the global allocator, in sys.rs, calls it)
//! root/{mod,meta,path,resolve,open,read,dir,walk}.rs  the target root, held as a directory descriptor:
//!                            InRoot paths and PathSet (sets of them, by folder and name as the
//!                            database names files), resolution inside it, opens confined by openat2
//!                            (or stepwise), cached lstat, confined reads, folders read with
//!                            nix::dir, the whole-root walk
//! format/{elf,script,busybox}.rs  readers of untrusted bytes: ELF (needed libraries), #! lines,
//!                            busybox's bytes (copies, the banner of another build)
//! format/{tar,gzip}.rs       the tar subset apk writes, one gzip member (miniz_oxide's inflate)
//! apkdb/{mod,parse,world,atomic,lock,prune}.rs  the installed database (one state, DbState: who
//!                            leaves by ownership, parse and write back byte for byte), world, staged
//!                            atomic replacement, apk's own flock, --prune's closure
//! apkdb/{checksum,triggers,scripts}.rs  apk's state beside it: the triggers file and the scripts
//!                            archive keep only the staying packages' entries (checksums Q1/X1)
//! stage/scan.rs              lists the six bin folders, each real folder once
//! stage/discover.rs          busybox by name (through links, bbsuid), its hard links and copies
//!                            anywhere (from the walk's result), applet links (dangling ones naming
//!                            busybox too), apk, itself
//! stage/plan.rs              removals in order, bytes freed
//! stage/apply.rs             what stays in place (mounts), the preflight, then unlink in order
//! stage/audit.rs             what keeps a root from being distroless
//! stage/{finding,survey}.rs  a finding (kind, label, path, detail); the one walk of the whole root and
//!                            what it collects (modes, files, programs)
//! stage/start/               will it still start: scripts, env, PT_INTERP and DT_NEEDED the way musl
//!                            loads them (loader.rs), removals on the way (locate.rs), the pipeline's
//!                            whole-image check and --entrypoint (image.rs)
//! report/{mod,human,json}.rs the report (outcome -> exit status, db state, findings) for people and machines
//! guard.rs                   am I in a container build?
//! error.rs                   every failure with its path and reason; the exit statuses (Exit)
//! options.rs                 the settings of a run (a mode: check | strip), as every layer reads them
//! cli/{mod,usage}.rs         the command line -> the settings; --help, README's options table and
//!                            the man page from one table
//! app.rs                     the pipeline: one run object (root, the walk of the whole root made
//!                            at most once, database, image environment), its phases decide (the
//!                            dry run), act, and the report; --check
//! fuzzing.rs                 the thin entry points of the fuzz targets (tests/fuzz), hidden
//! ```
//!
//! No module cycle and no `unsafe` outside `os/`: `python3 tests/layers.py` checks both (`make
//! lint` runs it; `-v` prints the module graph).
//!
//! `unsafe` appears in one file only, `os/sys.rs` (`grep -rn unsafe src`), each block
//! with a `// SAFETY:` comment; `[lints]` in Cargo.toml denies `clippy::undocumented_unsafe_blocks`
//! and `clippy::{unwrap_used,expect_used,panic}` outside tests, and warns on `missing_docs` (an
//! error under `make lint`).
//!
//! The tests, and what each asserts: tests/README.md.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

// The public surface: what `main.rs`, the integration tests and the fuzz targets use.
pub mod app;
pub mod cli;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod options;
pub mod report;
pub use os::interrupt::Held;
pub use os::memory::ALLOCATOR;
pub use os::sys::Allocator;

// Private to the crate: the layers below.
mod apkdb;
mod format;
mod guard;
mod os;
mod root;
mod stage;
