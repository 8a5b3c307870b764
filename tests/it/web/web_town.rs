//! The town hall's desk (role `mairie`), against the emulator: Bellerive's town hall sees its
//! communities counted, creates one, renames one, appoints a referent who then has the
//! referent's page, and removes them again; it never sees an address or a hidden number, and the
//! communities of another town do not exist for it.

use axum::http::{Method, StatusCode};
use serde_json::json;
use vigie::domain::Role;
use vigie::ports::MemberLookup;
use vigie_tests::Stack;
use vigie_tests::web_client::WebClient;

async fn signed_in(stack: &Stack, first_name: &str) -> WebClient {
    let mut web = WebClient::new(stack);
    web.sign_in(stack, first_name).await;
    web
}

/// The row of the town's table that links to `id`.
fn row_of<'a>(page: &'a str, id: &str) -> &'a str {
    let at =
        page.find(&format!("/town/communities/{id}\"")).unwrap_or_else(|| panic!("a row for {id}: {page}"));
    let end = page[at..].find("</tr>").expect("the row's end");
    &page[at..at + end]
}

#[tokio::test]
async fn the_town_hall_manages_its_communities_and_their_referents_without_seeing_private_data() {
    let stack = Stack::demo().await;
    let mut helene = signed_in(&stack, "Hélène").await;
    let csrf = helene.get("/api/me").await.json()["csrf"].as_str().expect("a csrf").to_owned();

    // Her home is the desk; the neighbours' pages send her there.
    for path in ["/", "/members", "/alerts/new"] {
        let home = helene.get(path).await;
        assert_eq!((home.status, home.location()), (StatusCode::SEE_OTHER, Some("/town")), "{path}");
    }
    let desk = helene.get("/town").await;
    assert_eq!(desk.status, StatusCode::OK, "{}", desk.body);
    let tilleuls: Vec<_> =
        stack.members.iter().filter(|m| m.belongs_to(&"les-tilleuls".parse().unwrap())).collect();
    let row = row_of(&desk.body, "les-tilleuls");
    assert!(row.contains(&format!("<td>{}</td>", tilleuls.len())), "every member counted: {row}");
    assert!(row.contains("Marie Lefèvre"), "its referent named: {row}");
    assert!(row_of(&desk.body, "le-moulin").contains("Paul"), "{}", desk.body);

    // A community's members: numbers shown only where their owners show them, no address.
    let page = helene.get("/town/communities/les-tilleuls").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Karim Benali") && page.body.contains("numéro caché"), "{}", page.body);
    assert!(page.body.contains("06 39 98 00 03"), "Jeanne shows her number: {}", page.body);
    for member in &stack.members {
        if let Some(email) = &member.email {
            assert!(
                !page.body.contains(email.as_str()) && !desk.body.contains(email.as_str()),
                "{email} shown"
            );
        }
        if let Some(phone) = member.phone.as_ref().filter(|_| member.hide_phone) {
            let digits = phone.as_str().trim_start_matches("+33");
            let flat: String = page.body.chars().filter(|c| !c.is_whitespace()).collect();
            assert!(!flat.contains(digits), "{}'s hidden number shown", member.first_name);
        }
    }

    // A new community, in the town's zone; the same name again is refused, as is an empty one.
    let created =
        helene.post("/town/communities", &[("csrf", &csrf), ("name", "Les Hauts  de Bellerive")]).await;
    assert_eq!(created.location(), Some("/town/communities/les-hauts-de-bellerive?done=created"));
    let community = stack.store().community(&"les-hauts-de-bellerive".parse().unwrap()).await.unwrap();
    let community = community.expect("created");
    assert_eq!((community.name.as_str(), community.town.as_str()), ("Les Hauts de Bellerive", "Bellerive"));
    let again =
        helene.post("/town/communities", &[("csrf", &csrf), ("name", "les hauts de BELLERIVE")]).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(again.body.contains("Une communauté porte déjà ce nom"), "{}", again.body);
    let empty = helene.post("/town/communities", &[("csrf", &csrf), ("name", "  ")]).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(helene.get("/town").await.body.contains("Les Hauts de Bellerive"));

    // Renamed: the id, in every link, stays.
    let renamed = helene
        .post("/town/communities/le-moulin/rename", &[("csrf", &csrf), ("name", "Le Vieux Moulin")])
        .await;
    assert_eq!(renamed.location(), Some("/town/communities/le-moulin?done=renamed"));
    assert!(row_of(&helene.get("/town").await.body, "le-moulin").contains("Le Vieux Moulin"));

    // Karim, a resident, is appointed: he has the referent's page; removed, he has it no more.
    let karim_id = stack.member("Karim").id;
    let mut karim = signed_in(&stack, "Karim").await;
    assert_eq!(karim.get("/admin").await.status, StatusCode::FORBIDDEN);
    let appoint = format!("/town/communities/les-tilleuls/referents/{karim_id}");
    let done = helene.post(&appoint, &[("csrf", &csrf)]).await;
    assert_eq!(done.location(), Some("/town/communities/les-tilleuls?done=appointed"));
    let admin = karim.get("/admin").await;
    assert_eq!(admin.status, StatusCode::OK, "{}", admin.body);
    assert!(admin.body.contains("Les Tilleuls"));
    // Appointed twice: he is no resident any more.
    let twice = helene.post(&appoint, &[("csrf", &csrf)]).await;
    assert_eq!(twice.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(twice.body.contains("Seul un habitant"), "{}", twice.body);
    let dismissed = helene.post(&format!("{appoint}/remove"), &[("csrf", &csrf)]).await;
    assert_eq!(dismissed.location(), Some("/town/communities/les-tilleuls?done=dismissed"));
    assert_eq!(karim.get("/admin").await.status, StatusCode::FORBIDDEN);
    let karim_now = stack.store().member(karim_id).await.unwrap().expect("still a member");
    assert_eq!(karim_now.role, Role::Resident);
    assert!(karim_now.belongs_to(&"les-tilleuls".parse().unwrap()), "still of his community");

    // Inès is of Le Moulin: not a member of Les Tilleuls to appoint.
    let ines = stack.member("Inès").id;
    let wrong =
        helene.post(&format!("/town/communities/les-tilleuls/referents/{ines}"), &[("csrf", &csrf)]).await;
    assert_eq!(wrong.status, StatusCode::NOT_FOUND);

    // The API says and does the same.
    let town = helene.api(Method::GET, "/api/town", None).await;
    assert_eq!(town.status, StatusCode::OK);
    let names: Vec<String> = town.json()["communities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["community"]["name"].to_string())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    let put = helene.api(Method::PUT, &appoint.replacen("/town", "/api/town", 1), None).await;
    assert_eq!(put.status, StatusCode::NO_CONTENT, "{}", put.body);
    assert_eq!(stack.store().member(karim_id).await.unwrap().unwrap().role, Role::Referent);
    let taken =
        helene.api(Method::POST, "/api/town/communities", Some(json!({ "name": "Les Tilleuls" }))).await;
    assert_eq!((taken.status, taken.json()["error"].as_str()), (StatusCode::CONFLICT, Some("name_taken")));
}

#[tokio::test]
async fn another_towns_communities_do_not_exist_for_a_town_hall() {
    let mut stack = Stack::demo().await;
    stack
        .seed(
            r#"{"communities": [{ "id": "les-vignes", "name": "Les Vignes", "town": "Valmont" }],
                "members": [{ "communities": [], "town": "Valmont", "first_name": "Yvonne", "last_name": "Roux",
                              "email": "mairie@valmont.example.org", "role": "mairie" }]}"#,
        )
        .await;
    let mut yvonne = signed_in(&stack, "Yvonne").await;
    let desk = yvonne.get("/town").await;
    assert!(desk.body.contains("Les Vignes") && !desk.body.contains("Les Tilleuls"), "{}", desk.body);
    assert_eq!(yvonne.get("/town/communities/les-tilleuls").await.status, StatusCode::NOT_FOUND);
    let csrf = yvonne.get("/api/me").await.json()["csrf"].as_str().unwrap().to_owned();
    let rename = yvonne
        .post("/town/communities/les-tilleuls/rename", &[("csrf", &csrf), ("name", "Chez Yvonne")])
        .await;
    assert_eq!(rename.status, StatusCode::NOT_FOUND);
    let tilleuls = stack.store().community(&"les-tilleuls".parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(tilleuls.name, "Les Tilleuls");
    // A community she creates is of Valmont.
    let created = yvonne.post("/town/communities", &[("csrf", &csrf), ("name", "Le Clos")]).await;
    assert_eq!(created.location(), Some("/town/communities/le-clos?done=created"));
    let clos = stack.store().community(&"le-clos".parse().unwrap()).await.unwrap().expect("created");
    assert_eq!(clos.town, "Valmont");
}
