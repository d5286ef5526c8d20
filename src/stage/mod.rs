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
//! links, apk, another busybox build (an executable ELF file no staying package owns that carries
//! busybox's version banner, `BusyBox v`: named and kept), and any shell, found two ways
//! ([`audit`]):
//!
//! - by name in the bin folders, or by the name a link there ends at: sh, ash, bash, dash, zsh,
//!   ksh, mksh, lksh, pdksh, oksh, loksh, yash, posh, hush, fish, tcsh, csh, nu (nushell), elvish,
//!   busybox-extras, busybox.static; with `-static`/`.static` after the name (`bash-static`,
//!   `mksh-static`) or `r` before it (the restricted `rbash`, `rmksh`, `rlksh`; not `rsh`, the
//!   remote shell);
//! - anywhere in the root, under any name, by the words a shell carries in its read-only data
//!   (`src/format/shell.rs`): GNU bash's version banner, mksh's and lksh's `KSH_VERSION`
//!   (`@(#)MIRBSD KSH`, `@(#)LEGACY KSH`), the public-domain ksh's (`@(#)PD KSH`: oksh, loksh),
//!   zsh's `ZSH_PATCHLEVEL`, dash's own messages, yash's `YASH_LOADPATH`, fish's and elvish's
//!   source homes, nushell's crates: in an executable ELF file no staying package owns.
//!
//! Debian's shells, copied or unpacked into an image, are named so:
//!
//! ```text
//! alpine-strip: error: shell /bin/bash-static
//! alpine-strip: error: shell /bin/rmksh: -> /bin/mksh
//! alpine-strip: error: shell /opt/tools/runner: a build of bash (its own words), owned by no package
//! alpine-strip: error: shell /usr/lib/x86_64-linux-musl/bin/mksh: a build of mksh (its own words), owned by no package
//! ```
//!
//! The tool keeps these words masked in its own binary, so a `--check` of a root that still holds
//! `/strip` does not name the tool.
//!
//! ## Three severities
//!
//! - **error**: the root is not distroless (busybox, its applet links, apk, a shell). `--check`
//!   fails on it; a strip leaves what it does not own (another shell is the image author's) and
//!   says so; `--strict` fails the strip.
//! - **warning**: something the user must act on. Dangling symlinks in the bin folders;
//!   setuid/setgid files anywhere; world-writable files outside /tmp and /var/tmp; every file an
//!   apk record claims that is not in the root (naming package and path); a database that cannot
//!   be read or parsed; and programs that will not start (below): a program the user starts (in a
//!   bin folder, in a folder of `PATH`, at the root of the image), and any ELF executable, shared
//!   object or Node.js addon whose libraries will not load, wherever it is. `--strict` fails on
//!   any warning.
//! - **note**: true, shown, counted, and never failing a run ([`start::standing`]):
//!   - scripts apk installed whose `#!` shell or `env` is not in the image. No shell is what
//!     distroless means, so these can never run there, whatever the strip does: musl-utils'
//!     `/sbin/ldconfig` and `/usr/bin/ldd` (every release), OpenSSL's `/etc/ssl/misc/CA.pl`
//!     (`#!/usr/bin/env perl`, 3.12 to 3.19). They stay in place with their apk records intact
//!     (the files are there: the database keeps telling the truth). The image author's own
//!     scripts (files no package owns) and any `--entrypoint` stay warnings and refusals;
//!   - scripts inside library trees, which nobody starts by path: CPython's stdlib (`base64.py`,
//!     `platform.py`, ... installed executable with `#!/usr/bin/env python3`), npm's and
//!     node-gyp's helpers, a wheel's build scripts. One line a tree (`-v` lists each; JSON keeps
//!     every one, with its tree);
//!   - glibc objects, passed over but for their loader (below);
//!   - the closing note of a strip on what a program may still ask for by name (below), and
//!     without `--prune` what `--prune` would remove.
//!
//! After every strip the same audit runs and prints what it found (`--no-audit` skips it). So a
//! stock Alpine passes `--strict`: the official 3.20.3 minirootfs of all eight architectures,
//! stripped as a RUN step, with and without `--prune`, ends with two notes and exit 0:
//!
//! ```text
//! alpine-strip: note: 2 scripts apk installed need a shell or env, which a distroless image has not, and cannot run (/sbin/ldconfig, /usr/bin/ldd; #!/bin/sh is removed by the strip (busybox-binsh))
//! alpine-strip: note: once stripped, a program that asks by name at run time for the shell /bin/sh (and 1 more name for it) (sh -c, system(), dlopen, ctypes) fails, and no audit sees it; keep a package with --prune --keep NAME, name the programs you start with --entrypoint
//! ```
//!
//! What `--strict` still fails on, for example on an export of Alpine 3.23.3 that lost
//! `/usr/lib/libcrypto.so.3` (so libssl and OpenSSL's engines and modules cannot load):
//!
//! ```text
//! alpine-strip: warning: stale-apk-record /usr/lib/libcrypto.so.3: listed by libcrypto3 3.5.5-r0 but missing
//! alpine-strip: warning: missing-library /usr/lib/engines-3/afalg.so: libcrypto.so.3 was already missing
//! alpine-strip: warning: missing-library /usr/lib/engines-3/loader_attic.so: libcrypto.so.3 was already missing
//! alpine-strip: warning: missing-library /usr/lib/engines-3/padlock.so: libcrypto.so.3 was already missing
//! alpine-strip: warning: missing-library /usr/lib/libssl.so.3: libcrypto.so.3 was already missing
//! alpine-strip: warning: missing-library /usr/lib/ossl-modules/legacy.so: libcrypto.so.3 was already missing
//! alpine-strip: note: 2 scripts apk installed need a shell or env, which a distroless image has not, and cannot run (/sbin/ldconfig, /usr/bin/ldd; #!/bin/sh is removed by the strip (busybox-binsh))
//! alpine-strip: note: once stripped, a program that asks by name at run time for the shell /bin/sh (and 1 more name for it) (sh -c, system(), dlopen, ctypes) fails, and no audit sees it; keep a package with --prune --keep NAME, name the programs you start with --entrypoint
//! alpine-strip: --strict: 6 findings (0 errors, 6 warnings) fail the run
//! ```
//!
//! (`--prune` removes libssl3 and libcrypto3's record with it: that tree then passes `--strict`.)
//! The finding kinds, as both reports name them: `busybox`, `applet-link`, `apk`, `shell`
//! (errors); `dangling-link`, `missing-interpreter`, `missing-library`, `setuid`,
//! `world-writable`, `stale-apk-record`, `unreadable-apk-db` (warnings; `missing-interpreter` is a
//! note for the scripts above).
//!
//! # Will it still start?
//!
//! A distroless image fails at run time with a bare "no such file" when its entrypoint is a script
//! whose shell went, or a program whose library went. After every strip (and in `--check`) the
//! audit looks at every program of the image ([`start`]): every executable regular file anywhere in
//! the root, every shared object by name (`*.so`, `*.so.N`, Node.js's `*.node`, executable or not),
//! and every file and link in the six bin folders (links followed inside the root). For each:
//!
//! - a script's `#!` line is read as the kernel reads it (`fs/binfmt_script.c`): the interpreter is
//!   everything up to the first space or tab, so a script saved with Windows line ends asks for
//!   `/bin/sh\r`, and fails before any strip with the classic "exec /docker-entrypoint.sh: no such
//!   file or directory". It is named so, as already missing, never as the strip's doing:
//!
//!   ```text
//!   alpine-strip: warning: missing-interpreter /docker-entrypoint.sh: #!/bin/sh\r (the #! line ends in CR: saved with Windows line ends) was already missing
//!   ```
//!
//!   The interpreter must exist; for `#!/usr/bin/env NAME` (and `env -S NAME ...`) env must exist
//!   and NAME must be an executable file on the image's `PATH` (see below);
//! - an ELF executable's `PT_INTERP` (the loader) must exist, and every `DT_NEEDED` must load the
//!   way musl's loader finds it ([`start::loader`]): the image's `LD_LIBRARY_PATH`; the
//!   `DT_RPATH`/`DT_RUNPATH` of the object and of the objects that needed it, `$ORIGIN` expanded
//!   (a string with another `$`, such as `$LIB`, is passed over); then `/etc/ld-musl-ARCH.path`
//!   when it exists (entries split on newlines or colons), else `/lib:/usr/local/lib:/usr/lib`;
//!   libc's own names (`libc.`, `libm.`, `libpthread.`, ...) are the loader itself; a name already
//!   loaded in the chain is not looked for again. Libraries the found ones need are followed in
//!   turn;
//! - **libraries are judged where they are loaded.** A shared object that a program (or a Node.js
//!   addon, a Python extension) loads is judged in each loading chain, with that chain's search
//!   path, not on its own: auditwheel's bundled `numpy.libs/libstdc++-HASH.so.6` needs its sibling
//!   `libgcc_s-HASH.so.1` and has no rpath; the extension module that loads it has
//!   `$ORIGIN/../../numpy.libs`, and so does every chain that reaches it. A missing library is
//!   named once, on the object the chain starts from (`needed_by` in JSON names the needer);
//! - a shared object no program loads (a `dlopen` target: a `*.node` addon, a Python extension, a
//!   JVM's `lib/*.so`) is judged on its own, and a name that its own folder (or its needer's)
//!   holds, or that an object shipped in its library tree is called, counts as found: whatever
//!   opens it finds those through its own chain. A JVM's `lib/libnet.so` needs `libjvm.so`, which
//!   lives in `lib/server/` and is always loaded first (libjli opens it by path);
//!   `lib/libawt_xawt.so` needing a `libX11.so.6` that no folder holds is still named;
//! - objects of another machine than the root's loader, and of another system, are not programs of
//!   this image and are passed over: `EI_OSABI` other than System V or GNU/Linux (FreeBSD's 9), an
//!   ABI note of OpenBSD, NetBSD, FreeBSD, DragonFly or Android, or a `libc.so.N` that is neither
//!   glibc's nor musl's (FreeBSD's `libc.so.7`). node_modules ship them: koffi's
//!   `build/koffi/freebsd_x64` and `openbsd_x64`, argon2's `prebuilds/freebsd-x64`,
//!   sodium-native's `prebuilds/android-x64`;
//! - glibc objects (`PT_INTERP` `ld-linux*`/`ld64.so.*`, or needing `libc.so.6`), such as glibc
//!   folders copied in from Debian or sgerrand's glibc packages, are found by glibc's loader with
//!   its own rules (`/etc/ld.so.cache`, its default folders), not musl's: their libraries are not
//!   looked for, and one note says how many there are. Their loader must still exist: a glibc
//!   program without `/lib64/ld-linux-x86-64.so.2` is named.
//!
//!   ```text
//!   alpine-strip: note: 1 glibc objects passed over (/app/node_modules/koffi/build/koffi/linux_x64/koffi.node): glibc's loader finds their libraries, by its own rules; only their loader was looked for
//!   ```
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
//! alpine-strip --check --root rootfs --entrypoint /app/run.py \
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
//! ## The report
//!
//! `--dry-run` names the same programs against the plan, changing nothing. The human report fits
//! a screen: one line a program the user starts that will not start, naming its first missing
//! piece and its cause (removed by this strip, with the package that owned it, from the apk
//! database, or already missing before; `-v` lists every missing piece; JSON lists them all, with
//! `cause` and `package`); one line for the scripts apk installed that need a shell; one line a
//! library tree:
//!
//! ```text
//! alpine-strip: warning: missing-interpreter /docker-entrypoint.sh: #!/bin/sh\r (the #! line ends in CR: saved with Windows line ends) was already missing
//! alpine-strip: warning: missing-interpreter /usr/local/bin/app: #!/bin/sh is removed by the strip (busybox-binsh)
//! alpine-strip: warning: missing-library /usr/local/bin/fetcher: libapk.so.2.14.0 is removed by the strip (apk-tools)
//! alpine-strip: note: 2 scripts apk installed need a shell or env, which a distroless image has not, and cannot run (/sbin/ldconfig, /usr/bin/ldd; #!/bin/sh is removed by the strip (busybox-binsh))
//! alpine-strip: note: /usr/lib/python3.12: 301 scripts of this library tree will not start (nobody starts them by path; -v lists them), e.g. /usr/lib/python3.12/mod0.py: #!/usr/bin/env is removed by the strip (busybox applet link)
//! ```
//!
//! A tree with one dead script names it on its own line, as a note (`note: missing-interpreter
//! /docker-entrypoint.d/10-listen.sh: #!/bin/sh is removed by the strip (busybox-binsh) (a script
//! of a library tree, /docker-entrypoint.d: nobody starts it by path)`); a script that a warning
//! already named through its link (`/usr/local/bin/tool -> /opt/tool/tool.js`) is not named again
//! (JSON keeps both).
//!
//! A library tree is a script's path up to the first folder below `/usr`, `/usr/local`, `/opt` and
//! their `lib`, `lib64`, `lib32`, `libexec` and `share` (`/usr/local/lib/python3.11`,
//! `/usr/lib/node_modules`, `/app`). `tests/it/screen.rs` strips such an image (300 stdlib-like
//! scripts, numpy's wheel, three dead programs of the author's, a CRLF entrypoint) in a RUN step,
//! then runs every program in the bin folders and at the root in the stripped tree: the programs
//! that fail to start are exactly those the report names.
//!
//! ## Entrypoints
//!
//! `--entrypoint PATH` or `NAME` (repeatable) names the programs the image must be able to start.
//! A name without a slash is what a Dockerfile's `ENTRYPOINT ["docker-entrypoint.sh"]` says (the
//! node, redis and postgres images): it is looked up on the image's `PATH` as runc looks it up
//! (the first folder holding an executable file of that name), and the report says where:
//!
//! ```text
//! alpine-strip: entrypoint docker-entrypoint.sh: /usr/local/bin/docker-entrypoint.sh (found on PATH)
//! ```
//!
//! Entrypoints are checked against the plan before the first removal: if the strip (or `--prune`)
//! would break one, or the path does not exist in the root or is not an executable file, or a
//! name is on no folder of `PATH`, nothing is removed and the run ends with exit 4 and one line:
//!
//! ```text
//! alpine-strip: error: /docker-entrypoint.sh: #!/bin/sh is removed by the strip (busybox-binsh); nothing was removed
//! alpine-strip: error: docker-entrypoint.sh: the entrypoint is not on PATH (/opt/bin:/bin): no executable file of that name; nothing was removed
//! ```
//!
//! An entrypoint's interpreters are checked in turn (a `#!/usr/bin/env node` script needs node to
//! start too). With `--prune`, the packages owning what the entrypoints use (their interpreters,
//! env's program, every library they load) stay, as `--keep` keeps them: `--prune --entrypoint
//! /usr/local/bin/app` keeps libssl3 for an application that links it. With `--check`, the
//! entrypoints are checked against the tree as it is.
//!
//! ## What it cannot see
//!
//! Programs started by name from code (`child_process.spawn("sh")`, `os.system`, `exec.Command`),
//! `sh -c` inside an application, libraries opened with `dlopen` by name (koffi, ctypes), and an
//! environment set at run time (`docker run -e`, an entrypoint script's `export`). The run says so
//! where it matters: a strip that removed a shell, or libraries with `--prune`, ends with one note
//! naming them and pointing at `--keep` and `--entrypoint`:
//!
//! ```text
//! alpine-strip: note: once stripped, a program that asks by name at run time for the shell /bin/sh (and 1 more name for it) or the libraries of libcrypto3, libssl3, zlib (sh -c, system(), dlopen, ctypes) fails, and no audit sees it; keep a package with --prune --keep NAME, name the programs you start with --entrypoint
//! ```
//!
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
//! dependencies. On 3.23.3 `libapk` (its own package) leaves with the strip, named once among the
//! packages the database drops, and OpenSSL and zlib with `--prune` (which does not list libapk
//! again among what it pruned). The
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
