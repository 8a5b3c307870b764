//! The town hall's member list as a spreadsheet saves it (CSV): one row per member, the
//! columns of the JSON import under their French (or English) names, in any order, separated by
//! semicolons (what French Excel writes), commas or tabs, in UTF-8 or in the Windows-1252 that
//! French Excel writes. The communities are the distinct (town, community) pairs of the rows;
//! their id is the community's name folded (`Les Tilleuls` → `les-tilleuls`). A police officer
//! of several communities lists them separated by `|`. Every problem is reported with its line.

use std::collections::HashMap;

use super::{
    Community, CommunityId, Import, ImportError, ImportErrors, MemberRow, Members, Report, TimeZoneId,
};
use crate::domain::AllowedCountries;
use crate::domain::unicode::without_case_or_accents;

/// The file the town hall downloads to fill in, in French: the header and two example rows.
pub const CSV_TEMPLATE: &str = "\
ville;quartier;prénom;nom;e-mail;mobile;numéro caché;alertes SMS;alertes e-mail;rôle;consentement SMS
Bellerive;Les Tilleuls;Marie;Lefèvre;marie.lefevre@example.org;06 39 98 00 01;non;oui;oui;référent;2026-11-02
Bellerive;Les Tilleuls;Jeanne;Morel;;06 39 98 00 03;non;oui;oui;habitant;
";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Column {
    Town,
    Community,
    FirstName,
    LastName,
    Email,
    Phone,
    HidePhone,
    SmsAlerts,
    EmailAlerts,
    Role,
    SmsConsent,
}

/// A header as the file names it: lower case, no accents, single spaces, `_` as a space.
fn folded(text: &str) -> String {
    let lowered: String = without_case_or_accents(text).map(|c| if c == '_' { ' ' } else { c }).collect();
    lowered.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn column_of(header: &str) -> Option<Column> {
    Some(match folded(header).as_str() {
        "ville" | "commune" | "town" => Column::Town,
        "quartier" | "communaute" | "communautes" | "community" | "communities" => Column::Community,
        "prenom" | "first name" => Column::FirstName,
        "nom" | "nom de famille" | "last name" => Column::LastName,
        "e-mail" | "email" | "courriel" | "adresse e-mail" | "e-mail address" => Column::Email,
        "mobile" | "portable" | "telephone" | "numero" | "phone" => Column::Phone,
        "numero cache" | "hide phone" => Column::HidePhone,
        "alertes sms" | "sms alerts" => Column::SmsAlerts,
        "alertes e-mail" | "alertes email" | "email alerts" => Column::EmailAlerts,
        "role" => Column::Role,
        "consentement sms" | "sms consent" => Column::SmsConsent,
        _ => return None,
    })
}

/// The text of the file: UTF-8 (a byte-order mark skipped), else Windows-1252.
fn text_of(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes).0.into_owned(),
    }
}

/// The separator of the header line: the most frequent of `;`, `,` and tab (`;` on a tie).
fn separator_of(text: &str) -> u8 {
    let header = text.lines().next().unwrap_or_default();
    let count = |c: char| header.matches(c).count();
    [b';', b',', b'\t'].into_iter().max_by_key(|&s| (count(s as char), s == b';')).unwrap_or(b';')
}

/// `oui`/`non` as a spreadsheet says it; `None` for an empty cell.
fn yes_no(cell: &str) -> Result<Option<bool>, ()> {
    match folded(cell).as_str() {
        "" => Ok(None),
        "oui" | "o" | "yes" | "y" | "1" | "x" | "vrai" | "true" => Ok(Some(true)),
        "non" | "n" | "no" | "0" | "faux" | "false" => Ok(Some(false)),
        _ => Err(()),
    }
}

