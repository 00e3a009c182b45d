//! `maillage import --collectivite NAME FILE.csv` as an editor runs it: a real process,
//! a real database file, a spreadsheet with good and bad rows, imported twice.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn maillage(dir: &Path, database_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_maillage"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("MAILLAGE_DATABASE__URL", database_url)
        .env("MAILLAGE_DOMAIN", "localhost:8181")
        .env("MAILLAGE_FEDERATION__DEBUG", "true")
        .env("MAILLAGE_LOG__LEVEL", "warn")
        .stdin(Stdio::null())
        .output()
        .expect("run maillage")
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(dir: &Path, database_url: &str, args: &[&str]) -> Run {
    let output = maillage(dir, database_url, args);
    Run {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// A town's spreadsheet, `;`-separated with a BOM, as a French spreadsheet saves it.
/// Lines: 1 header, 2 good, 3 good without reference, 4 unknown theme, 5–7 good (a cell
/// of two paragraphs), 8 no name and a bad date, 9 empty, 10 bad budget, bad yes/no and
/// unknown commune.
const SHEET: &str = "\u{feff}Référence;Nom;Sous-titre;Description;Phase;Statut;Thèmes;INSEE;Date de début;date_fin;Budget (€);ouvert_aux_partenaires;logiciels;prestataires;liens\n\
A1;Médiation numérique itinérante;Un bus dans les quartiers.;Un bus *numérique* dans les quartiers.;service;En cours;solidarites|cohesion-sociale;59378;2023-01-09;;85 000;oui;Nextcloud|Decidim;Open Source Politics;https://example.org/bus\n\
;Ateliers de programmation;;Des robots à la médiathèque.;Réalisation;en-pause;education, culture;;05/10/2022;;;non;Scratch;;\n\
A2;Tableau de bord des écoles;;Des indicateurs pour les écoles.;;;educ;;;;;;;;\n\
A3;Budget participatif;;\"Une plateforme de participation.\n\nLe vote a aussi lieu sur papier.\";realisation;termine;democratie-locale;59378|59350;2023-03-01;2023-11-30;250000;1;Decidim;;https://example.org/bp|https://decidim.org\n\
A4;;;Sans nom.;;;culture;;2024-13-01;;;;;;\n\
;;;;;;;;;;;;;;\n\
A5;Archivage;;Des archives.;;;patrimoine;99999;;;beaucoup;peut-être;;;\n";

fn import_flow(database_url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| run(dir.path(), database_url, args);
    assert_eq!(run(&["migrate"]).code, Some(0));
    let created = run(&[
        "collectivite",
        "create",
        "--username",
        "marcq",
        "--insee",
        "59378",
    ]);
    assert_eq!(created.code, Some(0), "{}", created.stderr);
    let file = dir.path().join("actions.csv");
    std::fs::write(&file, SHEET).unwrap();
    let path = file.to_str().unwrap();
    let listed = || {
        let list = run(&["action", "list", "--collectivite", "marcq"]);
        assert_eq!(list.code, Some(0), "{}", list.stderr);
        list.stdout
    };

    // First import: good rows in, bad rows reported with line and reason, exit code 1.
    let first = run(&["import", "--collectivite", "marcq", path]);
    assert_eq!(first.code, Some(1), "{}\n{}", first.stderr, first.stdout);
    let errors = &first.stderr;
    for expected in [
        "ligne 4 : themes : thème inconnu « educ »",
        "ligne 8 : nom : obligatoire",
        "ligne 8 : date_debut : « 2024-13-01 » n'est pas une date AAAA-MM-JJ",
        "ligne 10 : budget_eur : « beaucoup » n'est pas un montant en euros",
        "ligne 10 : ouvert_aux_partenaires : « peut-être » : oui ou non attendu",
        "ligne 10 : insee : aucune commune actuelle n'a ce code INSEE",
        "6 lignes : 3 créées, 0 mise à jour, 0 inchangée, 3 rejetées",
        "3 lignes rejetées",
    ] {
        assert!(
            errors.contains(expected),
            "missing « {expected} » in:\n{errors}"
        );
    }
    assert!(
        !errors.contains("ligne 2 ") && !errors.contains("ligne 9 "),
        "{errors}"
    );
    assert_eq!(errors.matches("ligne 10 : insee").count(), 1, "{errors}");
    let created_lines: Vec<&str> = first.stdout.lines().collect();
    assert_eq!(created_lines.len(), 3, "{}", first.stdout);
    assert!(
        created_lines[0].starts_with("2\tcréée\t"),
        "{}",
        first.stdout
    );
    assert!(
        created_lines[1].starts_with("3\tcréée\t"),
        "{}",
        first.stdout
    );
    assert!(
        created_lines[2].starts_with("5\tcréée\t"),
        "{}",
        first.stdout
    );
    let list = listed();
    assert_eq!(list.lines().count(), 3, "{list}");
    for name in [
        "Médiation numérique itinérante",
        "Ateliers de programmation",
        "Budget participatif",
    ] {
        assert!(list.contains(name), "{list}");
    }

    // The stored actions say what the rows said.
    let export = run(&["export", "--format", "jsonl"]);
    assert_eq!(export.code, Some(0), "{}", export.stderr);
    let actions: Vec<Value> = export
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let find = |name: &str| {
        actions
            .iter()
            .find(|a| a["name"] == name)
            .unwrap_or_else(|| panic!("{name} not exported"))
            .clone()
    };
    let bus = find("Médiation numérique itinérante");
    assert_eq!(bus["summary"], "Un bus dans les quartiers.");
    assert_eq!(bus["phase"], "service");
    assert_eq!(bus["status"], "en-cours");
    assert_eq!(bus["themes"].as_array().unwrap().len(), 2);
    assert_eq!(bus["location"][0]["name"], "Marcq-en-Barœul");
    assert_eq!(bus["budget_eur"], 85000);
    assert_eq!(bus["open_to_partners"], true);
    assert_eq!(bus["software"][1]["name"], "Decidim");
    assert_eq!(bus["providers"][0]["name"], "Open Source Politics");
    assert_eq!(bus["links"][0]["url"], "https://example.org/bus");
    assert!(
        bus["content"]
            .as_str()
            .unwrap()
            .contains("<em>numérique</em>")
    );
    let ateliers = find("Ateliers de programmation");
    assert_eq!(ateliers["start_date"], "2022-10-05");
    assert_eq!(ateliers["status"], "en-pause");
    assert_eq!(
        ateliers["themes"],
        serde_json::json!(["education", "culture"])
    );
    let budget = find("Budget participatif");
    assert_eq!(budget["location"][1]["name"], "Lille");
    assert_eq!(budget["end_date"], "2023-11-30");
    assert!(
        budget["content"].as_str().unwrap().contains("<p>Le vote"),
        "{budget}"
    );

    // Importing the same file again creates nothing twice.
    let second = run(&["import", "--collectivite", "marcq", path]);
    assert_eq!(second.code, Some(1), "{}", second.stderr);
    assert!(
        second
            .stderr
            .contains("6 lignes : 0 créée, 0 mise à jour, 3 inchangées, 3 rejetées"),
        "{}",
        second.stderr
    );
    assert_eq!(listed().lines().count(), 3);

    // Corrected bad rows go in; a row with a reference that changed updates its action;
    // the same row as `,`-separated CSV without BOM, columns reordered, is the same row.
    let corrected = SHEET
        .replace(";educ;", ";education;")
        .replace("Un bus *numérique*", "Un bus *numérique* et un site")
        .replace(";beaucoup;peut-être;", ";12000;non;")
        .replace(";99999;", ";59350;");
    std::fs::write(&file, corrected).unwrap();
    let third = run(&["import", "--collectivite", "marcq", path]);
    assert!(
        third
            .stderr
            .contains("6 lignes : 2 créées, 1 mise à jour, 2 inchangées, 1 rejetée"),
        "{}",
        third.stderr
    );
    assert!(
        third.stdout.contains("2\tmise à jour\t"),
        "{}",
        third.stdout
    );
    assert_eq!(listed().lines().count(), 5);
    let comma = dir.path().join("ateliers.csv");
    std::fs::write(
        &comma,
        "themes,nom,description,statut,phase,date_debut,logiciels,ouvert_aux_partenaires\n\
         \"education,culture\", Ateliers de programmation ,Des robots à la médiathèque.,en-pause,Réalisation,05/10/2022,Scratch,non\n",
    )
    .unwrap();
    let again = run(&["import", "--collectivite", "marcq", comma.to_str().unwrap()]);
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    assert!(again.stderr.contains("1 inchangée"), "{}", again.stderr);
    assert_eq!(listed().lines().count(), 5);

    // A file that cannot be imported at all says why.
    std::fs::write(&file, "nom;description;couleur\nx;y;z\n").unwrap();
    let refused = run(&["import", "--collectivite", "marcq", path]);
    assert_eq!(refused.code, Some(1));
    assert!(
        refused.stderr.contains("colonne inconnue « couleur »"),
        "{}",
        refused.stderr
    );
    let unknown = run(&["import", "--collectivite", "inconnue", path]);
    assert_eq!(unknown.code, Some(1));
    assert!(unknown.stderr.contains("inconnue"), "{}", unknown.stderr);

    // The sample file of the documentation imports cleanly, and only once.
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/import-actions.csv");
    let docs = run(&["import", "--collectivite", "marcq", sample]);
    assert_eq!(docs.code, Some(0), "{}", docs.stderr);
    assert!(docs.stderr.contains("4 créées"), "{}", docs.stderr);
    let docs = run(&["import", "--collectivite", "marcq", sample]);
    assert!(docs.stderr.contains("4 inchangées"), "{}", docs.stderr);
    assert_eq!(listed().lines().count(), 9);
}

#[test]
fn import_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("import.db").display());
    import_flow(&url);
}

#[test]
fn import_on_postgres() {
    crate::helpers::with_postgres_schema("import_flow", import_flow);
}
