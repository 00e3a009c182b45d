//! Files that hold secrets (issue 14 point 6, issue 13 point 12, SPEC §11): the SQLite
//! database and its `-wal`/`-shm`, the configuration `init` writes and backups are
//! created `0600`, folders Maillage creates `0700`, whatever the umask (here the usual
//! `022`, which gave `0644` before).
#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::cli::ok;
use crate::strict_config::{free_port, terminate, wait_ready};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// The binary under `umask 022`, in `dir`, with `env`.
fn command(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Command {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg("umask 022 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_maillage"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("MAILLAGE_LOG__LEVEL", "warn")
        .envs(env.iter().copied())
        .stdin(Stdio::null());
    command
}

fn run(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    command(dir, env, args).output().unwrap()
}

/// Point 12: `maillage init` writes its configuration and database for its owner only.
#[test]
fn key_files_private_after_init() {
    let dir = tempfile::tempdir().unwrap();
    ok(run(
        dir.path(),
        &[],
        &["init", "--domain", "mairie.example.fr", "--insee", "59378"],
    ));
    assert_eq!(mode(&dir.path().join("maillage.toml")), 0o600);
    for name in ["maillage.db", "maillage.db-wal", "maillage.db-shm"] {
        let file = dir.path().join(name);
        if name == "maillage.db" || file.exists() {
            assert_eq!(mode(&file), 0o600, "{name}");
        }
    }
}

/// Point 12: `maillage serve` creates its database and folder private, and backups
/// stay private.
#[test]
fn key_files_private_when_serving_and_in_backups() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let data = dir.path().join("data");
    let url = format!("sqlite://{}", data.join("node.db").display());
    let (domain, bind) = (format!("localhost:{port}"), format!("127.0.0.1:{port}"));
    let env = [
        ("MAILLAGE_DATABASE__URL", url.as_str()),
        ("MAILLAGE_DOMAIN", domain.as_str()),
        ("MAILLAGE_BIND", bind.as_str()),
        ("MAILLAGE_FEDERATION__DEBUG", "true"),
    ];
    let server = command(dir.path(), &env, &["serve"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_ready(port);
    // While the node runs, in WAL mode, the -wal and -shm files exist beside the file.
    let modes: Vec<(String, u32)> = ["", "/node.db", "/node.db-wal", "/node.db-shm"]
        .iter()
        .map(|name| {
            let path = format!("{}{name}", data.display());
            (name.to_string(), mode(Path::new(&path)))
        })
        .collect();
    let backup = run(dir.path(), &env, &["backup", "--output", "copy.db"]);
    let output = terminate(server);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        modes,
        [
            ("".to_string(), 0o700),
            ("/node.db".to_string(), 0o600),
            ("/node.db-wal".to_string(), 0o600),
            ("/node.db-shm".to_string(), 0o600),
        ]
    );
    ok(backup);
    assert_eq!(mode(&dir.path().join("copy.db")), 0o600);
}
