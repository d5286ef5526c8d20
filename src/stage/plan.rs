//! The plan: every removal in the order the strip makes them, and the bytes they free.
//!
//! Order: applet links, apk, ssl_client, other files of the packages removed by definition,
//! files of the packages `--prune` removes, busybox and its hard links, the binary itself. Links go first so that no moment leaves a link whose target is
//! already gone but the link still there for longer than it must; busybox goes last but one so
//! that a failure part-way leaves a working busybox. A path is planned once.

use std::path::PathBuf;

use crate::error::Result;
use crate::root::{FileKind, InRoot, PathSet, Root};
use crate::stage::discover::{Found, Item};

/// Why a path is removed; the order of the variants is the order of removal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StepKind {
    /// A symlink that ends at busybox.
    AppletLink,
    /// apk or its library.
    Apk,
    /// busybox wget's TLS helper.
    SslClient,
    /// A file only the packages removed by definition own.
    PackageFile,
    /// A file of a package `--prune` removes that no staying package owns.
    PrunedFile,
    /// A busybox binary or one of its hard links.
    Busybox,
    /// The running binary.
    SelfExe,
}

impl StepKind {
    /// Every kind, in removal order.
    pub const ALL: [StepKind; 7] = [
        StepKind::AppletLink,
        StepKind::Apk,
        StepKind::SslClient,
        StepKind::PackageFile,
        StepKind::PrunedFile,
        StepKind::Busybox,
        StepKind::SelfExe,
    ];

    /// The name of one such path, for people.
    pub fn noun(self) -> &'static str {
        match self {
            StepKind::AppletLink => "applet link",
            StepKind::Apk => "apk",
            StepKind::SslClient => "ssl_client",
            StepKind::PackageFile => "package file",
            StepKind::PrunedFile => "pruned file",
            StepKind::Busybox => "busybox",
            StepKind::SelfExe => "itself",
        }
    }

    /// The JSON key of the list of such paths.
    pub fn label(self) -> &'static str {
        match self {
            StepKind::AppletLink => "applet_links",
            StepKind::Apk => "apk",
            StepKind::SslClient => "ssl_client",
            StepKind::PackageFile => "package_files",
            StepKind::PrunedFile => "pruned_files",
            StepKind::Busybox => "busybox",
            StepKind::SelfExe => "self",
        }
    }
}

/// One removal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// Why the path goes.
    pub kind: StepKind,
    /// The path and its facts.
    pub item: Item,
}

/// All removals, in order.
#[derive(Debug, Default)]
pub struct Plan {
    /// Every removal, in removal order.
    pub steps: Vec<Step>,
}

impl Plan {
    /// Plans the removal of what discovery found, the files only the packages removed by
    /// definition own (`package_files`, as the database names them), those of the packages
    /// `--prune` removes (`pruned_files`) and the running binary.
    pub fn build(
        root: &mut Root,
        found: &Found,
        package_files: &[PathBuf],
        pruned_files: &[PathBuf],
        me: Option<Item>,
    ) -> Result<Plan> {
        let found_items = found.links.len() + found.apk.len() + found.ssl_client.len();
        let claims = found_items + found.busybox.len() + package_files.len() + pruned_files.len();
        let mut steps: Vec<Step> = Vec::with_capacity(claims + 1);
        let mut add = |kind: StepKind, items: &[Item]| {
            for item in items {
                let item = item.clone();
                steps.push(Step { kind, item });
            }
        };
        add(StepKind::AppletLink, &found.links);
        add(StepKind::Apk, &found.apk);
        add(StepKind::SslClient, &found.ssl_client);
        add(StepKind::Busybox, &found.busybox);
        add(StepKind::SelfExe, me.as_slice());
        let files = package_files.iter().map(|f| (StepKind::PackageFile, f));
        for (kind, f) in files.chain(pruned_files.iter().map(|f| (StepKind::PrunedFile, f))) {
            let Some(real) = root.resolve_parent(f)? else {
                continue;
            };
            match root.lstat(&real)? {
                Some(meta) if meta.kind != FileKind::Dir => steps.push(Step {
                    kind,
                    item: Item { path: real, meta },
                }),
                _ => {}
            }
        }
        // The first kind that claims a path wins; package files come last among claims.
        let mut first = Vec::with_capacity(steps.len());
        let mut seen = PathSet::with_capacity(steps.len());
        for s in &steps {
            first.push(seen.insert(s.item.path.as_os_str()));
        }
        drop(seen);
        let mut first = first.into_iter();
        steps.retain(|_| first.next().unwrap_or(false));
        // Into removal order: the busybox binaries and this one, planned before the files so
        // that they win their claims, go after them (the rest is in order already).
        let mine = steps.iter().position(|s| s.kind >= StepKind::Busybox);
        let mine = mine.unwrap_or(steps.len());
        let files = steps[mine..]
            .iter()
            .take_while(|s| s.kind >= StepKind::Busybox);
        let files = mine + files.count();
        steps[mine..].rotate_left(files - mine);
        Ok(Plan { steps })
    }

