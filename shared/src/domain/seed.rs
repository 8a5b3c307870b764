//! The town hall import format (JSON), with line-numbered error reports.
//!
//! ```json
//! {
//!   "communities": [{"id": "les-tilleuls", "name": "Les Tilleuls", "town": "Rennes"},
//!                   {"id": "bas-du-fort", "name": "Bas-du-Fort", "town": "Le Gosier",
//!                    "time_zone": "America/Guadeloupe"}],
//!   "members": [{"communities": ["les-tilleuls"], "first_name": "Marie",
//!                "last_name": "Dupont", "phone": "06 12 34 56 78", "role": "resident"}]
//! }
//! ```

use std::collections::HashMap;
use std::fmt;

use serde::Deserialize;
use serde_json::value::RawValue;

mod csv;
pub use csv::{CSV_TEMPLATE, parse_import_csv};

use super::{
    AllowedCountries, Community, CommunityId, Email, FirstName, LastName, Member, MemberId, PhoneNumber,
    Role, TimeZoneId, UnsubscribeToken,
};

/// A validated import: communities and members ready to store.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Import {
    /// Communities, in file order.
    pub communities: Vec<Community>,
    /// Members, in file order, each with a fresh id and unsubscribe token.
    pub members: Vec<Member>,
    /// The line where each member's row starts, in the same order as `members`.
    pub member_lines: Vec<usize>,
}

/// One problem in an import file.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ImportError {
    /// 1-based line where the offending row starts (or of the syntax error).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ImportError {}

/// Every problem found in an import file (never empty when returned).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ImportErrors(pub Vec<ImportError>);

