//! The member directory: imports and the one-number-one-member rule, against the emulator.

use vigie::app::import::{LoadError, load};
use vigie::domain::{
    AllowedCountries, FirstName, LastName, Member, MemberId, PhoneNumber, Role, UnsubscribeToken,
    parse_import,
};
use vigie::ports::{MemberLookup, RegisterError, Registry};
use vigie_tests::Stack;

#[tokio::test]
async fn an_import_that_clashes_with_registered_members_is_rejected_whole_with_its_lines() {
    let stack = Stack::demo().await;
    let file = r#"{
  "communities": [{ "id": "la-gare", "name": "La Gare", "town": "Bellerive" }],
  "members": [
    { "communities": ["la-gare"], "first_name": "Nadia", "last_name": "Haddad",
      "email": "nadia@example.org", "role": "resident" },
    { "communities": ["la-gare"], "first_name": "Marc", "last_name": "Henry",
      "phone": "06 39 98 00 01", "role": "resident" }
  ]
}"#;
    let import = parse_import(file, &AllowedCountries::default()).expect("the file itself is valid");
    let Err(LoadError::Rejected(errors)) = load(stack.store(), &stack.shared_texter(), &import).await else {
        panic!("Marie's number is taken")
    };
    assert_eq!(errors.0.len(), 1);
    assert_eq!(errors.0[0].line, 6, "{errors}");
    assert!(errors.to_string().contains("phone number already belongs"), "{errors}");
    let nadia = vigie::domain::Email::parse("nadia@example.org").unwrap();
    assert!(stack.store().member_by_email(&nadia).await.unwrap().is_none(), "nothing half-imported");
    let gare = vigie::domain::CommunityId::parse("la-gare").unwrap();
    assert!(stack.store().community(&gare).await.unwrap().is_none(), "nothing half-imported");
}

#[tokio::test]
async fn a_bad_import_file_reports_every_bad_row_with_its_line() {
    let file = r#"{
  "communities": [{ "id": "les-tilleuls", "name": "Les Tilleuls", "town": "Bellerive" }],
  "members": [
    { "communities": ["les-tilleuls"], "first_name": "Ok", "last_name": "Fine", "phone": "0639980101", "role": "resident" },
    { "communities": ["nowhere"], "first_name": "Bad", "last_name": "Community", "phone": "0639980102", "role": "resident" },
    { "communities": ["les-tilleuls"], "first_name": "Bad", "last_name": "Phone", "phone": "12", "role": "resident" },
    { "communities": ["les-tilleuls"], "first_name": "Dup", "last_name": "Phone", "phone": "+33639980101", "role": "resident" }
  ]
}"#;
    let errors = parse_import(file, &AllowedCountries::default()).expect_err("three bad rows");
    let lines: Vec<usize> = errors.0.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![5, 6, 7], "{errors}");
}

fn member(first_name: &str, phone: &str) -> Member {
    Member {
        id: MemberId::new(),
        communities: vec![vigie::domain::CommunityId::parse("les-tilleuls").unwrap()],
        first_name: FirstName::parse(first_name).unwrap(),
        last_name: LastName::parse("Test").unwrap(),
        email: None,
        phone: Some(PhoneNumber::parse(phone).unwrap()),
        hide_phone: false,
        phone_confirmed: true,
        phone_consent: None,
        sms_alerts: true,
        email_alerts: true,
        quiet_hours: false,
        role: Role::Resident,
        unsubscribe_token: UnsubscribeToken::generate(),
        email_problem: None,
        sms_problem: None,
        stands_for: None,
        town: None,
    }
}

#[tokio::test]
async fn a_number_belongs_to_one_member_whatever_its_format() {
    let stack = Stack::demo().await;
    let (a, b) = (member("Alice", "06 39 98 01 11"), member("Bruno", "+33639980111"));
    // One after the other: moto's transactions are not isolated from concurrent ones (a failed
    // transaction rolls back to a snapshot that can predate a concurrent commit), so racing them
    // here would test the emulator. The refusal itself is the conditional write, as on AWS.
    let ra = stack.store().register(&a).await;
    let rb = stack.store().register(&b).await;
    let taken = [&ra, &rb].iter().filter(|r| matches!(r, Err(RegisterError::PhoneTaken))).count();
    assert_eq!(taken, 1, "exactly one wins: {ra:?} {rb:?}");
    assert!(ra.is_ok() || rb.is_ok());
    let owner =
        stack.store().member_by_phone(&PhoneNumber::parse("0639980111").unwrap()).await.unwrap().unwrap();
    assert!(owner.id == a.id || owner.id == b.id);

    // And a number already in the demo cannot be registered again.
    let again = stack.store().register(&member("Claire", "06 39 98 00 02")).await;
    assert!(matches!(again, Err(RegisterError::PhoneTaken)), "{again:?}");
    // Nor can a member join a community that does not exist.
    let mut lost = member("Denis", "06 39 98 01 12");
    lost.communities = vec![vigie::domain::CommunityId::parse("atlantis").unwrap()];
    assert!(matches!(stack.store().register(&lost).await, Err(RegisterError::UnknownCommunity)));
}

