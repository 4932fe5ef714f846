//! A JSON-lines file that rotates by size.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::config::FileExporterConfig;

/// Appends lines to `path`; when the next line would pass `max_bytes`, the file becomes
/// `path.1` (older ones shift to `.2`, …, keeping `max_files`) and a new one starts.
#[derive(Debug)]
pub(crate) struct RotatingFile {
    path: PathBuf,
    max_bytes: u64,
    max_files: u32,
    writer: Option<BufWriter<File>>,
    size: u64,
}

impl RotatingFile {
    pub(crate) fn new(config: &FileExporterConfig) -> Self {
        Self {
            path: PathBuf::from(&config.path),
            max_bytes: config.max_file_bytes,
            max_files: config.max_files,
            writer: None,
            size: 0,
        }
    }

    fn open(&mut self) -> io::Result<&mut BufWriter<File>> {
        if self.writer.is_none() {
            if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                fs::create_dir_all(dir)?;
            }
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?;
            self.size = file.metadata()?.len();
            self.writer = Some(BufWriter::new(file));
        }
        self.writer
            .as_mut()
            .ok_or_else(|| io::Error::other("file writer missing after open"))
    }

    /// Writes `line` and a newline, rotating first if needed, then flushes. After an error
    /// the part of the line that reached the file is cut off again (a full disk takes
    /// part of a line), so the file holds whole lines only, and the file is reopened on
    /// the next write, so that a fault that ends (a full or read-only disk, a removed
    /// directory) ends the failures too.
    pub(crate) fn write_line(&mut self, line: &str) -> io::Result<()> {
        let written = self.append(line);
        if written.is_err() {
            self.discard();
        }
        written
    }

    /// Drops the writer without writing what it buffers, and cuts the file back to the
    /// last whole line.
    fn discard(&mut self) {
        if let Some(writer) = self.writer.take() {
            let (file, _unwritten) = writer.into_parts();
            // Truncating frees space: it works on a full disk. On a read-only one nothing
            // was written, and there is nothing to cut.
            let _ = file.set_len(self.size);
        }
    }

    fn append(&mut self, line: &str) -> io::Result<()> {
        let len = line.len() as u64 + 1;
        if self.writer.is_some() && self.size > 0 && self.size + len > self.max_bytes {
            self.rotate()?;
        }
        let writer = self.open()?;
        writer.write_all(line.as_bytes())?;
        writer.write_all(b"\n")?;
        writer.flush()?;
        self.size += len;
        Ok(())
    }

    fn rotate(&mut self) -> io::Result<()> {
        if let Some(mut w) = self.writer.take() {
            w.flush()?;
        }
        if self.max_files == 0 {
            fs::remove_file(&self.path)?;
        } else {
            for i in (1..self.max_files).rev() {
                let from = numbered(&self.path, i);
                if from.exists() {
                    fs::rename(&from, numbered(&self.path, i + 1))?;
                }
            }
            fs::rename(&self.path, numbered(&self.path, 1))?;
        }
        self.size = 0;
        Ok(())
    }

    /// Flushes buffered bytes to the file.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        let flushed = match self.writer.as_mut() {
            Some(w) => w.flush(),
            None => Ok(()),
        };
        if flushed.is_err() {
            self.discard();
        }
        flushed
    }
}

fn numbered(path: &Path, n: u32) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(path: &Path, max_file_bytes: u64, max_files: u32) -> FileExporterConfig {
        FileExporterConfig {
            path: path.display().to_string(),
            max_file_bytes,
            max_files,
        }
    }

    #[test]
    fn rotation_keeps_every_line_within_the_file_budget() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs/metrics.json");
        let mut file = RotatingFile::new(&config(&path, 100, 50));
        for i in 0..40 {
            file.write_line(&format!("{{\"n\":{i:04}}}")).unwrap();
        }
        file.flush().unwrap();
        let mut lines = Vec::new();
        for n in (1..=50).rev() {
            if let Ok(text) = fs::read_to_string(numbered(&path, n)) {
                assert!(text.len() <= 100, "rotated file over budget");
                lines.extend(text.lines().map(str::to_owned));
            }
        }
        lines.extend(
            fs::read_to_string(&path)
                .unwrap()
                .lines()
                .map(str::to_owned),
        );
        let want: Vec<String> = (0..40).map(|i| format!("{{\"n\":{i:04}}}")).collect();
        assert_eq!(lines, want);
    }

    /// A 16 KiB tmpfs mounted for the test, unmounted when dropped.
    struct SmallDisk(tempfile::TempDir);

    impl SmallDisk {
        fn mount() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let mounted = std::process::Command::new("mount")
                .args(["-t", "tmpfs", "-o", "size=16k", "tmpfs"])
                .arg(dir.path())
                .status()
                .is_ok_and(|s| s.success());
            assert!(
                mounted,
                "mounting a 16 KiB tmpfs needs root (as in make test's CI)"
            );
            Self(dir)
        }
    }

    impl Drop for SmallDisk {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount")
                .arg(self.0.path())
                .status();
        }
    }

    #[test]
    fn a_full_disk_leaves_only_whole_lines_in_the_file() {
        let disk = SmallDisk::mount();
        let path = disk.0.path().join("metrics.json");
        let mut file = RotatingFile::new(&config(&path, 1 << 30, 0));
        let line = format!("{{\"pad\":\"{}\"}}", "x".repeat(1000));
        let mut failed = false;
        for _ in 0..100 {
            if file.write_line(&line).is_err() {
                failed = true;
                break;
            }
        }
        assert!(failed, "the 16 KiB disk filled up");
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.ends_with('\n'), "a half-written line stayed behind");
        assert!(text.lines().all(|l| l == line));
        // Once there is room again, writing goes on with whole lines.
        fs::write(&path, "").unwrap();
        file.write_line(&line).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), format!("{line}\n"));
    }

    #[test]
    fn old_files_beyond_max_files_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.json");
        let mut file = RotatingFile::new(&config(&path, 20, 2));
        for _ in 0..10 {
            file.write_line("0123456789abcdef").unwrap();
        }
        assert!(numbered(&path, 2).exists());
        assert!(!numbered(&path, 3).exists());
    }
}