impl fmt::Display for ImportErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ImportErrors {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile<'a> {
    #[serde(borrow)]
    communities: Vec<&'a RawValue>,
    #[serde(borrow)]
    members: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CommunityRow {
    id: String,
    name: String,
    town: String,
    /// An IANA name; `Europe/Paris` when absent.
    #[serde(default)]
    time_zone: Option<String>,
    /// SMS parts its alerts may take a month; the service's default when absent.
    #[serde(default)]
    sms_budget: Option<u32>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberRow {
    communities: Vec<String>,
    first_name: String,
    last_name: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    hide_phone: bool,
    #[serde(default = "yes")]
    sms_alerts: bool,
    #[serde(default = "yes")]
    email_alerts: bool,
    role: String,
    /// The town of a town hall's account (role `mairie`, which lists no community): one of the
    /// towns of the file's communities.
    #[serde(default)]
    town: Option<String>,
    /// The day the town hall collected the owner's consent to SMS alerts on paper
    /// (`YYYY-MM-DD`). Without it, the number is invited by SMS and texted nothing else until
    /// its owner answers OUI.
    #[serde(default)]
    sms_consent: Option<String>,
}

/// A paper consent's date as the import writes it: `YYYY-MM-DD`, a real day from 2000 on.
fn consent_date(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    let bad = || format!("sms_consent \"{}\": expected a date as YYYY-MM-DD", raw.escape_debug());
    if raw.len() != 10 || raw.as_bytes()[4] != b'-' || raw.as_bytes()[7] != b'-' {
        return Err(bad());
    }
    let date: jiff::civil::Date = raw.parse().map_err(|_| bad())?;
    if date.year() < 2000 {
        return Err(bad());
    }
    Ok(date.to_string())
}

/// serde_json's message without its " at line X column Y" suffix.
fn json_message(e: &serde_json::Error) -> String {
    let full = e.to_string();
    match full.rsplit_once(" at line ") {
        Some((msg, _)) => msg.to_owned(),
        None => full,
    }
}

/// 1-based line of the start of `raw` inside `json`.
fn line_of(json: &str, raw: &RawValue) -> usize {
    let offset = raw.get().as_ptr().addr().saturating_sub(json.as_ptr().addr()).min(json.len());
    json.as_bytes()[..offset].iter().filter(|&&b| b == b'\n').count() + 1
}

/// Collects errors while validating rows.
struct Report(Vec<ImportError>);

impl Report {
    fn push(&mut self, line: usize, message: impl Into<String>) {
        self.0.push(ImportError { line, message: message.into() });
    }
}

/// Parses and validates a town hall import file, reporting every problem. A phone number must be
/// of one of the `countries` (`SMS_COUNTRIES`).
pub fn parse_import(json: &str, countries: &AllowedCountries) -> Result<Import, ImportErrors> {
    let file: RawFile<'_> = serde_json::from_str(json)
        .map_err(|e| ImportErrors(vec![ImportError { line: e.line().max(1), message: json_message(&e) }]))?;
    let mut report = Report(Vec::new());

    let mut communities = Vec::with_capacity(file.communities.len());
    let mut community_lines: HashMap<CommunityId, usize> = HashMap::new();
    let mut towns: HashMap<CommunityId, String> = HashMap::new();
    for raw in &file.communities {
        let line = line_of(json, raw);
        let row: CommunityRow = match serde_json::from_str(raw.get()) {
            Ok(row) => row,
            Err(e) => {
                report.push(line, format!("community: {}", json_message(&e)));
                continue;
            }
        };
        let id = match CommunityId::parse(&row.id) {
            Ok(id) => id,
            Err(e) => {
                report.push(line, format!("community \"{}\": {e}", row.id.escape_debug()));
                continue;
            }
        };
        if let Some(first) = community_lines.get(&id) {
            report.push(line, format!("duplicate community id \"{id}\" (first defined on line {first})"));
            continue;
        }
        community_lines.insert(id.clone(), line);
        let (name, town) = (row.name.trim(), row.town.trim());
        towns.insert(id.clone(), town.to_lowercase());
        let mut ok = true;
        if name.is_empty() {
            report.push(line, format!("community \"{id}\": empty name"));
            ok = false;
        }
        if town.is_empty() {
            report.push(line, format!("community \"{id}\": empty town"));
            ok = false;
        }
        let time_zone = match row.time_zone.as_deref().map(TimeZoneId::parse).transpose() {
            Ok(zone) => zone.unwrap_or_default(),
            Err(e) => {
                report.push(line, format!("community \"{id}\": {e}"));
                ok = false;
                TimeZoneId::default()
            }
        };
        if ok {
            communities.push(Community {
                id,
                name: name.to_owned(),
                town: town.to_owned(),
                time_zone,
                sms_budget: row.sms_budget,
            });
        }
    }

    let mut members = Members::default();
    for raw in &file.members {
        let line = line_of(json, raw);
        match serde_json::from_str::<MemberRow>(raw.get()) {
            Ok(row) => members.take(row, line, &towns, countries, &mut report),
            Err(e) => report.push(line, format!("member: {}", json_message(&e))),
        }
    }
    let Members { members, member_lines, .. } = members;

    if report.0.is_empty() {
        Ok(Import { communities, members, member_lines })
    } else {
        Err(ImportErrors(report.0))
    }
}

/// The members of a file as its rows are read: each row checked, and a number or address
/// used twice reported with the line that used it first.
#[derive(Default)]
struct Members {
    members: Vec<Member>,
    member_lines: Vec<usize>,
    phones: HashMap<PhoneNumber, usize>,
    emails: HashMap<Email, usize>,
}

impl Members {
    fn take(
        &mut self,
        row: MemberRow,
        line: usize,
        towns: &HashMap<CommunityId, String>,
        countries: &AllowedCountries,
        report: &mut Report,
    ) {
        let before = report.0.len();
        let Some(member) = validate_member(row, line, towns, countries, report) else { return };
        if let Some(phone) = &member.phone {
            if let Some(first) = self.phones.get(phone) {
                report.push(line, format!("phone number already used on line {first}"));
            } else {
                self.phones.insert(phone.clone(), line);
            }
        }
        if let Some(email) = &member.email {
            if let Some(first) = self.emails.get(email) {
                report.push(line, format!("e-mail address already used on line {first}"));
            } else {
                self.emails.insert(email.clone(), line);
            }
        }
        if report.0.len() == before {
            self.members.push(member);
            self.member_lines.push(line);
        }
    }
}

/// Checks one member row; pushes its problems to `report`.
///
/// Returns a member only if the row itself has no problem (duplicates
/// across rows are checked by the caller).
fn validate_member(
    row: MemberRow,
    line: usize,
    towns: &HashMap<CommunityId, String>,
    countries: &AllowedCountries,
    report: &mut Report,
) -> Option<Member> {
    let before = report.0.len();

    let role = row.role.parse::<Role>();
    if let Err(e) = &role {
        report.push(line, e.to_string());
    }

    let mut communities: Vec<CommunityId> = Vec::with_capacity(row.communities.len());
    let town =
        town_of(&row, role.as_ref().ok().copied(), towns).map_err(|e| report.push(line, e)).ok().flatten();
    if row.communities.is_empty() && role != Ok(Role::Mairie) {
        report.push(line, "a member needs at least one community");
    }
    for raw_id in &row.communities {
        match CommunityId::parse(raw_id) {
            Err(e) => report.push(line, format!("community \"{}\": {e}", raw_id.escape_debug())),
            Ok(id) if !towns.contains_key(&id) => {
                report.push(line, format!("unknown community \"{id}\""));
            }
            Ok(id) if communities.contains(&id) => {
                report.push(line, format!("community \"{id}\" listed twice"));
            }
            Ok(id) => communities.push(id),
        }
    }
    match role {
        Ok(Role::Resident | Role::Referent) if row.communities.len() > 1 => {
            report.push(
                line,
                format!("a {} belongs to exactly one community (found {})", row.role, row.communities.len()),
            );
        }
        Ok(Role::Police) => {
            let mut member_towns = communities.iter().filter_map(|id| towns.get(id));
            if let Some(first) = member_towns.next()
                && member_towns.any(|t| t != first)
            {
                report.push(line, "police communities must all be in the same town");
            }
        }
        _ => {}
    }

    let first_name =
        FirstName::parse(&row.first_name).map_err(|e| report.push(line, format!("first name: {e}"))).ok();
    let last_name =
        LastName::parse(&row.last_name).map_err(|e| report.push(line, format!("last name: {e}"))).ok();
    let email = match row.email.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => Email::parse(s).map_err(|e| report.push(line, e.to_string())).ok(),
    };
    let phone = match row.phone.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => countries.parse_number(s).map_err(|e| report.push(line, e.to_string())).ok(),
    };
    let has_contact = |s: &Option<String>| s.as_deref().is_some_and(|s| !s.trim().is_empty());
    if !has_contact(&row.email) && !has_contact(&row.phone) {
        report.push(line, "a member needs an e-mail address or a phone number");
    }
    let consent = match row.sms_consent.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(_) if !has_contact(&row.phone) => {
            report.push(line, "sms_consent is for a phone number, and this row has none");
            None
        }
        Some(raw) => consent_date(raw).map_err(|e| report.push(line, e)).ok(),
    };

    if report.0.len() != before {
        return None;
    }
    let phone_confirmed = phone.is_none() || consent.is_some();
    Some(Member {
        id: MemberId::new(),
        communities,
        first_name: first_name?,
        last_name: last_name?,
        email,
        phone,
        hide_phone: row.hide_phone,
        // A number is confirmed by the consent collected on paper; any other is invited
        // (`docs/consent.md`).
        phone_confirmed,
        phone_consent: consent,
        sms_alerts: row.sms_alerts,
        email_alerts: row.email_alerts,
        quiet_hours: false,
        role: role.ok()?,
        unsubscribe_token: UnsubscribeToken::generate(),
        email_problem: None,
        sms_problem: None,
        stands_for: None,
        town,
    })
}

