//! Unit tests of loading and checking the settings.

use std::path::Path;

use super::load::*;
use super::log::*;
use super::*;

#[test]
fn defaults_are_valid() {
    let settings = Settings::default();
    settings.validate().unwrap();
    assert_eq!(settings.base_url().as_str(), "https://localhost:8080/");
}

#[test]
fn map_providers_and_contact_are_checked() {
    let mut settings = Settings::default();
    assert!(settings.map.tiles().is_none(), "no third party by default");
    settings.map.tile_url = "https://tuiles.example.fr/{z}/{x}/{y}.png".into();
    let error = settings.validate().unwrap_err().to_string();
    assert!(error.contains("map.provider = \"custom\""), "{error}");
    settings.map.provider = Some(TileProvider::Custom);
    let error = settings.validate().unwrap_err().to_string();
    assert!(error.contains("map.attribution est obligatoire"), "{error}");
    settings.map.attribution = "© Tuiles".into();
    settings.validate().unwrap();
    let (_, _, notice) = settings.map.for_pages();
    assert!(notice.contains("le serveur tuiles.example.fr"), "{notice}");
    settings.map.tile_url = "http://tuiles.example.fr/tuile.png".into();
    assert!(
        settings.validate().is_err(),
        "https with {{z}}/{{x}}/{{y}} only"
    );

    let mut settings = Settings::default();
    settings.map.provider = Some(TileProvider::Ign);
    settings.validate().unwrap();
    assert!(settings.map.tiles().unwrap().url.contains("PLANIGNV2"));

    for (contact, valid) in [
        ("accessibilite@ville.fr", true),
        ("https://ville.fr/contact", true),
        ("ville.fr", false),
        ("ftp://ville.fr", false),
        ("a b@ville.fr", false),
    ] {
        let mut settings = Settings::default();
        settings.node.contact = contact.into();
        assert_eq!(settings.validate().is_ok(), valid, "{contact}");
    }
}

#[test]
fn debug_is_refused_for_public_domains() {
    let mut settings = Settings {
        domain: "annuaire.example.fr".into(),
        ..Settings::default()
    };
    settings.federation.debug = true;
    let error = settings.validate().unwrap_err().to_string();
    assert!(error.contains("réservé au développement"), "{error}");
    settings.domain = "localhost:9000".into();
    settings.validate().unwrap();
    assert_eq!(settings.base_url().as_str(), "http://localhost:9000/");
}

#[test]
fn bad_domains_are_refused() {
    for domain in ["https://ex.fr", "ex.fr/path", "", "user@ex.fr"] {
        let settings = Settings {
            domain: domain.into(),
            ..Settings::default()
        };
        assert!(settings.validate().is_err(), "{domain}");
    }
}

#[test]
fn delivery_batch_is_bounded() {
    for (batch, valid) in [
        (0, false),
        (1, true),
        (MAX_DELIVERY_BATCH, true),
        (5000, false),
    ] {
        let mut settings = Settings::default();
        settings.delivery.batch = batch;
        assert_eq!(settings.validate().is_ok(), valid, "batch {batch}");
    }
}

#[test]
fn password_hashing_needs_a_slot() {
    let mut settings = Settings::default();
    settings.limits.password_hashes = 0;
    assert!(settings.validate().is_err());
}

#[test]
fn header_read_timeout_is_bounded() {
    for (secs, valid) in [(0, false), (1, true), (300, true), (301, false)] {
        let mut settings = Settings::default();
        settings.http.header_read_timeout_secs = secs;
        assert_eq!(settings.validate().is_ok(), valid, "{secs} s");
    }
}

#[test]
fn blocked_domains_cover_subdomains() {
    let blocked = vec!["spam.example".to_string()];
    assert!(domain_listed(&blocked, "spam.example"));
    assert!(domain_listed(&blocked, "a.spam.example:8443"));
    assert!(domain_listed(&blocked, "SPAM.example."));
    assert!(!domain_listed(&blocked, "notspam.example"));
}

#[test]
fn passwords_are_redacted() {
    assert_eq!(
        redact("postgres://u:secret@db/maillage"),
        "postgres://u:***@db/maillage"
    );
}

/// Loads `text` as a configuration file (no variable is set by the unit tests).
fn load_text(text: &str) -> Result<Loaded, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("maillage.toml");
    std::fs::write(&path, text).unwrap();
    Settings::load_with_source(Some(&path))
}

#[test]
fn unknown_keys_are_refused_with_the_closest_key() {
    for (text, named, hint) in [
        (
            "[federaton]\ndebug = true\n",
            "« federaton »",
            "« federation »",
        ),
        (
            "[database]\nmax_conections = 3\n",
            "« database.max_conections »",
            "« database.max_connections »",
        ),
        ("domaine = \"x.fr\"\n", "« domaine »", "« domain »"),
    ] {
        let error = load_text(text).unwrap_err().message;
        assert!(error.contains(named), "{error}");
        assert!(
            error.contains(&format!("vouliez-vous dire {hint}")),
            "{error}"
        );
        assert!(error.contains("maillage.toml"), "{error}");
    }
}

