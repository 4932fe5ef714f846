//! What the app pays for, read off `Cargo.lock`: one version of each crate of the HTTP and
//! TLS stack (one reqwest, one hyper, one rustls, …), and no OpenSSL anywhere (every
//! outbound connection is rustls).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

/// Every locked package: name → versions.
fn locked() -> BTreeMap<String, Vec<String>> {
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock")).unwrap();
    let mut packages: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut name = None;
    for line in lock.lines() {
        if let Some(n) = line.strip_prefix("name = ") {
            name = Some(n.trim_matches('"').to_owned());
        } else if let (Some(v), Some(n)) = (line.strip_prefix("version = "), name.take()) {
            packages
                .entry(n)
                .or_default()
                .push(v.trim_matches('"').to_owned());
        }
    }
    packages
}

#[test]
fn one_version_of_each_http_and_tls_crate() {
    let packages = locked();
    for name in [
        "reqwest",
        "hyper",
        "hyper-util",
        "h2",
        "http",
        "rustls",
        "tokio-rustls",
        "tonic",
    ] {
        let versions = packages.get(name).cloned().unwrap_or_default();
        assert!(
            versions.len() <= 1,
            "{name} is locked at {versions:?}: one version only"
        );
    }
    assert_eq!(
        packages["reqwest"].len(),
        1,
        "the engine sends over reqwest"
    );
}

#[test]
fn no_openssl() {
    let packages = locked();
    for name in [
        "openssl",
        "openssl-sys",
        "native-tls",
        "hyper-tls",
        "tokio-native-tls",
    ] {
        assert!(
            !packages.contains_key(name),
            "{name} is in Cargo.lock: TLS is rustls only"
        );
    }
}
