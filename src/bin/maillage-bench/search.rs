//! `search`: directory search at scale. N generated actions (realistic French text,
//! the twelve themes, communes of the referential, shared software), then typical
//! queries timed through `service::directory::search`, as the API and pages call it.
//!
//! `maillage-bench search [--actions N] [--database URL] [--query Q | --nearby]` (default 100 000
//! actions on SQLite in a temporary folder). Given a database that already holds N
//! actions (`sqlite://bench.db` of an earlier run, a PostgreSQL URL), the generation is
//! skipped and only the queries run. `--query theme=education` runs that one query
//! only; `--nearby` times "projets proches" instead; `RUST_LOG=sqlx::query=debug` shows
//! each statement and its time.

use std::time::Instant;

use maillage::config::Settings;
use maillage::db::actions::ActionIdentity;
use maillage::db::activities::NewActivity;
use maillage::db::actors::NewLocalActor;
use maillage::db::deliveries::Audience;
use maillage::domain::drafts::{ActionBody, CollectiviteBody, PlaceBody, SoftwareBody};
use maillage::domain::{ActionId, NewAction};
use maillage::referential::{Commune, Referential};
use maillage::startup::prepare;

const SUBJECTS: &[&str] = &[
    "École numérique",
    "Médiathèque",
    "Guichet unique",
    "Budget participatif",
    "Conseillers numériques",
    "Archives en ligne",
    "Fibre optique",
    "Wi-Fi public",
    "Tiers-lieu",
    "Fab lab",
    "Portail citoyen",
    "Données ouvertes",
    "Capteurs de qualité de l'air",
    "Sobriété numérique",
    "Cybersécurité",
    "Prise de rendez-vous en ligne",
    "Démarches d'état civil",
    "Espace numérique de travail",
    "Prêt de tablettes",
    "Musée virtuel",
    "Plateforme de l'emploi",
    "Carte scolaire en ligne",
];
const WHAT: &[&str] = &[
    "pour les habitants",
    "dans les quartiers",
    "avec les associations",
    "pour les seniors",
    "dans les écoles",
    "pour les agents",
    "avec la métropole",
    "pour les entreprises locales",
];
const SENTENCES: &[&str] = &[
    "La collectivité a déployé un service accessible en ligne et accompagné en mairie.",
    "Les agents ont été formés avant l'ouverture du service.",
    "Les usagers peuvent suivre leur demande et recevoir une notification.",
    "Le projet est mené avec les communes voisines pour partager les coûts.",
    "Des ateliers de médiation numérique sont proposés chaque semaine.",
    "Les données sont publiées en open data sous licence ouverte.",
    "Une attention particulière est portée à l'accessibilité et au RGAA.",
    "Le logiciel libre retenu est mutualisé avec d'autres collectivités.",
];
const THEMES: &[&str] = &[
    "services-publics",
    "democratie-locale",
    "vie-privee",
    "cohesion-sociale",
    "solidarites",
    "vie-quotidienne",
    "education",
    "culture",
    "patrimoine",
    "emploi",
    "developpement-durable",
    "attractivite",
];
const SOFTWARE: &[&str] = &[
    "Publik",
    "Decidim",
    "Nextcloud",
    "Koha",
    "GLPI",
    "Moodle",
    "uMap",
    "PeerTube",
];

/// A small deterministic generator (xorshift), so that generated data is the same from
/// run to run. The seed must not be 0.
pub struct Rng(pub u64);
impl Rng {
    /// The next number.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)]
}

/// Parameters.
#[derive(Debug, Clone, clap::Args)]
pub struct SearchArgs {
    /// Actions in the directory.
    #[arg(long, default_value_t = 100_000)]
    pub actions: usize,
    /// The database (kept between runs); default: SQLite in a temporary folder.
    #[arg(long)]
    pub database: Option<String>,
    /// Run this one query only (`theme=education`).
    #[arg(long)]
    pub query: Option<String>,
    /// Time "projets proches" (the nearby actions of 200 actions spread over the
    /// directory, as an action page asks for them) instead of the queries.
    #[arg(long)]
    pub nearby: bool,
}