#[tokio::test]
async fn an_imported_number_without_paper_consent_is_invited_and_gets_alerts_only_after_oui() {
    let stack = Stack::demo().await;
    let mut relay = stack.relay().await;
    let file = r#"{
  "communities": [{ "id": "la-gare", "name": "La Gare", "town": "Bellerive" }],
  "members": [
    { "communities": ["la-gare"], "first_name": "Nadia", "last_name": "Haddad",
      "phone": "06 39 98 01 71", "sms_consent": "2026-10-01", "role": "resident" },
    { "communities": ["la-gare"], "first_name": "Marc", "last_name": "Henry",
      "phone": "06 39 98 01 72", "email": "marc.henry@example.org", "role": "resident" }
  ]
}"#;
    let import = parse_import(file, &AllowedCountries::default()).expect("a valid file");
    let loaded = load(stack.store(), &stack.shared_texter(), &import).await.expect("loaded");
    assert_eq!((loaded.members, loaded.invited, loaded.invitations_not_sent), (2, 1, 0));
    let (nadia, marc) = ("+33639980171", "+33639980172");
    let outbox = stack.outbox().await;
    assert_eq!(outbox.sms_to(nadia).count(), 0, "a paper consent: nothing to ask");
    let invitation: Vec<_> = outbox.sms_to(marc).map(|s| s.body.clone()).collect();
    assert_eq!(
        invitation,
        [
            "vigie : la mairie de Bellerive vous a inscrit aux alertes SMS entre voisins de La Gare. Répondez OUI pour les recevoir, STOP pour refuser."
        ]
    );
    let stored = stack.store().member_by_phone(&PhoneNumber::parse(nadia).unwrap()).await.unwrap().unwrap();
    assert_eq!((stored.phone_confirmed, stored.phone_consent.as_deref()), (true, Some("2026-10-01")));

    // Before his OUI, Marc gets alerts by email only; after it, by SMS too.
    stack.text(nadia, "Voiture suspecte devant la gare").await;
    relay.drain().await.expect("stream read");
    let outbox = stack.outbox().await;
    assert_eq!(outbox.sms_to(marc).count(), 1, "still only the invitation");
    assert_eq!(outbox.emails_to("marc.henry@example.org").count(), 1);
    assert_eq!(stack.text(marc, "Oui").await, vigie_tests::Handled::InvitationAccepted);
    stack.text(nadia, "La voiture est repartie vers le centre").await;
    relay.drain().await.expect("stream read");
    let outbox = stack.outbox().await;
    assert!(outbox.sms_to(marc).any(|s| s.body.contains("La voiture est repartie")), "texted after OUI");

    // A consent must be a date, and for a number.
    let bad = r#"{
  "communities": [{ "id": "la-gare", "name": "La Gare", "town": "Bellerive" }],
  "members": [
    { "communities": ["la-gare"], "first_name": "A", "last_name": "B", "phone": "0639980181", "sms_consent": "hier", "role": "resident" },
    { "communities": ["la-gare"], "first_name": "C", "last_name": "D", "email": "c@example.org", "sms_consent": "2026-10-01", "role": "resident" },
    { "communities": ["la-gare"], "first_name": "E", "last_name": "F", "phone": "0639980182", "sms_consent": "2026-02-30", "role": "resident" }
  ]
}"#;
    let errors = parse_import(bad, &AllowedCountries::default()).expect_err("three bad rows");
    let lines: Vec<usize> = errors.0.iter().map(|e| e.line).collect();
    assert_eq!(lines, [4, 5, 6], "{errors}");
    assert!(errors.to_string().contains("expected a date as YYYY-MM-DD"), "{errors}");
    assert!(errors.to_string().contains("this row has none"), "{errors}");
}
