//! Unit tests of reading and checking import files.

use super::parse::*;

#[test]
fn separator_is_detected_from_the_header() {
    assert_eq!(detect_separator("nom;description;themes\na,b;c;d"), b';');
    assert_eq!(detect_separator("nom,description,themes\na;b,c,d"), b',');
    assert_eq!(
        detect_separator("\"nom;x\",description,themes\n"),
        b',',
        "quoted separators do not count"
    );
    assert_eq!(detect_separator("nom"), b',');
}

#[test]
fn cells_split_on_their_separators() {
    assert_eq!(
        split_cell(" culture | education ,patrimoine||", &['|', ',']),
        ["culture", "education", "patrimoine"]
    );
    assert_eq!(
        split_cell("Société Dupont, SAS | Atelier", &['|']),
        ["Société Dupont, SAS", "Atelier"]
    );
    assert!(split_cell("  ", &['|']).is_empty());
}

#[test]
fn headers_are_french_friendly() {
    assert_eq!(
        Column::from_header("Date de début"),
        Some(Column::DateDebut)
    );
    assert_eq!(
        Column::from_header("  SOUS-TITRE "),
        Some(Column::SousTitre)
    );
    assert_eq!(Column::from_header("Budget (€)"), Some(Column::BudgetEur));
    assert_eq!(Column::from_header("Thèmes"), Some(Column::Themes));
    assert_eq!(Column::from_header("couleur"), None);
    assert_eq!(Column::of_field("themes[2]"), Some(Column::Themes));
    assert_eq!(Column::of_field("location[0].insee"), Some(Column::Insee));
}

#[test]
fn values_are_read_as_editors_write_them() {
    assert_eq!(slug("Réalisation"), "realisation");
    assert_eq!(slug(" En cours "), "en-cours");
    assert_eq!(iso_date("05/03/2024"), "2024-03-05");
    assert_eq!(iso_date("2024-03-05"), "2024-03-05");
    assert_eq!(parse_budget("15 000 €"), Some(15_000));
    assert_eq!(parse_budget("1200,50"), Some(1_201));
    assert_eq!(parse_budget("douze"), None);
    assert_eq!(parse_budget("-3"), None);
    assert_eq!(parse_bool("Oui"), Some(true));
    assert_eq!(parse_bool("0"), Some(false));
    assert_eq!(parse_bool("peut-être"), None);
}

#[test]
fn a_file_is_read_with_its_bom_separator_and_line_numbers() {
    let text = "\u{feff}Nom;Description;Thèmes;Référence\n\
                Un;\"« multi\nligne »\";culture;A1\n\
                ;;;\n\
                Deux;Texte;education;A2;en trop\n";
    let sheet = parse(text.as_bytes()).unwrap();
    assert_eq!(sheet.separator, b';');
    assert_eq!(sheet.len(), 2, "the empty row is skipped");
    assert_eq!(sheet.rows[0].cell(Column::Description), "« multi\nligne »");
    assert_eq!(sheet.rows[0].cell(Column::Reference), "A1");
    assert_eq!(sheet.rows[1].line, 5);
    assert_eq!(sheet.rows[1].stray, [5]);
}

#[test]
fn files_that_cannot_be_imported_say_why() {
    let message = |bytes: &[u8]| parse(bytes).unwrap_err().to_string();
    assert!(message(b"nom;description\n").contains("themes"));
    assert!(message(b"nom;description;themes;couleur\n").contains("« couleur »"));
    assert!(message(b"nom;nom;description;themes\n").contains("deux fois"));
    assert!(message(b"nom;description;themes\nd\xe9j\xe0;x;y\n").contains("ligne 2"));
    assert!(message(b"").contains("vide"));
}

#[test]
fn the_row_key_ignores_column_order_and_spacing() {
    let a = parse("nom;description;themes\nUn;Texte;culture|education\n".as_bytes()).unwrap();
    let b =
        parse("themes,nom,description\n\"culture, education \",Un , Texte\n".as_bytes()).unwrap();
    assert_eq!(import_key(&a.rows[0], None), import_key(&b.rows[0], None));
    assert_eq!(import_key(&a.rows[0], Some("A1")), "ref:A1");
}

#[test]
fn rows_are_validated_like_the_api() {
    let sheet = parse(
        "nom;description;themes;insee;budget_eur;date_debut;date_fin;liens\n\
         Atelier;Texte;educ|culture;99999;beaucoup;2024-02-01;2024-01-01;ftp://x\n"
            .as_bytes(),
    )
    .unwrap();
    let errors = validate(&sheet.rows[0]).unwrap_err();
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert!(
        text.iter()
            .any(|e| e.starts_with("ligne 2 : themes : thème inconnu « educ »")),
        "{text:?}"
    );
    for column in ["insee", "budget_eur", "date_fin", "liens"] {
        assert!(
            text.iter()
                .any(|e| e.starts_with(&format!("ligne 2 : {column} : "))),
            "{column}: {text:?}"
        );
    }
}
