//! No phantom node (issue 14 point 3, SPEC §11): only `serve`, `init`, `migrate` and
//! `demo` create a database; any other command run where none exists exits 1, creates
//! nothing and says which configuration and which database it looked for. Every
//! command says on standard error which configuration and database it uses, and `init`
//! writes the database URL it was given.

use crate::cli::{fails, ok};
use crate::strict_config::maillage;

/// Commands that need an existing node (none may create it).
const NEED_A_NODE: [&[&str]; 10] = [
    &["collectivite", "list"],
    &[
        "collectivite",
        "create",
        "--username",
        "marcq",
        "--insee",
        "59378",
    ],
    &["token", "create", "--admin"],
    &["user", "create", "--username", "marie", "--admin"],
    &["action", "list", "--collectivite", "marcq"],
    &["export", "--format", "csv"],
    &["import", "--collectivite", "marcq", "absent.csv"],
    &["follow", "acct:x@example.org"],
    &["worker", "--once"],
    &["domains", "list"],
];

fn refused_without_a_node(database_url: &str, nothing_created: &dyn Fn()) {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("MAILLAGE_DATABASE__URL", database_url),
        ("MAILLAGE_DOMAIN", "localhost:8181"),
        ("MAILLAGE_FEDERATION__DEBUG", "true"),
    ];
    for args in NEED_A_NODE {
        let error = fails(maillage(dir.path(), &env, args, "un mot de passe solide\n"));
        let first = error.lines().next().unwrap_or_default();
        assert!(
            first.starts_with(
                "configuration : aucun fichier (valeurs par défaut) + MAILLAGE_DATABASE__URL"
            ) && first.contains(&format!(" · base : {database_url}")),
            "{args:?}: {error}"
        );
        assert!(
            error.contains("aucune base de données Maillage"),
            "{args:?}: {error}"
        );
        assert!(error.contains("maillage init"), "{args:?}: {error}");
        nothing_created();
    }
    // migrate may create it; then the same commands find the node.
    let out = ok(maillage(dir.path(), &env, &["migrate"], ""));
    assert!(out.contains("migrations appliquées"), "{out}");
    ok(maillage(dir.path(), &env, &["collectivite", "list"], ""));
}

#[test]
fn commands_create_no_sqlite_database() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("node.db");
    let url = format!("sqlite://{}", file.display());
    refused_without_a_node(&url, &|| {
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(names.is_empty(), "{names:?}");
    });
    assert!(file.exists());
}

#[test]
fn commands_create_no_postgres_schema() {
    crate::helpers::with_postgres_schema("commands_create_no_postgres_schema", |url| {
        refused_without_a_node(url, &|| assert_eq!(schema_tables(url), 0));
        assert!(schema_tables(url) > 0);
    });
}

/// How many tables the schema of `url` (from [`crate::helpers::with_postgres_schema`])
/// holds.
fn schema_tables(url: &str) -> i64 {
    let base = crate::helpers::postgres_url().unwrap();
    let schema = url.rsplit("search_path%3D").next().unwrap().to_string();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let pool = sqlx::PgPool::connect(&base).await.unwrap();
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = $1",
        )
        .bind(&schema)
        .fetch_one(&pool)
        .await
        .unwrap();
        pool.close().await;
        n
    })
}

/// `init --username dep-59` (issue 15): a group's name is refused by the profile's
/// validation, before the configuration or the database is written.
fn init_refuses_a_group_name(database_url: Option<&str>, nothing_created: &dyn Fn()) {
    for username in ["dep-59", "reg-32", "education"] {
        let dir = tempfile::tempdir().unwrap();
        let mut args = vec![
            "init",
            "--domain",
            "mairie.example.fr",
            "--insee",
            "59378",
            "--username",
            username,
        ];
        args.extend(
            database_url
                .map(|url| ["--database-url", url])
                .into_iter()
                .flatten(),
        );
        let error = fails(maillage(dir.path(), &[], &args, ""));
        assert!(
            error.contains(&format!(
                "« {username} » est réservé aux fils thématiques et territoriaux de l'annuaire"
            )),
            "{username}: {error}"
        );
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(names.is_empty(), "{username}: {names:?}");
        nothing_created();
    }
}

#[test]
fn init_refuses_a_group_name_before_writing_sqlite() {
    init_refuses_a_group_name(None, &|| {});
}

