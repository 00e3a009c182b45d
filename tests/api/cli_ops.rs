//! Operating a node with the real binary: `maillage init` (a new node in one command)
//! and `maillage backup --output FILE` (an online copy of the database; the backup
//! folder and the restore are in `restore.rs`).

use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::cli::{fails, ok, run_with_input};
use std::time::{Duration, Instant};

const PASSWORD: &str = "un mot de passe solide";

/// The binary in `dir` with a clean environment plus `env`, `input` on standard input.
pub(crate) fn maillage(dir: &Path, env: &[(&str, &str)], args: &[&str], input: &str) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_maillage"));
    command
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("MAILLAGE_LOG__LEVEL", "warn")
        .envs(env.iter().copied());
    run_with_input(command, input)
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn init_creates_a_node_and_refuses_to_run_twice() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], input: &str| maillage(dir.path(), &[], args, input);
    let init = [
        "init",
        "--domain",
        "mairie.example.fr",
        "--insee",
        "59378",
        "--admin-user",
        "marie",
    ];

    // Arguments are checked before anything is written.
    let error = fails(run(&["init", "--domain", "https://x.fr/"], ""));
    assert!(error.contains("n'est pas un nom d'hôte"), "{error}");
    let error = fails(run(
        &["init", "--domain", "mairie.example.fr", "--insee", "99999"],
        "",
    ));
    assert!(error.contains("99999"), "{error}");
    let error = fails(run(&init, "court\n"));
    assert!(error.contains("12 caractères"), "{error}");
    assert!(files(dir.path()).is_empty(), "{:?}", files(dir.path()));

    let out = ok(run(&init, &format!("{PASSWORD}\n")));
    assert!(out.contains("maillage serve"), "{out}");
    assert!(
        out.contains("https://mairie.example.fr/admin/connexion"),
        "{out}"
    );
    assert!(out.contains("@marcq-en-baroeul@mairie.example.fr"), "{out}");
    assert_eq!(files(dir.path()), ["maillage.db", "maillage.toml"]);

    // A commented configuration, this node's values set.
    let config = std::fs::read_to_string(dir.path().join("maillage.toml")).unwrap();
    for line in [
        "domain = \"mairie.example.fr\"",
        "bind = \"127.0.0.1:8080\"",
        "url = \"sqlite://maillage.db\"",
        "debug = false",
        "# Public domain of the node",
        "[delivery]",
    ] {
        assert!(
            config.lines().any(|l| l.starts_with(line)),
            "{line}\n{config}"
        );
    }

    // The other commands find the node through the file: the collectivité and the
    // account exist.
    let listed = ok(run(&["collectivite", "list"], ""));
    assert_eq!(
        listed,
        "marcq-en-baroeul\t59378\tMarcq-en-Barœul\thttps://mairie.example.fr/actors/marcq-en-baroeul\n"
    );
    let error = fails(run(
        &[
            "user",
            "create",
            "--username",
            "marie",
            "--collectivite",
            "marcq-en-baroeul",
        ],
        &format!("{PASSWORD}\n"),
    ));
    assert!(error.contains("déjà pris"), "{error}");

    // Never twice: the configuration stays as it was.
    let error = fails(run(&init, &format!("{PASSWORD}\n")));
    assert!(error.contains("maillage.toml existe déjà"), "{error}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("maillage.toml")).unwrap(),
        config
    );
    assert_eq!(ok(run(&["collectivite", "list"], "")), listed);

    // Nor over an existing database: nothing is left behind.
    std::fs::remove_file(dir.path().join("maillage.toml")).unwrap();
    let error = fails(run(
        &[
            "init",
            "--domain",
            "autre.example.fr",
            "--insee",
            "59350",
            "--username",
            "lille",
        ],
        "",
    ));
    assert!(error.contains("une base de données existe déjà"), "{error}");
    assert!(!dir.path().join("maillage.toml").exists());
    assert_eq!(ok(run(&["collectivite", "list"], "")), listed);

    // Elsewhere, --config names the file and --username the collectivité; without
    // --admin-user the next steps say how to create an account.
    let other = tempfile::tempdir().unwrap();
    let out = ok(maillage(
        other.path(),
        &[],
        &[
            "--config",
            "node.toml",
            "init",
            "--domain",
            "lille.example.fr",
            "--insee",
            "59350",
            "--username",
            "ville",
        ],
        "",
    ));
    assert!(out.contains("maillage --config node.toml serve"), "{out}");
    assert!(
        out.contains("maillage user create --username LOGIN --collectivite ville"),
        "{out}"
    );
    let listed = ok(maillage(
        other.path(),
        &[],
        &["--config", "node.toml", "collectivite", "list"],
        "",
    ));
    assert!(listed.starts_with("ville\t59350\tLille\t"), "{listed}");
}

