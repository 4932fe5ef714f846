//! What differs between Windows, macOS and Linux, as plain functions of the OS and of what
//! it reports, so that their tests run here for every OS: where executables live, which
//! network interface is the loopback, when two disk entries are one disk.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

/// A desktop OS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    /// Windows.
    Windows,
    /// macOS.
    MacOs,
    /// Linux and the other Unix systems.
    Linux,
}

impl Os {
    /// The OS this runs on.
    pub fn current() -> Self {
        if cfg!(windows) {
            Self::Windows
        } else if cfg!(target_os = "macos") {
            Self::MacOs
        } else {
            Self::Linux
        }
    }

    /// Joins path parts with this OS's separator.
    fn join(self, parts: &[&str]) -> PathBuf {
        let separator = if self == Self::Windows { "\\" } else { "/" };
        PathBuf::from(parts.join(separator))
    }
}

/// Whether the network interface `name` (as sysinfo lists it) is the loopback: `lo` on
/// Linux, `lo0` on macOS, "Loopback Pseudo-Interface 1" on Windows. Its traffic never
/// leaves the machine, so the network counters leave it out.
///
/// # Examples
/// ```
/// use telemetry_engine::platform::{is_loopback_interface, Os};
/// assert!(is_loopback_interface("lo0", Os::MacOs));
/// assert!(!is_loopback_interface("en0", Os::MacOs));
/// ```
pub fn is_loopback_interface(name: &str, os: Os) -> bool {
    match os {
        Os::Linux => name == "lo",
        Os::MacOs => name
            .strip_prefix("lo")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())),
        Os::Windows => name.to_ascii_lowercase().starts_with("loopback"),
    }
}

/// Where FFmpeg is commonly installed on `os` besides the directories of `PATH` (read
/// through `var`): a macOS app started from the Finder gets a `PATH` without Homebrew's
/// or MacPorts' directories, and Windows installers rarely add themselves to `PATH`.
///
/// # Examples
/// ```
/// use telemetry_engine::platform::{ffmpeg_dirs, Os};
/// let dirs = ffmpeg_dirs(Os::MacOs, |_| None);
/// assert_eq!(dirs[0], std::path::Path::new("/opt/homebrew/bin"));
/// ```
pub fn ffmpeg_dirs(os: Os, var: impl Fn(&str) -> Option<String>) -> Vec<PathBuf> {
    match os {
        Os::MacOs => ["/opt/homebrew/bin", "/usr/local/bin", "/opt/local/bin"]
            .map(PathBuf::from)
            .to_vec(),
        Os::Linux => ["/usr/local/bin", "/usr/bin", "/snap/bin"]
            .map(PathBuf::from)
            .to_vec(),
        Os::Windows => {
            let under = |var_name: &str, parts: &[&str]| {
                var(var_name).filter(|v| !v.is_empty()).map(|base| {
                    let mut all = vec![base.as_str()];
                    all.extend_from_slice(parts);
                    os.join(&all)
                })
            };
            [
                under("ProgramFiles", &["ffmpeg", "bin"]),
                under("ProgramFiles(x86)", &["ffmpeg", "bin"]),
                under("LOCALAPPDATA", &["Microsoft", "WinGet", "Links"]),
                under("ProgramData", &["chocolatey", "bin"]),
                under("USERPROFILE", &["scoop", "shims"]),
                Some(os.join(&["C:", "ffmpeg", "bin"])),
            ]
            .into_iter()
            .flatten()
            .collect()
        }
    }
}

/// A search path: the directories of `path` (the `PATH` variable), then `extra`.
pub fn search_path(path: Option<&OsStr>, extra: &[PathBuf]) -> Option<OsString> {
    let listed = path.map(std::env::split_paths).into_iter().flatten();
    std::env::join_paths(listed.chain(extra.iter().cloned())).ok()
}