#[test]
fn wrong_types_are_refused_naming_the_key() {
    for (text, key) in [
        (
            "[database]\nmax_connections = \"huit\"\n",
            "database.max_connections",
        ),
        ("[delivery]\nbatch = -1\n", "delivery.batch"),
        ("[federation]\ndebug = \"oui\"\n", "federation.debug"),
        ("federation = 3\n", "federation"),
        (
            "[limits]\ntrusted_proxies = [\"proxy\"]\n",
            "limits.trusted_proxies",
        ),
    ] {
        let error = load_text(text).unwrap_err().message;
        assert!(
            error.starts_with(&format!("configuration refusée : {key}")),
            "{error}"
        );
    }
    let error = load_text("domain = \"x\n").unwrap_err().message;
    assert!(error.contains("illisible"), "{error}");
}

#[test]
fn log_levels_are_checked() {
    for level in [
        "info",
        "WARN",
        "off",
        "maillage=debug,info",
        "warn,maillage::federation::delivery=debug",
        "info,sqlx=warn",
    ] {
        check_log_level(level).unwrap_or_else(|e| panic!("{level}: {e}"));
    }
    for level in ["warning", "", "maillage", "=info", "info,verbose", "Error!"] {
        assert!(check_log_level(level).is_err(), "{level}");
    }
    let error = load_text("[log]\nlevel = \"warning\"\n").unwrap_err();
    assert!(error.message.contains("log.level"), "{}", error.message);
    assert!(error.message.contains("« warn »"), "{}", error.message);
    assert!(!error.json_logs);
    // The refusal is written as JSON when the configuration asks for JSON logs.
    let error = load_text("[log]\nformat = \"json\"\nlevel = \"warning\"\n").unwrap_err();
    assert!(error.json_logs);
}

#[test]
fn variables_that_are_settings() {
    for (name, key) in [
        ("MAILLAGE_DATABASE__URL", Some("database.url")),
        ("MAILLAGE_DOMAIN", Some("domain")),
        ("maillage_bind", Some("bind")),
        ("MAILLAGE_FEDERATON__DEBUG", Some("federaton.debug")),
        ("MAILLAGE_TEST_DATABASE_URL", None),
        ("MAILLAGE_REQUIRE_BROWSER", None),
        ("MAILLAGE_CONFIG", None),
        ("MAILLAGE_DATABASE", None),
        ("OTHER__DOMAIN", None),
    ] {
        assert_eq!(env_key(name).as_deref(), key, "{name}");
    }
}

#[test]
fn default_ports_are_dropped_from_the_domain() {
    for (text, domain) in [
        (
            "domain = \"Annuaire.Example.fr:443\"\n",
            "annuaire.example.fr",
        ),
        (
            "domain = \"annuaire.example.fr:80\"\n",
            "annuaire.example.fr:80",
        ),
        ("domain = \"localhost:8080\"\n", "localhost:8080"),
        (
            "domain = \"localhost:80\"\n[federation]\ndebug = true\n",
            "localhost",
        ),
        (
            "domain = \"localhost:443\"\n[federation]\ndebug = true\n",
            "localhost:443",
        ),
    ] {
        let loaded = load_text(text).unwrap();
        assert_eq!(loaded.settings.domain, domain, "{text}");
    }
}

#[test]
fn admission_defaults_to_verified_and_is_strict() {
    let settings = Settings::default();
    assert_eq!(settings.aggregator.admission, Admission::Verified);
    assert_eq!(
        settings.aggregator.effective_admission(),
        Admission::Open,
        "a node that is not an aggregator lists what it follows"
    );
    let loaded = load_text("[aggregator]\nenabled = true\n").unwrap();
    assert_eq!(
        loaded.settings.aggregator.effective_admission(),
        Admission::Verified
    );
    for (text, admission) in [
        ("open", Admission::Open),
        ("verified", Admission::Verified),
        ("manual", Admission::Manual),
    ] {
        let loaded = load_text(&format!("[aggregator]\nadmission = \"{text}\"\n")).unwrap();
        assert_eq!(loaded.settings.aggregator.admission, admission);
        assert_eq!(admission.as_str(), text);
    }
    let error = load_text("[aggregator]\nadmission = \"tous\"\n")
        .unwrap_err()
        .to_string();
    assert!(error.contains("admission"), "{error}");
    let error = load_text("[aggregator]\nmax_actors_per_domain = -1\n")
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("aggregator.max_actors_per_domain"),
        "{error}"
    );
}

#[test]
fn the_example_configuration_loads_strictly() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/maillage.example.toml");
    let loaded = Settings::load_with_source(Some(&example)).unwrap();
    assert_eq!(
        loaded.file.as_deref(),
        Some(example.canonicalize().unwrap().as_path())
    );
}

#[test]
fn secrets_are_redacted_for_display() {
    let mut settings = Settings::default();
    settings.database.url = "postgres://u:secret@db/maillage".into();
    settings.smtp.username = "annuaire".into();
    settings.smtp.password = "motdepasse-smtp".into();
    let shown = toml::to_string(&settings.redacted()).unwrap();
    assert!(!shown.contains("secret"), "{shown}");
    assert!(!shown.contains("motdepasse-smtp"), "{shown}");
    assert!(shown.contains("postgres://u:***@db/maillage"), "{shown}");
}

