//! What the tool knows of a filesystem object without following it: its kind and the `lstat`
//! (`statx`) facts it uses. A leaf of the root's modules: the listings, the walk and the root
//! itself build these.

/// What kind of filesystem object a path is, without following it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// A folder.
    Dir,
    /// A regular file.
    File,
    /// A symbolic link.
    Symlink,
    /// Anything else: a device, a FIFO, a socket.
    Other,
}

impl FileKind {
    /// The kind an `st_mode` names.
    pub fn of_mode(mode: u32) -> FileKind {
        match mode & nix::libc::S_IFMT {
            nix::libc::S_IFLNK => FileKind::Symlink,
            nix::libc::S_IFDIR => FileKind::Dir,
            nix::libc::S_IFREG => FileKind::File,
            _ => FileKind::Other,
        }
    }
}

/// The `lstat` facts the tool uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Meta {
    /// What kind of object.
    pub kind: FileKind,
    /// The device it lies on.
    pub dev: u64,
    /// Its inode number.
    pub ino: u64,
    /// How many hard links it has.
    pub nlink: u64,
    /// Its size in bytes.
    pub size: u64,
    /// Its `st_mode` (type and permission bits).
    pub mode: u32,
    /// Its owner's user id.
    pub uid: u32,
    /// Its group id.
    pub gid: u32,
    /// Immutable or append-only (`chattr +i`/`+a`): not even root can unlink it, nor, for a
    /// folder, an entry of it.
    pub pinned: bool,
    /// The root of a mount (a file bind-mounted in by the engine): not part of the image.
    pub mount_root: bool,
    /// The id of the mount it was reached through (`STATX_MNT_ID`); 0 where the kernel does
    /// not say (before Linux 5.8).
    pub mount: u64,
}

impl Meta {
    /// What a listing says of a symlink it saw, without an `lstat`: a symlink's own inode,
    /// size and links matter to nothing here (it frees no file's bytes, it cannot be made
    /// immutable, nothing is mounted on it).
    pub fn symlink() -> Meta {
        Meta {
            kind: FileKind::Symlink,
            dev: 0,
            ino: 0,
            nlink: 1,
            size: 0,
            mode: 0o120777,
            uid: 0,
            gid: 0,
            pinned: false,
            mount_root: false,
            mount: 0,
        }
    }

    /// The facts a `statx` gave.
    pub fn from_statx(st: &nix::libc::statx) -> Self {
        let pinned = (nix::libc::STATX_ATTR_IMMUTABLE | nix::libc::STATX_ATTR_APPEND) as u64;
        let mode = u32::from(st.stx_mode);
        Meta {
            kind: FileKind::of_mode(mode),
            dev: nix::libc::makedev(st.stx_dev_major, st.stx_dev_minor),
            ino: st.stx_ino,
            nlink: u64::from(st.stx_nlink),
            size: st.stx_size,
            mode,
            uid: st.stx_uid,
            gid: st.stx_gid,
            pinned: st.stx_attributes & pinned != 0,
            mount_root: st.stx_attributes & nix::libc::STATX_ATTR_MOUNT_ROOT as u64 != 0,
            mount: if st.stx_mask & nix::libc::STATX_MNT_ID != 0 {
                st.stx_mnt_id
            } else {
                0
            },
        }
    }

    /// Whether this object lies on the same mount as `other` (by mount id; by device where the
    /// kernel gives no mount id: a bind mount from the same filesystem then goes unseen).
    pub fn same_mount(&self, other: &Meta) -> bool {
        if self.mount != 0 && other.mount != 0 {
            self.mount == other.mount
        } else {
            self.dev == other.dev
        }
    }

    /// The (device, inode) pair that identifies the object.
    pub fn id(&self) -> (u64, u64) {
        (self.dev, self.ino)
    }
}

/// Where a symlink ends, without the path: what discovery needs of 300 applet links (see
/// [`crate::root::Root::link_end`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// An object that is not a symlink.
    Found(Meta),
    /// The chain ends at nothing.
    Missing,
    /// More than [`crate::root::resolve::MAX_HOPS`] links.
    Loop,
}