/// The executable `name` in the directories of `path`, then of `extra` (with the
/// `PATHEXT` extensions on Windows: `ffmpeg` finds `ffmpeg.exe`); a `name` with a
/// directory in it is taken as it is, if it is a file (on Windows also with `.exe`
/// added when it has no extension: `C:\ffmpeg\bin\ffmpeg`).
pub fn find_executable(name: &Path, path: Option<&OsStr>, extra: &[PathBuf]) -> Option<PathBuf> {
    if name.components().count() > 1 {
        return executable_files(name, Os::current())
            .into_iter()
            .find(|file| file.is_file());
    }
    let cwd = std::env::current_dir().unwrap_or_default();
    which::which_in(name, search_path(path, extra), cwd).ok()
}

/// The files a path to an executable may name on `os`: itself, and on Windows, when it
/// has no extension, the same with `.exe`.
fn executable_files(name: &Path, os: Os) -> Vec<PathBuf> {
    let mut files = vec![name.to_path_buf()];
    if os == Os::Windows && name.extension().is_none() {
        files.push(name.with_extension("exe"));
    }
    files
}

/// Where Tauri puts the sidecar `name` (`bundle.externalBin`) of the app whose executable
/// is `exe`: beside it, with `.exe` on Windows. That is the app's folder on Windows and in
/// a Linux package, `Contents/MacOS` of the macOS bundle, and `target/<profile>` in
/// development (where tauri-build copies it without its target triple).
///
/// # Examples
/// ```
/// use telemetry_engine::platform::{sidecar_path, Os};
/// let exe = r"C:\Program Files\Studio\studio.exe";
/// assert_eq!(
///     sidecar_path(exe, "ffmpeg", Os::Windows).unwrap().to_str(),
///     Some(r"C:\Program Files\Studio\ffmpeg.exe")
/// );
/// let exe = "/Applications/Studio.app/Contents/MacOS/studio";
/// assert_eq!(
///     sidecar_path(exe, "ffmpeg", Os::MacOs).unwrap().to_str(),
///     Some("/Applications/Studio.app/Contents/MacOS/ffmpeg")
/// );
/// ```
pub fn sidecar_path(exe: &str, name: &str, os: Os) -> Option<PathBuf> {
    let cut = if os == Os::Windows {
        exe.rfind(['\\', '/'])
    } else {
        exe.rfind('/')
    }?;
    let file = if os == Os::Windows && !name.to_ascii_lowercase().ends_with(".exe") {
        format!("{name}.exe")
    } else {
        name.to_owned()
    };
    Some(os.join(&[&exe[..cut], &file]))
}

/// The mount point of the file system that holds `path` (an absolute, canonical path):
/// on Windows its volume's root (`C:\`, or `\\server\share\` for a network share);
/// elsewhere the highest ancestor on the same device as `path` (`device` gives a path's
/// device number, `st_dev`), which is how `df` finds it. `None` when `path` is relative or
/// its device cannot be read.
///
/// # Examples
/// ```
/// use std::path::Path;
/// use telemetry_engine::platform::{mount_point, Os};
/// // /tmp is a tmpfs of its own (device 2), the rest is on device 1.
/// let device = |p: &Path| Some(if p.starts_with("/tmp") { 2 } else { 1 });
/// assert_eq!(mount_point("/tmp/cache", Os::Linux, device).as_deref(), Some(Path::new("/tmp")));
/// assert_eq!(mount_point(r"D:\Renders\out.mp4", Os::Windows, |_| None).as_deref(), Some(Path::new(r"D:\")));
/// ```
pub fn mount_point(path: &str, os: Os, device: impl Fn(&Path) -> Option<u64>) -> Option<PathBuf> {
    if os == Os::Windows {
        return windows_volume_root(path).map(PathBuf::from);
    }
    let path = Path::new(path);
    if !path.is_absolute() {
        return None;
    }
    let dev = device(path)?;
    let mut mount = path;
    while let Some(parent) = mount.parent() {
        if device(parent) != Some(dev) {
            break;
        }
        mount = parent;
    }
    Some(mount.to_path_buf())
}

/// `path` without a Windows verbatim prefix: `\\?\UNC\server\share\…` as
/// `\\server\share\…`, `\\?\C:\…` as `C:\…`, the forms the OS lists mount points in.
/// Canonicalising gives the verbatim form for a share (`dunce` shortens only a drive's
/// short paths), and a mount point would never be its prefix. Any other path as it is.
pub(crate) fn without_verbatim_prefix(path: &str) -> std::borrow::Cow<'_, str> {
    match path.strip_prefix(r"\\?\UNC\") {
        Some(rest) => format!(r"\\{rest}").into(),
        None => path.strip_prefix(r"\\?\").unwrap_or(path).into(),
    }
}