#[test]
fn old_tile_url_is_read_as_custom_with_a_warning() {
    let loaded = load_text(
        "[map]\ntile_url = \"https://tuiles.example.fr/{z}/{x}/{y}.png\"\nattribution = \"© Tuiles\"\n",
    )
    .unwrap();
    assert_eq!(loaded.settings.map.provider, Some(TileProvider::Custom));
    assert!(
        loaded
            .warnings
            .iter()
            .any(|w| w.contains("map.provider = \"custom\"")),
        "{:?}",
        loaded.warnings
    );
    assert!(
        load_text("[map]\nprovider = \"ign\"\ntile_url = \"https://t.fr/{z}/{x}/{y}\"\n").is_err()
    );
    // An explicit `outline` is the operator's choice: a leftover tile URL is refused,
    // never read as third-party tiles.
    let error =
        load_text("[map]\nprovider = \"outline\"\ntile_url = \"https://t.fr/{z}/{x}/{y}\"\n")
            .unwrap_err()
            .message;
    assert!(error.contains("map.provider = \"custom\""), "{error}");
    let plain = load_text("").unwrap();
    assert_eq!(plain.settings.map.provider, Some(TileProvider::Outline));
    assert!(
        loaded
            .warnings
            .iter()
            .any(|w| w.contains("node.contact est vide"))
    );
    let loaded = load_text("[node]\ncontact = \"http://ville.fr/contact\"\n").unwrap();
    assert!(
        loaded.warnings.iter().any(|w| w.contains("https://")),
        "{:?}",
        loaded.warnings
    );
    let loaded = load_text("[node]\ncontact = \"https://ville.fr/contact\"\n").unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

#[test]
fn smtp_settings_are_checked() {
    let text = "[smtp]\nhost = \"smtp.ville.fr\"\nfrom = \"Annuaire <annuaire@ville.fr>\"\n";
    let loaded = load_text(text).unwrap();
    assert!(loaded.settings.smtp.enabled());
    assert_eq!(loaded.settings.smtp.tls, SmtpTls::Starttls);
    for (text, key) in [
        ("[smtp]\nhost = \"smtp.ville.fr\"\n", "smtp.from"),
        (
            "[smtp]\nhost = \"smtp.ville.fr:587\"\nfrom = \"a@b.fr\"\n",
            "smtp.host",
        ),
        ("[smtp]\ndigest_hour = 24\n", "smtp.digest_hour"),
        ("[smtp]\npassword = \"x\"\n", "smtp.password"),
        ("[smtp]\ntls = \"ssl\"\n", "smtp.tls"),
        (
            "[smtp]\nhost = \"smtp.ville.fr\"\nfrom = \"a@b.fr\"\ntls = \"none\"\nusername = \"annuaire\"\n",
            "en clair",
        ),
        (
            "[smtp]\nhost = \"smtp.ville.fr\"\nfrom = \"a@b.fr\"\ntls = \"tls\"\n",
            "port = 465",
        ),
    ] {
        let error = load_text(text).unwrap_err().message;
        assert!(error.contains(key), "{text}: {error}");
    }
    // A relay on this machine may take an account over plain text.
    let relay = "[smtp]\nhost = \"localhost\"\nport = 25\nfrom = \"a@b.fr\"\ntls = \"none\"\nusername = \"annuaire\"\n";
    assert!(load_text(relay).is_ok());
}

#[test]
fn accessibility_status_comes_from_an_audit() {
    use super::Conformance;
    let plain = load_text("").unwrap();
    assert_eq!(
        plain.settings.accessibility.conformance(),
        Conformance::None
    );
    let audited = "[accessibility]\naudit_date = \"2026-10-01\"\naudited_by = \"Access42\"\ncompliance_rate = 75\nschema_url = \"https://ville.fr/schema\"\n";
    let loaded = load_text(audited).unwrap();
    assert_eq!(
        loaded.settings.accessibility.conformance(),
        Conformance::Partial
    );
    assert_eq!(Conformance::Partial.label(), "partiellement conforme");
    for (text, key) in [
        ("[accessibility]\ncompliance_rate = 100\n", "audit_date"),
        (
            "[accessibility]\naudit_date = \"2026-10-01\"\naudited_by = \"X\"\ncompliance_rate = 101\n",
            "entre 0 et 100",
        ),
        (
            "[accessibility]\naudit_date = \"2999-01-01\"\naudited_by = \"X\"\ncompliance_rate = 80\n",
            "futur",
        ),
        (
            "[accessibility]\naudit_date = \"01/10/2026\"\naudited_by = \"X\"\ncompliance_rate = 80\n",
            "AAAA-MM-JJ",
        ),
        (
            "[accessibility]\nschema_url = \"http://ville.fr/schema\"\n",
            "accessibility.schema_url",
        ),
        ("[accessibility]\nstatus = \"conforme\"\n", "status"),
    ] {
        let error = load_text(text).unwrap_err().message;
        assert!(error.contains(key), "{text}: {error}");
    }
}
