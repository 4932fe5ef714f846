//! Whether the studio opens a window or runs headless, decided per OS in a plain function
//! (tested here for every OS's inputs).

/// Whether there is a desktop session to open a window on: always on Windows and macOS
/// (where an app the user starts has one; a service or a remote shell passes
/// `--headless`), and elsewhere (Linux, the BSDs) when `DISPLAY` or `WAYLAND_DISPLAY`
/// names one. `os` is `std::env::consts::OS`; `var` reads the environment.
pub(crate) fn has_display(os: &str, var: impl Fn(&str) -> Option<String>) -> bool {
    match os {
        "windows" | "macos" => true,
        _ => ["DISPLAY", "WAYLAND_DISPLAY"]
            .iter()
            .any(|name| var(name).is_some_and(|value| !value.trim().is_empty())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn windows_and_macos_always_have_a_desktop() {
        assert!(has_display("windows", env(&[])));
        assert!(has_display("macos", env(&[])));
    }

    #[test]
    fn linux_and_the_bsds_need_an_x11_or_wayland_display() {
        assert!(!has_display("linux", env(&[])));
        assert!(!has_display("linux", env(&[("DISPLAY", "")])));
        assert!(has_display("linux", env(&[("DISPLAY", ":99")])));
        assert!(has_display(
            "freebsd",
            env(&[("WAYLAND_DISPLAY", "wayland-0")])
        ));
    }
}