/// The import's role name of a role as a town hall writes it.
fn role_of(cell: &str) -> String {
    match folded(cell).as_str() {
        "" | "habitant" | "habitante" | "resident" | "residente" | "membre" => "resident".to_owned(),
        "referent" | "referente" => "referent".to_owned(),
        "police" | "police municipale" => "police".to_owned(),
        "mairie" | "town hall" => "mairie".to_owned(),
        other => other.to_owned(),
    }
}

/// A community's id from its name: `Les Tilleuls` → `les-tilleuls`.
fn community_id(name: &str) -> Option<CommunityId> {
    CommunityId::from_name(name)
}

/// Parses and validates a town hall's member list (CSV), reporting every problem with its line
/// (the header is line 1). The same rules as [`super::parse_import`] apply to every row.
pub fn parse_import_csv(bytes: &[u8], countries: &AllowedCountries) -> Result<Import, ImportErrors> {
    let text = text_of(bytes);
    let mut reader = ::csv::ReaderBuilder::new()
        .delimiter(separator_of(&text))
        .flexible(true)
        .trim(::csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut report = Report(Vec::new());
    let headers = reader
        .headers()
        .map_err(|e| ImportErrors(vec![ImportError { line: 1, message: format!("header: {e}") }]))?
        .clone();
    let mut columns: Vec<Option<Column>> = Vec::with_capacity(headers.len());
    for header in &headers {
        let column = column_of(header);
        if column.is_none() && !header.is_empty() {
            report.push(1, format!("unknown column \"{}\"", header.escape_debug()));
        }
        if column.is_some() && columns.contains(&column) {
            report.push(1, format!("column \"{}\" twice", header.escape_debug()));
        }
        columns.push(column);
    }
    for (needed, name) in [
        (Column::Town, "ville"),
        (Column::Community, "quartier"),
        (Column::FirstName, "prénom"),
        (Column::LastName, "nom"),
    ] {
        if !columns.contains(&Some(needed)) {
            report.push(1, format!("missing column \"{name}\""));
        }
    }
    if !report.0.is_empty() {
        return Err(ImportErrors(report.0));
    }

    let mut rows: Vec<(usize, HashMap<Column, String>)> = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                report.push(line, format!("row: {e}"));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line() as usize);
        if record.iter().all(str::is_empty) {
            continue;
        }
        if record.len() > columns.len() {
            report.push(line, format!("{} cells for {} columns", record.len(), columns.len()));
            continue;
        }
        let cells = columns.iter().zip(record.iter()).filter_map(|(c, cell)| Some(((*c)?, cell.to_owned())));
        rows.push((line, cells.collect()));
    }

    // The communities: the distinct (town, name) pairs, in the order they first appear.
    let mut communities: Vec<Community> = Vec::new();
    let mut towns: HashMap<CommunityId, String> = HashMap::new();
    let mut row_communities: Vec<Vec<String>> = Vec::with_capacity(rows.len());
    for (line, cells) in &rows {
        let town = cells.get(&Column::Town).map_or("", String::as_str);
        let mut ids = Vec::new();
        for name in cells.get(&Column::Community).map_or("", String::as_str).split('|').map(str::trim) {
            if name.is_empty() {
                continue;
            }
            let Some(id) = community_id(name) else {
                report.push(
                    *line,
                    format!("community \"{}\": no letter or digit to name it by", name.escape_debug()),
                );
                continue;
            };
            match communities.iter().find(|c| c.id == id) {
                Some(known) if !known.town.eq_ignore_ascii_case(town) || known.name != name => report.push(
                    *line,
                    format!(
                        "community \"{name}\" of {town} reads as \"{}\" of {}, already on an earlier row",
                        known.name, known.town
                    ),
                ),
                Some(_) => {}
                None if town.is_empty() => report.push(*line, format!("community \"{name}\": empty town")),
                None => {
                    towns.insert(id.clone(), town.to_lowercase());
                    communities.push(Community {
                        id: id.clone(),
                        name: name.to_owned(),
                        town: town.to_owned(),
                        time_zone: TimeZoneId::default(),
                        sms_budget: None,
                    });
                }
            }
            ids.push(id.to_string());
        }
        row_communities.push(ids);
    }

    let mut members = Members::default();
    for ((line, cells), communities) in rows.iter().zip(row_communities) {
        let text = |column: Column| cells.get(&column).cloned().filter(|s| !s.is_empty());
        let mut flag = |column: Column, name: &str, default: bool| match yes_no(
            cells.get(&column).map_or("", String::as_str),
        ) {
            Ok(value) => value.unwrap_or(default),
            Err(()) => {
                report.push(*line, format!("{name}: expected oui or non"));
                default
            }
        };
        let hide_phone = flag(Column::HidePhone, "numéro caché", false);
        let sms_alerts = flag(Column::SmsAlerts, "alertes SMS", true);
        let email_alerts = flag(Column::EmailAlerts, "alertes e-mail", true);
        let role = role_of(cells.get(&Column::Role).map_or("", String::as_str));
        let row = MemberRow {
            communities,
            first_name: text(Column::FirstName).unwrap_or_default(),
            last_name: text(Column::LastName).unwrap_or_default(),
            email: text(Column::Email),
            phone: text(Column::Phone),
            hide_phone,
            sms_alerts,
            email_alerts,
            // A town hall's row names its town (and no community).
            town: text(Column::Town).filter(|_| role == "mairie"),
            role,
            sms_consent: text(Column::SmsConsent),
        };
        members.take(row, *line, &towns, countries, &mut report);
    }
    if report.0.is_empty() {
        Ok(Import { communities, members: members.members, member_lines: members.member_lines })
    } else {
        report.0.sort_by_key(|e| e.line);
        Err(ImportErrors(report.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Role;

    fn import(bytes: &[u8]) -> Result<Import, ImportErrors> {
        parse_import_csv(bytes, &AllowedCountries::france())
    }

    #[test]
    fn the_template_imports() {
        let import = import(CSV_TEMPLATE.as_bytes()).unwrap();
        assert_eq!(import.communities.len(), 1);
        assert_eq!(
            (import.communities[0].id.as_str(), import.communities[0].town.as_str()),
            ("les-tilleuls", "Bellerive")
        );
        assert_eq!(import.members.len(), 2);
        let marie = &import.members[0];
        assert_eq!((marie.role, marie.phone_confirmed), (Role::Referent, true));
        assert_eq!(marie.phone.as_ref().unwrap().as_str(), "+33639980001");
        let jeanne = &import.members[1];
        assert!(jeanne.email.is_none() && !jeanne.phone_confirmed, "no paper consent: invited");
        assert_eq!(import.member_lines, [2, 3]);
    }

    #[test]
    fn french_excel_windows_1252_with_semicolons_reads_as_utf8() {
        let utf8 = "Ville;Quartier;Prénom;Nom;Mobile\nBellerive;Le Moulin;Gérard;Blanc;06 39 98 00 08\n";
        let (cp1252, _, lossy) = encoding_rs::WINDOWS_1252.encode(utf8);
        assert!(!lossy && std::str::from_utf8(&cp1252).is_err(), "a real Windows-1252 file");
        let from_excel = import(&cp1252).unwrap();
        assert_eq!(
            from_excel,
            Import { members: from_excel.members.clone(), ..import(utf8.as_bytes()).unwrap() }
        );
        assert_eq!(from_excel.members[0].first_name.as_str(), "Gérard");
        // With a byte-order mark, commas and English headers.
        let english = "\u{feff}town,community,first_name,last_name,email\nBellerive,Le Moulin,Inès,Faure,ines@example.org\n";
        assert_eq!(import(english.as_bytes()).unwrap().members[0].first_name.as_str(), "Inès");
    }

    #[test]
    fn every_bad_row_is_told_with_its_line_and_nothing_is_imported() {
        let file = "ville;quartier;prénom;nom;e-mail;mobile;alertes SMS;rôle\n\
                    Bellerive;Les Tilleuls;Marie;Lefèvre;marie@example.org;06 39 98 00 01;oui;référent\n\
                    Bellerive;Les Tilleuls;Karim;;karim@example.org;;oui;habitant\n\
                    Bellerive;Les Tilleuls;Lucas;Petit;marie@example.org;;peut-être;habitant\n\
                    \n\
                    Bellerive;Le Moulin | Les Tilleuls;Sophie;Marchand;police@example.org;;oui;police\n\
                    Bellerive;Le Moulin;Paul;Roux;;+44 7700 900123;oui;maire\n";
        let errors = import(file.as_bytes()).unwrap_err();
        let lines: Vec<usize> = errors.0.iter().map(|e| e.line).collect();
        assert_eq!(lines, [3, 4, 4, 7, 7], "{errors}");
        assert!(errors.0[0].message.starts_with("last name"), "{errors}");
        assert!(errors.to_string().contains("line 4: alertes SMS: expected oui or non"), "{errors}");
        assert!(errors.to_string().contains("line 4: e-mail address already used on line 2"), "{errors}");
        assert!(!errors.to_string().contains("7700"), "numbers are not echoed: {errors}");
    }

    #[test]
    fn a_police_officer_lists_several_communities_of_one_town() {
        let file = "ville;quartier;prénom;nom;e-mail;rôle\n\
                    Bellerive;Les Tilleuls | Le Moulin;Sophie;Marchand;police@example.org;police\n";
        let import = import(file.as_bytes()).unwrap();
        assert_eq!(import.communities.len(), 2);
        assert_eq!(import.members[0].communities.len(), 2);
        assert_eq!(import.members[0].role, Role::Police);
    }

    #[test]
    fn a_header_it_does_not_know_is_refused_before_any_row() {
        let errors = import(b"ville;quartier;prenom;nom;date de naissance\nB;Q;A;B;1970\n").unwrap_err();
        assert_eq!(
            errors.0,
            [ImportError { line: 1, message: "unknown column \"date de naissance\"".into() }]
        );
        let errors = import(b"ville;prenom;nom\nB;A;B\n").unwrap_err();
        assert_eq!(errors.0[0].message, "missing column \"quartier\"");
    }

    /// The demo's member list as a spreadsheet saves it is the demo's JSON import, row for row.
    #[test]
    fn the_demo_spreadsheet_is_the_demo_import() {
        let csv = import(include_bytes!("../../../../infra/demo/members.csv")).unwrap();
        let json = super::super::parse_import(
            include_str!("../../../../infra/demo/seed.json"),
            &AllowedCountries::france(),
        )
        .unwrap();
        let ids = |i: &Import| {
            i.communities.iter().map(|c| (c.id.clone(), c.name.clone(), c.town.clone())).collect::<Vec<_>>()
        };
        assert_eq!(ids(&csv), ids(&json));
        let plain = |i: &Import| {
            i.members
                .iter()
                .map(|m| {
                    let mut communities = m.communities.clone();
                    communities.sort();
                    format!(
                        "{} {} {:?} {:?} {} {} {} {:?} {} {:?} {:?}",
                        m.first_name,
                        m.last_name,
                        m.email,
                        m.phone,
                        m.hide_phone,
                        m.sms_alerts,
                        m.email_alerts,
                        m.role,
                        m.phone_confirmed,
                        m.phone_consent,
                        communities
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(plain(&csv), plain(&json));
    }

    #[test]
    fn names_fold_to_community_ids() {
        for (name, id) in [
            ("Les Tilleuls", "les-tilleuls"),
            ("Bas-du-Fort", "bas-du-fort"),
            ("  Quartier de l'Église ", "quartier-de-l-eglise"),
        ] {
            assert_eq!(community_id(name).unwrap().as_str(), id);
        }
        assert!(community_id("—").is_none());
    }
}
