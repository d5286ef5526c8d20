//! The pipeline's stages, in order: [`scan`] lists the bin folders, [`discover`] finds busybox and
//! apk in them, [`plan`] decides every removal, [`apply`] carries the plan out, [`audit`] says what
//! keeps the root from being distroless, [`start`] whether its programs will still start.
//!
//! # What it removes, and nothing else
//!
//! Discovery happens **inside the target root, never outside it**: symlinks are resolved the way
//! the kernel resolves them for a process chrooted there (absolute targets restart at the root,
//! `..` never climbs above it, at most 40 links, loops are reported and left alone). A folder that
//! is itself a symlink (`/bin -> usr/bin`) is visited once and never removed.
//!
//! | what | how it is found |
//! |---|---|
//! | busybox | regular files named `busybox`, `busybox.static`, `busybox-extras` or `bbsuid` (busybox-suid's setuid helper) in /bin, /sbin, /usr/bin, /usr/sbin, /usr/local/bin, /usr/local/sbin, or the file such a name resolves to inside the root (`/bin/busybox -> /usr/lib/busybox/busybox`), every hard link to the same inode and every byte-for-byte copy of one (`cp /bin/busybox /bin/sh.real`) anywhere on the root's filesystem (only files of a busybox binary's size are read) |
//! | applet links | every symlink in those folders whose chain ends at one of those inodes, whatever its form (`/bin/busybox`, `../../bin/busybox`, `busybox`, chains, `/bin/su -> /bin/bbsuid`), and every one that already dangles and whose chain's target text names a busybox binary by its last component (`-> /bin/busybox` after `rm /bin/busybox`) |
//! | apk | `apk` / `apk.static` in those folders, `libapk.so*` in /lib or /usr/lib |
//! | ssl_client | in those folders (its only user is busybox wget) |
//! | package files | files owned (`R:` in the apk database) only by the packages the strip removes by definition: busybox, busybox-binsh, busybox-suid, busybox-extras, busybox-static, ssl_client, apk-tools, apk-tools-static (`/etc/securetty`, `/usr/share/udhcpc/default.script`, ...) |
//! | itself | what the kernel executed: `/proc/self/exe`, or `AT_EXECFN` from the auxiliary vector where /proc is not mounted (never `argv[0]`), when it lies inside the root |
//!
//! Removal order: applet links, apk, ssl_client, package files, busybox and its hard links, itself.
//! The walk of the whole root sees every entry of the root's own filesystem, with or without /proc,
//! /sys, /dev and the engine's files bound over /etc/hosts, /etc/resolv.conf and /etc/hostname: a
//! folder or file on another filesystem or mounted in is neither entered nor read. It is done
//! before the first removal when the bin folders hold busybox (its copies and hard links decide
//! removals). No folder, no other symlink (`python3 -> python3.12`, `/var/log/nginx/access.log ->
//! /dev/stdout`), no other file is touched. Running twice is fine: the second run says `already
//! stripped` and exits 0.
//!
//! # The audit
//!
//! `--check` (read-only) fails, exit 4, on what keeps a root from being distroless: busybox and its
//! links, apk, any shell in the bin folders (sh, ash, bash, dash, zsh, ksh, mksh, fish, tcsh, csh,
//! busybox-extras, busybox.static), and another busybox build: an executable ELF file no staying
//! package owns that carries busybox's version banner (`BusyBox v`), which is named and kept. It
//! warns about dangling symlinks in the bin folders, programs anywhere in the image that will not
//! start (`missing-interpreter`, `missing-library`: see "Will it still start?" below),
//! setuid/setgid files anywhere, world-writable files outside /tmp and /var/tmp, every file an apk
//! record claims that is not in the root (naming package and path), and a database that cannot be
//! read or parsed. After every strip the same audit runs and prints its warnings (`--no-audit`
//! skips it; `--strict` makes any finding fail).
//!
//! # Will it still start?
//!
//! A distroless image fails at run time with a bare "no such file" when its entrypoint is a script
//! whose shell went, or a program whose library went. After every strip (and in `--check`) the
//! audit looks at every program of the image: every executable regular file anywhere in the root,
//! every shared object by name (`*.so`, `*.so.N`, Node.js's `*.node`, executable or not), and every
//! file and link in the six bin folders (links followed inside the root). For each:
//!
//! - a script's `#!` interpreter must exist; for `#!/usr/bin/env NAME` (and `env -S NAME ...`) env
//!   must exist and NAME must be an executable file on the image's `PATH` (see below);
//! - an ELF executable's `PT_INTERP` (the loader) must exist, and every `DT_NEEDED` of an
//!   executable or shared object must load the way musl's loader finds it: the image's
//!   `LD_LIBRARY_PATH`; the `DT_RPATH`/`DT_RUNPATH` of the object and of the objects that needed
//!   it, `$ORIGIN` expanded (a string with another `$`, such as `$LIB`, is passed over); then
//!   `/etc/ld-musl-ARCH.path` when it exists (entries split on newlines or colons), else
//!   `/lib:/usr/local/lib:/usr/lib`; libc's own names (`libc.`, `libm.`, `libpthread.`, ...) are
//!   the loader itself. Libraries the found ones need are followed in turn;
//! - ELF objects of another machine than the root's loader (prebuilt binaries for other platforms
//!   inside node_modules) are not programs of this image and are passed over.
//!
//! The image's `PATH` and `LD_LIBRARY_PATH` are those the programs get from the image's `ENV`. In a
//! RUN step the tool has exactly that environment, so when it strips `/` it takes its own `PATH`
//! and `LD_LIBRARY_PATH` (`ENV PATH=/opt/venv/bin:$PATH` makes a virtualenv's `python3` found;
//! relative and empty entries are left out). Under `--root` its environment says nothing about the
//! tree: Docker's default `PATH` (`/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`)
//! and no `LD_LIBRARY_PATH`, unless `--env` gives the image's, for example when an exported image
//! is checked in CI:
//!
//! ```text
//! strip --check --root rootfs --entrypoint /app/run.py \
//!   $(docker inspect -f '{{range .Config.Env}}--env {{.}} {{end}}' myimage)
//! ```
//!
//! `--env` sets them over the tool's own when it strips `/` too. A RUN step's environment also
//! holds the build's `ARG`s and what the RUN line sets (`RUN LD_LIBRARY_PATH=/build/lib /strip`),
//! which the final image does not have: set neither for the strip. Programs are taken to run as
//! root, Docker's default user: a program setuid to another user, or setgid to another group,
//! starts "secure", and musl's loader then ignores `LD_LIBRARY_PATH` and `$ORIGIN` in the program's
//! own rpath (a program run as another user, and file capabilities, are not seen).
//!
//! `--dry-run` names the same programs against the plan, changing nothing. A program that will not
//! start is one warning line, naming its first missing piece and its cause: removed by this strip
//! (with the package that owned it, from the apk database) or already missing before (`-v` lists
//! every missing piece; JSON lists them all, with `cause` and `package`):
//!
//! ```text
//! alpine-strip: warning: missing-interpreter /docker-entrypoint.sh: #!/bin/sh is removed by the strip (busybox-binsh)
//! alpine-strip: warning: missing-interpreter /usr/local/bin/npm (-> /usr/local/lib/node_modules/npm/bin/npm-cli.js): #!/usr/bin/env is removed by the strip (busybox applet link)
//! alpine-strip: warning: missing-library /app/node_modules/@img/sharp-linuxmusl-x64/lib/sharp-linuxmusl-x64-0.35.5.node: libstdc++.so.6 was already missing (and 1 more; -v lists them)
//! ```
//!
//! `--entrypoint PATH` (repeatable) names the programs the image must be able to start. They are
//! checked against the plan before the first removal: if the strip (or `--prune`) would break one,
//! or the path does not exist in the root or is not an executable file, nothing is removed and the
//! run ends with exit 4 and one line:
//!
//! ```text
//! alpine-strip: error: /docker-entrypoint.sh: #!/bin/sh is removed by the strip (busybox-binsh)
//! ```
//!
//! An entrypoint's interpreters are checked in turn (a `#!/usr/bin/env node` script needs node to
//! start too). With `--prune`, the packages owning what the entrypoints use (their interpreters,
//! env's program, every library they load) stay, as `--keep` keeps them: `--prune --entrypoint
//! /usr/local/bin/app` keeps libssl3 for an application that links it. With `--check`, the
//! entrypoints are checked against the tree as it is.
//!
//! What it cannot see: programs started by name from code (`child_process.spawn("sh")`,
//! `os.system`, `exec.Command`), `sh -c` inside an application, libraries opened with `dlopen` by
//! name, and an environment set at run time (`docker run -e`, an entrypoint script's `export`).
//! Only the first bytes of a file are read (the ELF headers, the `#!` line), and only of executable
//! files and shared objects; each soname is looked up once per folder and each library's headers
//! are read once, however many programs need it.
//!
//! # `--prune`
//!
//! After the strip, most of what an Alpine base still holds is there only for the apk it removed:
//! on 3.20.3, `libcrypto3` (4.7 MB), `libssl3` (0.8 MB) and `zlib` (0.1 MB) serve apk-tools and
//! ssl_client and nothing that stays. `--prune` removes them the way `apk del` would: the packages
//! that stay are the closure of
//!
//! - the names in `/etc/apk/world` that stay, and those given with `--keep NAME`;
//! - `ca-certificates-bundle`, `ca-certificates` and `tzdata` when present (read, never linked);
//! - what the files no package owns need: every unowned ELF file's `DT_NEEDED` sonames (any folder,
//!   any of Alpine's architectures) and every unowned script's `#!` interpreter;
//!
//! following `D:` dependencies through what packages provide (names, `p:` entries such as `so:`,
//! `cmd:` and paths, the files they own; version constraints ignored, `!conflicts` are not
//! dependencies), with an install-if package (`i:`) kept when all its conditions stay. Every other
//! package leaves: its files go unless a staying package owns them too, its record leaves the
//! database and world. `tests/it/prune.rs` asks Alpine's own `apk del --simulate` in a pristine
//! copy and gets the same answer (less the certificates, which `apk del` would take too).
//!
//! The ELF reader (`src/format/elf.rs`) reads only the file header, the program headers, the
//! dynamic section and its string table, each bounds-checked against the file's size and at most 1
//! MiB; a malformed file needs nothing, it never crashes the run (tested by flipping every byte of
//! a made-up ELF, and on the real binaries of all eight architectures).
//!
//! Without `--prune` nothing more goes; the report adds one note (not a finding, so `--strict` does
//! not fail on it):
//!
//! ```text
//! alpine-strip: note: --prune would also remove libcrypto3 3.3.2-r0 (4702192 bytes), libssl3 3.3.2-r0 (798424 bytes), zlib 1.3.1-r1 (100208 bytes): 5600824 bytes
//! ```
//!
//! With it, on the 3.20.3 minirootfs (`--dry-run --prune` lists the same, with sizes):
//!
//! ```text
//! alpine-strip: stripped /: removed 304 applet links and 26 files, freed 6842649 bytes
//! alpine-strip: apk database: dropped apk-tools 2.14.4-r0, busybox 1.36.1-r29, busybox-binsh 1.36.1-r29, libcrypto3 3.3.2-r0, libssl3 3.3.2-r0, ssl_client 1.36.1-r29, zlib 1.3.1-r1
//! alpine-strip: pruned libcrypto3 3.3.2-r0 (4702192 bytes), libssl3 3.3.2-r0 (798424 bytes), zlib 1.3.1-r1 (100208 bytes): 5600824 bytes
//! ```
//!
//! What is left is musl, musl-utils, scanelf, the CA certificates and the base layout: 1,102,207
//! bytes of regular files. An application that links OpenSSL (an unowned ELF in /usr/local/bin, or
//! a package in world) keeps libssl3 and libcrypto3; `--keep NAME` keeps any package with its
//! dependencies. On 3.23.3 `libapk` leaves with the strip and OpenSSL and zlib with `--prune`. The
//! recipe is `docker/examples/smallest` (flattened); its size is measured by `make e2e`, beside the
//! plain flattened image (tests/README.md).

pub mod apply;
pub mod audit;
pub mod discover;
pub mod finding;
pub mod plan;
pub mod scan;
pub mod start;
pub mod survey;
