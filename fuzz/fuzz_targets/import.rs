//! `parse_import`, the town hall import: never panics; every error and every member row has a
//! line of the file; what it accepts is consistent (known communities, one contact at least,
//! numbers and addresses used once).

#![no_main]

use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use vigie::domain::{AllowedCountries, Role, parse_import};

fuzz_target!(|data: &[u8]| {
    let json = String::from_utf8_lossy(data);
    let lines = json.bytes().filter(|&b| b == b'\n').count() + 1;
    let countries = AllowedCountries::default();
    match parse_import(&json, &countries) {
        Err(errors) => {
            assert!(!errors.0.is_empty());
            for e in &errors.0 {
                assert!((1..=lines).contains(&e.line), "line {} of {lines}: {}", e.line, e.message);
            }
        }
        Ok(import) => {
            assert_eq!(import.member_lines.len(), import.members.len());
            assert!(import.member_lines.iter().all(|l| (1..=lines).contains(l)), "{:?}", import.member_lines);
            assert!(import.member_lines.windows(2).all(|w| w[0] <= w[1]), "{:?}", import.member_lines);
            let communities: HashSet<_> = import.communities.iter().map(|c| &c.id).collect();
            assert_eq!(communities.len(), import.communities.len());
            let (mut phones, mut emails) = (HashSet::new(), HashSet::new());
            for m in &import.members {
                assert!(m.phone.is_some() || m.email.is_some());
                assert!(!m.communities.is_empty());
                assert!(m.communities.iter().all(|c| communities.contains(c)));
                if m.role != Role::Police {
                    assert_eq!(m.communities.len(), 1);
                }
                if let Some(p) = &m.phone {
                    assert!(countries.allows(p));
                    assert!(phones.insert(p.clone()));
                }
                if let Some(e) = &m.email {
                    assert!(emails.insert(e.clone()));
                }
            }
        }
    }
});