#[test]
fn init_refuses_a_group_name_before_writing_postgres() {
    crate::helpers::with_postgres_schema(
        "init_refuses_a_group_name_before_writing_postgres",
        |url| init_refuses_a_group_name(Some(url), &|| assert_eq!(schema_tables(url), 0)),
    );
}

/// The case: an admin command run in the wrong folder printed a valid-looking
/// token from a fresh `./maillage.db`.
#[test]
fn a_command_in_the_wrong_folder_names_what_it_looked_for() {
    let node = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    ok(maillage(
        node.path(),
        &[],
        &["init", "--domain", "mairie.example.fr", "--insee", "59378"],
        "",
    ));
    let output = maillage(elsewhere.path(), &[], &["token", "create", "--admin"], "");
    assert!(output.stdout.is_empty(), "no token printed");
    let error = fails(output);
    let db = elsewhere.path().join("maillage.db");
    assert!(
        error.contains("configuration : aucun fichier (valeurs par défaut)"),
        "{error}"
    );
    assert!(error.contains(&format!("« {} »", db.display())), "{error}");
    assert!(error.contains("« sqlite://maillage.db »"), "{error}");
    assert!(
        std::fs::read_dir(elsewhere.path())
            .unwrap()
            .next()
            .is_none()
    );

    // In the node's folder: the line names its file and database; stdout keeps the
    // token as its last line.
    let output = maillage(node.path(), &[], &["token", "create", "--admin"], "");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let stdout = ok(output);
    assert!(
        stdout.lines().last().unwrap().starts_with("mai_"),
        "{stdout}"
    );
    let config = node.path().join("maillage.toml").canonicalize().unwrap();
    assert!(
        stderr.starts_with(&format!(
            "configuration : {} · base : sqlite://maillage.db ({})\n",
            config.display(),
            node.path().join("maillage.db").display()
        )),
        "{stderr}"
    );
}

/// `init` writes the database URL it is given (`--database-url`, or the variable
/// without its password) into the configuration, which other commands then use with
/// no variable set.
#[test]
fn init_writes_the_database_url_it_was_given() {
    crate::helpers::with_postgres_schema("init_writes_the_database_url_it_was_given", |url| {
        let dir = tempfile::tempdir().unwrap();
        let out = ok(maillage(
            dir.path(),
            &[],
            &[
                "init",
                "--domain",
                "mairie.example.fr",
                "--insee",
                "59378",
                "--database-url",
                url,
            ],
            "",
        ));
        assert!(out.contains("marcq-en-baroeul"), "{out}");
        let config: toml::Table = std::fs::read_to_string(dir.path().join("maillage.toml"))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(config["database"]["url"].as_str(), Some(url));
        assert!(!dir.path().join("maillage.db").exists());
        let listed = ok(maillage(dir.path(), &[], &["collectivite", "list"], ""));
        assert!(listed.starts_with("marcq-en-baroeul\t59378\t"), "{listed}");
    });
}

#[test]
fn init_writes_the_variable_without_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("data.db");
    let url = format!("sqlite://{}", file.display());
    ok(maillage(
        dir.path(),
        &[("MAILLAGE_DATABASE__URL", &url)],
        &["init", "--domain", "mairie.example.fr"],
        "",
    ));
    let config: toml::Table = std::fs::read_to_string(dir.path().join("maillage.toml"))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(config["database"]["url"].as_str(), Some(url.as_str()));
    assert!(file.exists() && !dir.path().join("maillage.db").exists());

    // A password given in the variable stays there, out of the file (the test server
    // trusts local connections, so any password signs in).
    crate::helpers::with_postgres_schema("init_writes_the_variable_without_its_password", |url| {
        let Some(with_password) = url
            .strip_prefix("postgres://postgres@")
            .map(|rest| format!("postgres://postgres:tres-secret@{rest}"))
        else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let output = maillage(
            dir.path(),
            &[("MAILLAGE_DATABASE__URL", &with_password)],
            &["init", "--domain", "mairie.example.fr"],
            "",
        );
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        ok(output);
        assert!(!stderr.contains("tres-secret"), "{stderr}");
        assert!(stderr.contains("sans mot de passe"), "{stderr}");
        let text = std::fs::read_to_string(dir.path().join("maillage.toml")).unwrap();
        assert!(!text.contains("tres-secret"), "{text}");
        let config: toml::Table = text.parse().unwrap();
        assert_eq!(config["database"]["url"].as_str(), Some(url));
    });
}