/// Runs the scenario.
pub async fn run(args: SearchArgs, report: &mut crate::report::Report) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut settings = Settings {
        domain: "localhost:9999".into(),
        ..Settings::default()
    };
    settings.federation.debug = true;
    settings.log.level = "warn".into();
    // `RUST_LOG=sqlx::query=debug` shows each statement and its time.
    maillage::telemetry::init(&settings.log);
    settings.database.url = args
        .database
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("search.db").display()));
    let state = prepare(settings).await?;
    let existing = state.store.directory_counts().await?.2;
    if existing >= args.actions as i64 {
        eprintln!("{existing} actions already in the database: generation skipped");
    } else {
        generate(&state, args.actions).await?;
    }
    let engine = if state.settings.database.url.starts_with("postgres") {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    report.line(
        "search: directory",
        format!(
            "{} actions, {engine}",
            state.store.directory_counts().await?.2
        ),
    );
    // Other work on the machine shows in the figures: say how loaded it was.
    let before = load_average();
    if args.nearby {
        run_nearby(&state, report).await?;
    } else {
        run_queries(&state, args.query.as_deref(), report).await?;
    }
    report.line(
        "search: load average (1 min) before / after the queries",
        format!("{before} / {}", load_average()),
    );
    Ok(())
}

/// The 1-minute load average (`/proc/loadavg`), or `?` where there is none.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// The `i`-th generated action of a collectivité in `commune`: realistic French text,
/// two themes, the commune as its place, shared software one time in three.
pub fn action_body(rng: &mut Rng, i: usize, commune: &Commune) -> ActionBody {
    let subject = rng.pick(SUBJECTS);
    let mut content = String::new();
    for _ in 0..4 {
        let sentence: &&str = rng.pick(SENTENCES);
        content.push_str(sentence);
        content.push(' ');
    }
    ActionBody {
        name: Some(format!("{subject} {} ({i})", rng.pick(WHAT))),
        summary: Some(format!("{subject} à {}.", commune.nom)),
        content: Some(content),
        phase: Some(
            rng.pick(&["idee", "etude", "realisation", "service"])
                .to_string(),
        ),
        themes: Some(vec![
            rng.pick(THEMES).to_string(),
            rng.pick(THEMES).to_string(),
        ]),
        location: Some(vec![PlaceBody {
            insee: Some(commune.insee.clone()),
            ..Default::default()
        }]),
        software: (rng.next() % 3 == 0).then(|| {
            vec![SoftwareBody {
                name: Some(rng.pick(SOFTWARE).to_string()),
                ..Default::default()
            }]
        }),
        ..Default::default()
    }
}

/// Stores `n` generated local actions of 200 collectivités (the same from run to run).
pub async fn generate(state: &maillage::state::AppState, n: usize) -> anyhow::Result<()> {
    let referential = Referential::global();
    let mut communes: Vec<_> = referential
        .communes()
        .filter(|c| c.point().is_some() && !c.siren.is_empty())
        .collect();
    communes.sort_by(|a, b| a.insee.cmp(&b.insee));
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let instance = &state.instance_actor;

    // 200 collectivités (one key pair shared: generation is not what is measured).
    let mut owners = Vec::new();
    for i in 0..200 {
        let commune = communes[(rng.next() % communes.len() as u64) as usize];
        let body = CollectiviteBody {
            username: Some(format!("ville-{i}")),
            insee: Some(commune.insee.clone()),
            ..Default::default()
        };
        let id = state.url(&format!("/actors/ville-{i}"));
        let inbox = state.url(&format!("/actors/ville-{i}/inbox"));
        let owner = state
            .store
            .insert_local_collectivite(
                NewLocalActor {
                    ap_id: &id,
                    domain: "localhost:9999",
                    inbox: &inbox,
                    shared_inbox: &state.url("/inbox"),
                    public_key_pem: &instance.public_key_pem,
                    private_key_pem: &instance.private_key_pem,
                },
                &body.into_profile()?,
            )
            .await?;
        owners.push((owner, commune));
    }
    let start = Instant::now();
    for i in 0..n {
        let (owner, commune) = &owners[(rng.next() % owners.len() as u64) as usize];
        let data = NewAction::try_from(action_body(&mut rng, i, commune))
            .map_err(|e| anyhow::anyhow!("{:?}", e.0))?;
        let id = ActionId::generate();
        let ap_id = state.url(&format!("/actions/{id}"));
        let identity = ActionIdentity {
            id,
            url: ap_id.clone(),
            ap_id,
            owner_id: owner.id,
            local: true,
            import_key: None,
        };
        let mut tx = state.store.begin().await?;
        maillage::db::actions::insert_action(&mut tx, &identity, &data).await?;
        let create = NewActivity {
            ap_id: state.url(&format!("/activities/{}", uuid::Uuid::now_v7())),
            actor_id: owner.id,
            kind: "Create",
            object_ap_id: identity.ap_id.clone(),
            payload: serde_json::json!({}),
            audience: Audience::Nobody,
        };
        maillage::db::activities::store_activity(&mut tx, &create).await?;
        tx.commit().await?;
        if (i + 1) % 20_000 == 0 {
            eprintln!(
                "{} actions inserted in {:.0} s",
                i + 1,
                start.elapsed().as_secs_f64()
            );
        }
    }
    eprintln!(
        "{n} actions inserted in {:.0} s",
        start.elapsed().as_secs_f64()
    );
    if let maillage::db::Store::Sqlite(pool) = &state.store {
        sqlx::query("ANALYZE").execute(pool).await?;
    }
    if let maillage::db::Store::Postgres(pool) = &state.store {
        // As autovacuum would have by the time a real directory is searched: every
        // insert is followed by its search text's update, so half the rows are dead
        // and no page is marked all-visible (index-only scans then read the heap).
        sqlx::query("VACUUM ANALYZE").execute(pool).await?;
    }
    Ok(())
}