/// `C:\` of `C:\…`, `\\server\share\` of a UNC path (also behind `\\?\`).
fn windows_volume_root(path: &str) -> Option<String> {
    let path = without_verbatim_prefix(path);
    let bytes = path.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return Some(format!(r"{}\", &path[..2]));
    }
    let share = path.strip_prefix(r"\\")?;
    let mut parts = share.split(['\\', '/']).filter(|p| !p.is_empty());
    let (server, name) = (parts.next()?, parts.next()?);
    Some(format!(r"\\{server}\{name}\"))
}

/// Whether a process's executable file name `running` is the executable `wanted`: on
/// Windows without regard to case and with or without `.exe`; elsewhere exactly.
///
/// # Examples
/// ```
/// use telemetry_engine::platform::{executable_matches, Os};
/// assert!(executable_matches("FFmpeg.exe", "ffmpeg", Os::Windows));
/// assert!(!executable_matches("FFmpeg", "ffmpeg", Os::Linux));
/// ```
pub fn executable_matches(running: &str, wanted: &str, os: Os) -> bool {
    if os != Os::Windows {
        return running == wanted;
    }
    let stem = |name: &str| {
        let lower = name.to_ascii_lowercase();
        match lower.strip_suffix(".exe") {
            Some(stem) => stem.to_owned(),
            None => lower,
        }
    };
    stem(running) == stem(wanted)
}

/// What makes two entries of the disk list one disk: the device on Linux (a device
/// mounted twice, by a bind mount, is one disk) unless it is no device at all (`tmpfs`,
/// `overlay`: each mount its own); the mount point elsewhere (volume labels repeat:
/// two USB sticks called "Untitled", Windows volumes without a label).
///
/// # Examples
/// ```
/// use telemetry_engine::platform::{disk_key, Os};
/// assert_eq!(disk_key("/dev/sda1", "/home", Os::Linux), "/dev/sda1");
/// assert_eq!(disk_key("tmpfs", "/run", Os::Linux), "/run");
/// assert_eq!(disk_key("Untitled", "/Volumes/Untitled 1", Os::MacOs), "/Volumes/Untitled 1");
/// ```
pub fn disk_key<'a>(name: &'a str, mount_point: &'a str, os: Os) -> &'a str {
    if os == Os::Linux && name.starts_with("/dev/") {
        name
    } else {
        mount_point
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loopback_of_each_os() {
        for (name, os, loopback) in [
            ("lo", Os::Linux, true),
            ("eth0", Os::Linux, false),
            ("lo0", Os::Linux, false),
            ("lo0", Os::MacOs, true),
            ("lo", Os::MacOs, false),
            ("en0", Os::MacOs, false),
            ("low0", Os::MacOs, false),
            ("Loopback Pseudo-Interface 1", Os::Windows, true),
            ("Ethernet", Os::Windows, false),
            ("Wi-Fi", Os::Windows, false),
        ] {
            assert_eq!(
                is_loopback_interface(name, os),
                loopback,
                "{name} on {os:?}"
            );
        }
    }

    #[test]
    fn the_mount_point_of_a_path_on_every_os() {
        // Linux: / on device 1, /home on 2, /tmp a tmpfs on 3, /mnt/nas an NFS share on 4.
        let device = |p: &Path| {
            let p = p.to_str()?;
            Some(match p {
                _ if p.starts_with("/home") => 2,
                _ if p.starts_with("/tmp") => 3,
                _ if p.starts_with("/mnt/nas") => 4,
                _ => 1,
            })
        };
        for (path, mount) in [
            ("/home/ana/Videos/cut.mov", "/home"),
            ("/tmp/studio-cache", "/tmp"),
            ("/mnt/nas/renders", "/mnt/nas"),
            ("/usr/share", "/"),
            ("/", "/"),
        ] {
            assert_eq!(
                mount_point(path, Os::Linux, device),
                Some(PathBuf::from(mount)),
                "{path}"
            );
        }
        assert_eq!(mount_point("relative/path", Os::Linux, device), None);
        assert_eq!(mount_point("/gone", Os::MacOs, |_| None), None);
        let volumes = |p: &Path| Some(u64::from(p.starts_with("/Volumes/Media")));
        assert_eq!(
            mount_point("/Volumes/Media/Project", Os::MacOs, volumes),
            Some(PathBuf::from("/Volumes/Media"))
        );
        for (path, root) in [
            (r"C:\Users\ana\Videos", Some(r"C:\")),
            (r"\\?\D:\Renders", Some(r"D:\")),
            (r"\\nas\renders\2026\cut.mp4", Some(r"\\nas\renders\")),
            (r"\\?\UNC\nas\renders\cut.mp4", Some(r"\\nas\renders\")),
            ("renders", None),
        ] {
            let found = mount_point(path, Os::Windows, |_| None);
            assert_eq!(found.as_deref().and_then(Path::to_str), root, "{path}");
        }
    }

    #[test]
    fn a_sidecar_sits_beside_the_app_executable_on_every_os() {
        for (exe, os, sidecar) in [
            (
                r"C:\Users\ana\AppData\Local\Studio\studio.exe",
                Os::Windows,
                Some(r"C:\Users\ana\AppData\Local\Studio\ffmpeg.exe"),
            ),
            (
                "C:/dev/studio/target/debug/studio.exe",
                Os::Windows,
                Some("C:/dev/studio/target/debug\\ffmpeg.exe"),
            ),
            (
                "/Applications/Studio.app/Contents/MacOS/Studio",
                Os::MacOs,
                Some("/Applications/Studio.app/Contents/MacOS/ffmpeg"),
            ),
            ("/usr/bin/studio", Os::Linux, Some("/usr/bin/ffmpeg")),
            (
                "/tmp/.mount_StudioX1/usr/bin/studio",
                Os::Linux,
                Some("/tmp/.mount_StudioX1/usr/bin/ffmpeg"),
            ),
            ("studio", Os::Linux, None),
        ] {
            let found = sidecar_path(exe, "ffmpeg", os);
            assert_eq!(
                found.as_deref().and_then(Path::to_str),
                sidecar,
                "{exe} on {os:?}"
            );
        }
        assert_eq!(
            sidecar_path(r"D:\S\s.exe", "ffmpeg.exe", Os::Windows)
                .as_deref()
                .and_then(Path::to_str),
            Some(r"D:\S\ffmpeg.exe")
        );
    }

    #[test]
    fn ffmpeg_is_also_looked_for_where_each_os_installs_it() {
        let env = |name: &str| match name {
            "ProgramFiles" => Some(r"C:\Program Files".to_owned()),
            "LOCALAPPDATA" => Some(r"C:\Users\ana\AppData\Local".to_owned()),
            "USERPROFILE" => Some(String::new()),
            _ => None,
        };
        let windows: Vec<String> = ffmpeg_dirs(Os::Windows, env)
            .into_iter()
            .map(|p| p.display().to_string())
            .collect();
        assert_eq!(
            windows,
            [
                r"C:\Program Files\ffmpeg\bin",
                r"C:\Users\ana\AppData\Local\Microsoft\WinGet\Links",
                r"C:\ffmpeg\bin"
            ]
        );
        let mac = ffmpeg_dirs(Os::MacOs, |_| None);
        assert!(mac.contains(&PathBuf::from("/opt/homebrew/bin")));
        assert!(mac.contains(&PathBuf::from("/usr/local/bin")));
        assert!(ffmpeg_dirs(Os::Linux, |_| None).contains(&PathBuf::from("/snap/bin")));
    }

    #[test]
    fn the_search_path_lists_path_first_then_the_extra_directories() {
        let path = std::env::join_paths(["/a", "/b"]).unwrap();
        let joined = search_path(Some(&path), &[PathBuf::from("/opt/homebrew/bin")]).unwrap();
        let dirs: Vec<PathBuf> = std::env::split_paths(&joined).collect();
        assert_eq!(
            dirs,
            ["/a", "/b", "/opt/homebrew/bin"]
                .map(PathBuf::from)
                .to_vec()
        );
        let only_extra = search_path(None, &[PathBuf::from("/x")]).unwrap();
        assert_eq!(only_extra, OsString::from("/x"));
    }

    #[cfg(unix)]
    #[test]
    fn an_executable_is_found_on_path_then_in_the_extra_directories() {
        use std::os::unix::fs::PermissionsExt as _;
        let on_path = tempfile::tempdir().unwrap();
        let extra = tempfile::tempdir().unwrap();
        let put = |dir: &Path, mode: u32| {
            let file = dir.join("ffmpeg");
            std::fs::write(&file, "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
            file
        };
        let in_extra = put(extra.path(), 0o755);
        let path = std::env::join_paths([on_path.path()]).unwrap();
        let extras = [extra.path().to_path_buf()];
        let name = Path::new("ffmpeg");
        assert_eq!(find_executable(name, Some(&path), &extras), Some(in_extra));
        // PATH comes first; a file that cannot be run is passed over.
        let first = put(on_path.path(), 0o755);
        assert_eq!(
            find_executable(name, Some(&path), &extras),
            Some(first.clone())
        );
        std::fs::set_permissions(&first, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_ne!(find_executable(name, Some(&path), &extras), Some(first));
        assert_eq!(
            find_executable(Path::new("no-such-tool"), Some(&path), &extras),
            None
        );
    }

    #[test]
    fn verbatim_windows_paths_take_the_form_mount_points_are_listed_in() {
        for (given, plain) in [
            (r"\\?\UNC\nas\renders\proj", r"\\nas\renders\proj"),
            (
                r"\\?\C:\Renders\a very long path",
                r"C:\Renders\a very long path",
            ),
            (r"C:\Renders", r"C:\Renders"),
            (r"\\nas\renders", r"\\nas\renders"),
            ("/home/user/renders", "/home/user/renders"),
        ] {
            assert_eq!(without_verbatim_prefix(given), plain);
        }
        // The share's mount point, as the disk list gives it, is now a prefix.
        let path = without_verbatim_prefix(r"\\?\UNC\nas\renders\proj");
        let root = windows_volume_root(&path).unwrap();
        assert_eq!(root, r"\\nas\renders\");
        assert!(path.starts_with(root.trim_end_matches('\\')));
    }

    #[test]
    fn a_path_to_an_executable_may_leave_out_exe_on_windows() {
        let windows = executable_files(Path::new(r"C:\ffmpeg\bin\ffmpeg"), Os::Windows);
        assert_eq!(
            windows,
            [r"C:\ffmpeg\bin\ffmpeg", r"C:\ffmpeg\bin\ffmpeg.exe"].map(PathBuf::from)
        );
        let named = executable_files(Path::new(r"C:\ffmpeg\bin\ffmpeg.exe"), Os::Windows);
        assert_eq!(named, [PathBuf::from(r"C:\ffmpeg\bin\ffmpeg.exe")]);
        for os in [Os::MacOs, Os::Linux] {
            let unix = executable_files(Path::new("/opt/ffmpeg/bin/ffmpeg"), os);
            assert_eq!(unix, [PathBuf::from("/opt/ffmpeg/bin/ffmpeg")]);
        }
    }

    #[test]
    fn disks_are_one_when_their_key_is() {
        assert_eq!(disk_key("/dev/nvme0n1p2", "/", Os::Linux), "/dev/nvme0n1p2");
        assert_eq!(
            disk_key("/dev/nvme0n1p2", "/var/lib/docker", Os::Linux),
            "/dev/nvme0n1p2",
            "a bind mount of the same device"
        );
        assert_ne!(
            disk_key("tmpfs", "/run", Os::Linux),
            disk_key("tmpfs", "/dev/shm", Os::Linux)
        );
        assert_ne!(
            disk_key("", r"C:\", Os::Windows),
            disk_key("", r"D:\", Os::Windows),
            "volumes without a label"
        );
        assert_ne!(
            disk_key("Untitled", "/Volumes/Untitled", Os::MacOs),
            disk_key("Untitled", "/Volumes/Untitled 1", Os::MacOs)
        );
    }
}