/// The town of a town hall's row: given, one of the file's, and no community listed; any other
/// row names no town of its own (its communities say it).
fn town_of(
    row: &MemberRow,
    role: Option<Role>,
    towns: &HashMap<CommunityId, String>,
) -> Result<Option<String>, String> {
    let given = row.town.as_deref().map(str::trim).filter(|t| !t.is_empty());
    match (role, given) {
        (Some(Role::Mairie), None) => Err("a town hall's account (mairie) needs its town".into()),
        (Some(Role::Mairie), Some(_)) if !row.communities.is_empty() => {
            Err("a town hall's account (mairie) belongs to no community: leave its communities empty".into())
        }
        (Some(Role::Mairie), Some(town)) if !towns.values().any(|t| *t == town.to_lowercase()) => {
            Err(format!("town \"{}\": no community of the file is in it", town.escape_debug()))
        }
        (Some(Role::Mairie), Some(town)) => Ok(Some(town.to_owned())),
        (_, Some(_)) => Err("only a town hall's account (mairie) names a town of its own".into()),
        (_, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    fn import_fr(json: &str) -> Result<Import, ImportErrors> {
        parse_import(json, &AllowedCountries::france())
    }

    #[test]
    fn a_number_outside_the_countries_is_reported_with_its_line() {
        let json = r#"{
  "communities": [{"id": "bas-du-fort", "name": "Bas-du-Fort", "town": "Le Gosier"}],
  "members": [
    {"communities": ["bas-du-fort"], "first_name": "Léa", "last_name": "B", "phone": "0690 12 34 56", "role": "resident"},
    {"communities": ["bas-du-fort"], "first_name": "Tom", "last_name": "C", "phone": "+44 7700 900123", "role": "resident"}
  ]
}"#;
        let errs = import_fr(json).unwrap_err();
        assert_eq!(errs.0.len(), 1, "{errs}");
        assert_eq!(errs.0[0].line, 5);
        assert_eq!(errs.0[0].message, "phone number of a country vigie does not text (SMS_COUNTRIES)");
        assert!(!errs.to_string().contains("7700"), "the number is not echoed: {errs}");
        let british = AllowedCountries::parse("44, 590").unwrap();
        assert_eq!(parse_import(json, &british).unwrap().members.len(), 2);
    }

    use super::*;
    use proptest::prelude::*;

    const GOOD: &str = r#"{
  "communities": [
    {"id": "les-tilleuls", "name": "Les Tilleuls", "town": "Rennes"},
    {"id": "le-bourg", "name": "Le Bourg", "town": "Rennes"},
    {"id": "la-gare", "name": "La Gare", "town": "Vitré"}
  ],
  "members": [
    {"communities": ["les-tilleuls"], "first_name": "Marie", "last_name": "Dupont",
     "phone": "06 12 34 56 78", "role": "referent"},
    {"communities": ["le-bourg"], "first_name": "Paul", "last_name": "Martin",
     "email": "Paul@Example.org", "hide_phone": true, "sms_alerts": false, "role": "resident"},
    {"communities": ["les-tilleuls", "le-bourg"], "first_name": "Agent", "last_name": "Durand",
     "email": "police@rennes.example.fr", "phone": "+33 2 99 00 00 00", "email_alerts": false,
     "role": "police"}
  ]
}"#;

    #[test]
    fn parses_a_good_file() {
        let import = import_fr(GOOD).unwrap();
        assert_eq!(import.communities.len(), 3);
        assert_eq!(import.communities[2].town, "Vitré");
        assert_eq!(import.members.len(), 3);
        let marie = &import.members[0];
        assert_eq!(marie.role, Role::Referent);
        assert_eq!(marie.phone.as_ref().unwrap().as_str(), "+33612345678");
        assert!(!marie.hide_phone && marie.sms_alerts && marie.email_alerts);
        let paul = &import.members[1];
        assert_eq!(paul.email.as_ref().unwrap().as_str(), "paul@example.org");
        assert!(paul.hide_phone && !paul.sms_alerts);
        let police = &import.members[2];
        assert_eq!(police.communities.len(), 2);
        assert!(!police.email_alerts);
        assert_ne!(marie.id, paul.id);
        assert_ne!(marie.unsubscribe_token, paul.unsubscribe_token);
    }

    #[test]
    fn a_community_may_name_its_time_zone() {
        let json = r#"{
  "communities": [
    {"id": "bas-du-fort", "name": "Bas-du-Fort", "town": "Le Gosier", "time_zone": "America/Guadeloupe"},
    {"id": "le-bourg", "name": "Le Bourg", "town": "Rennes"}
  ],
  "members": []
}"#;
        let import = import_fr(json).unwrap();
        assert_eq!(import.communities[0].time_zone.as_str(), "America/Guadeloupe");
        assert_eq!(import.communities[1].time_zone, TimeZoneId::paris());
        assert_eq!(import.communities[1].time_zone.as_str(), "Europe/Paris");

        let json = r#"{
  "communities": [
    {"id": "c", "name": "C", "town": "T"},
    {"id": "d", "name": "D", "town": "T", "time_zone": "Europe/Pariss"}
  ],
  "members": []
}"#;
        let errs = import_fr(json).unwrap_err();
        assert_eq!(errs.0.len(), 1, "{errs}");
        assert_eq!(errs.0[0].line, 4);
        assert!(errs.to_string().contains("community \"d\": invalid time zone"), "{errs}");
    }

    #[test]
    fn syntax_error_line() {
        let errs = import_fr("{\n  \"communities\": [\n  ,\n]}").unwrap_err();
        assert_eq!(errs.0.len(), 1);
        assert_eq!(errs.0[0].line, 3);
        assert!(errs.to_string().starts_with("line 3: "), "{errs}");
        assert!(import_fr("").is_err());
        assert!(import_fr("{\"communities\": []}").is_err());
        assert!(import_fr("{\"communities\": [], \"members\": [], \"x\": 1}").is_err());
        assert!(import_fr("{\"communities\": [], \"members\": []}").is_ok());
    }

    #[test]
    fn reports_every_error_with_its_line() {
        let json = r#"{
  "communities": [
    {"id": "les-tilleuls", "name": "Les Tilleuls", "town": "Rennes"},
    {"id": "Bad Id", "name": "X", "town": "Rennes"},
    {"id": "les-tilleuls", "name": "Again", "town": "Rennes"},
    {"id": "vitre", "name": " ", "town": "Vitré"},
    {"id": "x", "name": "X", "town": "Rennes", "mayor": "Bob"}
  ],
  "members": [
    {"communities": ["les-tilleuls"], "first_name": "Marie", "last_name": "Dupont",
     "phone": "0612345678", "email": "marie@example.org", "role": "resident"},
    {"communities": ["les-tilleuls"], "first_name": "Marie2", "last_name": "Dupont",
     "phone": "+33 6 12 34 56 78", "email": "MARIE@example.org", "role": "resident"},
    {"communities": [], "first_name": "", "last_name": "L", "role": "boss"},
    {"communities": ["nowhere", "les-tilleuls"], "first_name": "A", "last_name": "B",
     "phone": "12", "role": "resident"},
    {"communities": ["les-tilleuls", "vitre"], "first_name": "Agent", "last_name": "C",
     "email": "agent@example.org", "role": "police"},
    {"communities": ["les-tilleuls"], "first_name": "A", "last_name": "B", "role": "resident", "age": 3}
  ]
}"#;
        let errs = import_fr(json).unwrap_err();
        let text = errs.to_string();
        let lines: Vec<usize> = errs.0.iter().map(|e| e.line).collect();
        assert_eq!(lines, [4, 5, 6, 7, 12, 12, 14, 14, 14, 14, 15, 15, 15, 17, 19], "{text}");
        assert!(
            text.contains("line 5: duplicate community id \"les-tilleuls\" (first defined on line 3)"),
            "{text}"
        );
        assert!(text.contains("line 12: phone number already used on line 10"), "{text}");
        assert!(text.contains("line 12: e-mail address already used on line 10"), "{text}");
        assert!(text.contains("line 15: unknown community \"nowhere\""), "{text}");
        assert!(text.contains("line 17: police communities must all be in the same town"), "{text}");
        assert!(text.contains("unknown field `age`"), "{text}");
        assert!(!text.contains("0612345678") && !text.contains("marie@"), "{text}");
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,300}") {
            let _ = import_fr(&s);
        }

        #[test]
        fn never_panics_on_json_like(s in "[\\[\\]{}\",:a-z0-9 \\n]{0,200}") {
            let _ = import_fr(&format!("{{\"communities\":[], \"members\":[{s}]}}"));
        }

        #[test]
        fn bad_row_line_is_reported(blank in 0usize..20, good_rows in 0usize..5) {
            let mut json = String::from("{\"communities\": [{\"id\": \"c\", \"name\": \"C\", \"town\": \"T\"}],\n");
            json.push_str(&"\n".repeat(blank));
            json.push_str("\"members\": [\n");
            for i in 0..good_rows {
                json.push_str(&format!(
                    "{{\"communities\": [\"c\"], \"first_name\": \"A\", \"last_name\": \"B\", \"email\": \"a{i}@x.fr\", \"role\": \"resident\"}},\n"
                ));
            }
            json.push_str("  {\"communities\": [\"c\"], \"first_name\": \"A\", \"last_name\": \"B\", \"role\": \"resident\"}\n]}");
            let errs = import_fr(&json).unwrap_err();
            prop_assert_eq!(errs.0.len(), 1);
            prop_assert_eq!(errs.0[0].line, 3 + blank + good_rows);
        }
    }
}