/// "Projets proches" of 200 actions spread over the directory (every call distinct:
/// nothing is cached), each timed through `service::nearby::nearby` as the action page
/// and the API call it.
async fn run_nearby(
    state: &maillage::state::AppState,
    report: &mut crate::report::Report,
) -> anyhow::Result<()> {
    const CALLS: usize = 200;
    let rows: i64 = maillage::db::on_pool!(&state.store, pool => {
        sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM actions").fetch_one(pool).await?
    });
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let ids: Vec<i64> = (0..CALLS)
        .map(|_| 1 + (rng.next() % rows.max(1) as u64) as i64)
        .collect();
    let actions = state.store.actions_in_order(&ids).await?;
    let mut times = Vec::new();
    let mut found = 0;
    for action in &actions {
        let t = Instant::now();
        let nearby = maillage::service::nearby::nearby(state, action)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        found += nearby.len();
    }
    anyhow::ensure!(!times.is_empty(), "no action to time");
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let (p50, p95, p99) = (
        percentile(&times, 0.5),
        percentile(&times, 0.95),
        percentile(&times, 0.99),
    );
    report.line(
        "search: projets proches",
        format!(
            "{} calls; p50 {p50:.1} ms, p95 {p95:.1} ms, p99 {p99:.1} ms, max {:.1} ms; \
             {:.1} actions found per call",
            times.len(),
            times[times.len() - 1],
            found as f64 / times.len() as f64
        ),
    );
    report.json(
        "nearby",
        serde_json::json!({"calls": times.len(), "p50_ms": p50, "p95_ms": p95,
            "p99_ms": p99, "max_ms": times[times.len() - 1]}),
    );
    Ok(())
}

async fn run_queries(
    state: &maillage::state::AppState,
    only: Option<&str>,
    report: &mut crate::report::Report,
) -> anyhow::Result<()> {
    let all = [
        "",
        "q=numerique",
        "q=ecole+numerique",
        "q=m%C3%A9diath%C3%A8ques",
        "theme=education",
        "departement=59",
        "region=84",
        "q=donnees&theme=services-publics",
        "phase=service&theme=culture&departement=13",
        "bbox=2.2,48.7,2.5,49.0",
        "software=publik",
        "sort=name&limit=50",
    ];
    let queries: Vec<&str> = match only {
        Some(query) => vec![query],
        None => all.to_vec(),
    };
    let mut figures = Vec::new();
    for raw in queries {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(raw.as_bytes())
            .into_owned()
            .collect();
        let query = maillage::directory::SearchQuery::parse(
            pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        )
        .map_err(|e| anyhow::anyhow!("{:?}", e.problem()))?;
        // Cold: totals and facets computed (first time at this generation).
        let t = Instant::now();
        let page = maillage::service::directory::search(state, &query)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let cold = t.elapsed().as_secs_f64() * 1000.0;
        let total = page.total;
        // Warm: the same query again, as the API serves it (cached counts, fresh page).
        let mut times = Vec::new();
        for _ in 0..40 {
            let t = Instant::now();
            maillage::service::directory::search(state, &query)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let label = if raw.is_empty() { "(none)" } else { raw };
        report.line(
            &format!("search: `{label}`"),
            format!(
                "cold {cold:.1} ms; warm p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms; {total} matches",
                percentile(&times, 0.5),
                percentile(&times, 0.95),
                percentile(&times, 0.99)
            ),
        );
        figures.push(serde_json::json!({"query": label, "cold_ms": cold,
            "p50_ms": percentile(&times, 0.5), "p95_ms": percentile(&times, 0.95),
            "p99_ms": percentile(&times, 0.99), "total": total}));
    }
    report.json("queries", serde_json::Value::Array(figures));
    Ok(())
}