/// Waits until a server answers on `port`.
pub(crate) fn wait_for(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn backup_copies_a_sqlite_database_while_the_node_runs() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("node.db").display());
    let env = [
        ("MAILLAGE_DATABASE__URL", url.as_str()),
        ("MAILLAGE_DOMAIN", "localhost:8181"),
        ("MAILLAGE_FEDERATION__DEBUG", "true"),
    ];
    let run = |args: &[&str]| maillage(dir.path(), &env, args, "");

    // Nothing to back up yet: said, and no database is created for it.
    let error = fails(run(&["backup", "--output", "copy.db"]));
    assert!(error.contains("aucune base SQLite"), "{error}");
    assert!(files(dir.path()).is_empty(), "{:?}", files(dir.path()));

    ok(run(&["migrate"]));
    ok(run(&[
        "collectivite",
        "create",
        "--username",
        "marcq",
        "--insee",
        "59378",
    ]));
    let action = dir.path().join("action.json");
    std::fs::write(
        &action,
        r#"{"name": "Médiation numérique itinérante", "content": "Un bus numérique.", "themes": ["solidarites"], "location": [{"insee": "59378"}]}"#,
    )
    .unwrap();
    ok(run(&[
        "action",
        "create",
        "--collectivite",
        "marcq",
        action.to_str().unwrap(),
    ]));

    // The node runs (it keeps the database open in WAL mode); a second action is
    // written meanwhile, so that it is still in the -wal file when the copy is made.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bind = format!("127.0.0.1:{port}");
    let mut server = Command::new(env!("CARGO_BIN_EXE_maillage"))
        .arg("serve")
        .current_dir(dir.path())
        .env_clear()
        .envs(env.iter().copied())
        .env("MAILLAGE_BIND", &bind)
        .env("MAILLAGE_LOG__LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(port);
    std::fs::write(
        &action,
        r#"{"name": "Tiers-lieu numérique", "content": "Un lieu ouvert.", "themes": ["solidarites"], "location": [{"insee": "59378"}]}"#,
    )
    .unwrap();
    ok(run(&[
        "action",
        "create",
        "--collectivite",
        "marcq",
        action.to_str().unwrap(),
    ]));
    let collectivites = ok(run(&["collectivite", "list"]));
    let actions = ok(run(&["action", "list", "--collectivite", "marcq"]));
    assert_eq!(actions.lines().count(), 2, "{actions}");

    let out = ok(run(&["backup", "--output", "copy.db"]));
    let copy = dir.path().join("copy.db");
    assert_eq!(
        Path::new(out.trim()),
        copy.canonicalize().unwrap(),
        "the path of the copy is printed"
    );
    // Refused over an existing file, which stays as it was.
    let written = std::fs::read(&copy).unwrap();
    let error = fails(run(&["backup", "--output", "copy.db"]));
    assert!(error.contains("existe déjà"), "{error}");
    assert_eq!(std::fs::read(&copy).unwrap(), written);
    let error = fails(run(&["backup", "--output", "absent/copy.db"]));
    assert!(error.contains("absent"), "{error}");
    let _ = server.kill();
    let _ = server.wait();

    // A standalone file (no -wal needed), readable by its owner only, that opens as a
    // node's database with the same collectivités and actions.
    assert!(!dir.path().join("copy.db-wal").exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&copy).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    let copy_url = format!("sqlite://{}", copy.display());
    let from_copy = |args: &[&str]| {
        ok(maillage(
            dir.path(),
            &[
                ("MAILLAGE_DATABASE__URL", copy_url.as_str()),
                ("MAILLAGE_DOMAIN", "localhost:8181"),
                ("MAILLAGE_FEDERATION__DEBUG", "true"),
            ],
            args,
            "",
        ))
    };
    assert_eq!(from_copy(&["collectivite", "list"]), collectivites);
    assert_eq!(
        from_copy(&["action", "list", "--collectivite", "marcq"]),
        actions
    );
}

#[test]
fn backup_file_on_postgres_is_a_pg_dump_archive() {
    crate::helpers::with_postgres_schema("backup_on_postgres", |url| {
        let dir = tempfile::tempdir().unwrap();
        let env = [
            ("MAILLAGE_DATABASE__URL", url),
            ("MAILLAGE_DOMAIN", "localhost:8181"),
            ("MAILLAGE_FEDERATION__DEBUG", "true"),
        ];
        let run = |args: &[&str]| maillage(dir.path(), &env, args, "");
        ok(run(&["migrate"]));
        ok(run(&[
            "collectivite",
            "create",
            "--username",
            "marcq",
            "--insee",
            "59378",
        ]));

        // Without PostgreSQL's client programs: said, and nothing is left behind.
        let mut no_tools = env.to_vec();
        no_tools.push(("PATH", "/nonexistent"));
        let error = fails(maillage(
            dir.path(),
            &no_tools,
            &["backup", "--output", "copy.dump"],
            "",
        ));
        assert!(error.contains("pg_dump introuvable"), "{error}");
        assert!(!dir.path().join("copy.dump").exists());

        // A file: the pg_dump archive alone (custom format), owner only, that
        // pg_restore reads, with the node's schema and rows.
        let out = ok(run(&["backup", "--output", "copy.dump"]));
        let copy = dir.path().join("copy.dump");
        assert_eq!(Path::new(out.trim()), copy.canonicalize().unwrap());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&copy).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        }
        let listed = Command::new("pg_restore")
            .arg("--list")
            .arg(&copy)
            .output()
            .unwrap();
        assert!(listed.status.success(), "{listed:?}");
        let listed = String::from_utf8(listed.stdout).unwrap();
        assert!(listed.contains("TABLE DATA"), "{listed}");
        assert!(listed.contains(" actors "), "{listed}");
        let error = fails(run(&["backup", "--output", "copy.dump"]));
        assert!(error.contains("existe déjà"), "{error}");
    });
}