    /// Bytes the removals free: the size of every regular file whose last link goes.
    pub fn bytes_freed(&self) -> u64 {
        bytes_freed(&self.steps)
    }

    /// Every planned path, as a set.
    pub fn paths(&self) -> PathSet<'_> {
        paths(&self.steps)
    }

    /// The folders the removals write to, but for the binary's own (its removal may fail).
    pub fn folders(&self) -> Vec<InRoot> {
        // One path per folder (its folder's bytes the key), then that folder: one allocation
        // a folder, not a removal.
        let mut paths: Vec<(&[u8], &InRoot)> = Vec::new();
        for s in &self.steps {
            if let (true, Some(folder)) = (s.kind != StepKind::SelfExe, s.item.path.folder()) {
                paths.push((folder, &s.item.path));
            }
        }
        paths.sort_unstable_by(|a, b| a.0.cmp(b.0));
        paths.dedup_by(|a, b| a.0 == b.0);
        let mut folders = Vec::with_capacity(paths.len());
        for (_, p) in paths {
            folders.extend(p.parent());
        }
        folders
    }
}

/// The paths of `steps`, as a set.
pub fn paths(steps: &[Step]) -> PathSet<'_> {
    let mut paths = PathSet::with_capacity(steps.len());
    for s in steps {
        paths.insert(s.item.path.as_os_str());
    }
    paths
}

/// The size of every regular file among the items of `steps` all of whose links are among
/// them.
pub fn bytes_freed(steps: &[Step]) -> u64 {
    // (device, inode, links, size) of each regular file, sorted: the links of one file are
    // next to each other.
    let mut files: Vec<(u64, u64, u64, u64)> = steps
        .iter()
        .map(|s| &s.item)
        .filter(|i| i.meta.kind == FileKind::File)
        .map(|i| (i.meta.dev, i.meta.ino, i.meta.nlink, i.meta.size))
        .collect();
    files.sort_unstable();
    files
        .chunk_by(|a, b| (a.0, a.1) == (b.0, b.1))
        .filter(|same| same.len() as u64 >= same[0].2)
        .map(|same| same[0].3)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::root::Meta;

    fn item(path: &str, kind: FileKind, ino: u64, nlink: u64, size: u64) -> Item {
        Item {
            path: InRoot::unchecked(path),
            meta: Meta {
                kind,
                dev: 1,
                ino,
                nlink,
                size,
                mode: 0o755,
                uid: 0,
                gid: 0,
                pinned: false,
                mount_root: false,
                mount: 1,
            },
        }
    }

    #[test]
    fn orders_by_kind_and_plans_each_path_once() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("etc")).unwrap();
        std::fs::write(t.path().join("etc/securetty"), b"tty1\n").unwrap();
        let mut root = Root::open(t.path()).unwrap();
        let found = Found {
            busybox: vec![item("bin/busybox", FileKind::File, 1, 1, 800)],
            links: vec![item("bin/ls", FileKind::Symlink, 2, 1, 12)],
            apk: vec![item("sbin/apk", FileKind::File, 3, 1, 70)],
            ssl_client: vec![],
            loops: vec![],
        };
        let files = [
            PathBuf::from("bin/busybox"),
            PathBuf::from("etc/securetty"),
            PathBuf::from("etc/gone"),
        ];
        let plan = Plan::build(&mut root, &found, &files, &[], None).unwrap();
        let got: Vec<(StepKind, String)> = plan
            .steps
            .iter()
            .map(|s| (s.kind, s.item.path.display().to_string()))
            .collect();
        assert_eq!(
            got,
            vec![
                (StepKind::AppletLink, "bin/ls".into()),
                (StepKind::Apk, "sbin/apk".into()),
                (StepKind::PackageFile, "etc/securetty".into()),
                (StepKind::Busybox, "bin/busybox".into()),
            ]
        );
        assert_eq!(plan.bytes_freed(), 800 + 70 + 5);
        let folders: Vec<InRoot> = ["bin", "etc", "sbin"].map(InRoot::unchecked).into();
        assert_eq!(plan.folders(), folders);
    }

    #[test]
    fn a_file_counts_only_when_its_last_link_goes() {
        let a = item("bin/busybox", FileKind::File, 9, 2, 1000);
        let b = item("usr/bin/bb", FileKind::File, 9, 2, 1000);
        let step = |item: &Item| Step {
            kind: StepKind::Busybox,
            item: item.clone(),
        };
        assert_eq!(bytes_freed(&[step(&a)]), 0);
        assert_eq!(bytes_freed(&[step(&a), step(&b)]), 1000);
        let l = item("bin/ls", FileKind::Symlink, 4, 1, 12);
        assert_eq!(bytes_freed(&[step(&l)]), 0);
    }
}
