//! The browser harness itself, on a tiny form served locally: Chromium starts, fields are found
//! by their labels, forms submit by click and by Enter, pages are read and photographed, and
//! nothing is left running.

use axum::Form;
use axum::Router;
use axum::http::HeaderMap;
use axum::response::Html;
use axum::routing::{get, post};
use serde::Deserialize;
use vigie_tests::browser::{Browser, serve};

const FORM: &str = r#"<!doctype html>
<html lang="fr">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Essai</title>
<style>body { font: 18px/1.4 system-ui, sans-serif; margin: 1rem; } input, select { display: block; font: inherit; margin-bottom: 1rem; } button { font: inherit; padding: .5rem 1rem; }</style>
</head>
<body>
<main>
<h1>Essai du navigateur</h1>
<form method="post" action="/bonjour">
  <label for="prenom">Votre prénom</label>
  <input id="prenom" name="prenom" autocomplete="given-name">
  <label for="commune">Commune</label>
  <select id="commune" name="commune"><option>Bellerive</option><option>Saint-Aubin</option></select>
  <label><input type="checkbox" name="sms" value="oui" checked> Recevoir les alertes par SMS</label>
  <button type="submit">Envoyer</button>
</form>
</main>
</body>
</html>
"#;

#[derive(Deserialize)]
struct Hello {
    prenom: String,
    commune: String,
    sms: Option<String>,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

async fn hello(headers: HeaderMap, Form(form): Form<Hello>) -> Html<String> {
    let lang = headers.get("accept-language").and_then(|v| v.to_str().ok()).unwrap_or("");
    Html(format!(
        "<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Merci</title></head><body><main>\
         <h1>Bonjour, {} !</h1><p>Commune : {}</p><p>SMS : {}</p><p>Langue : {}</p></main></body></html>",
        escape(&form.prenom),
        escape(&form.commune),
        if form.sms.is_some() { "oui" } else { "non" },
        escape(lang),
    ))
}

fn app() -> Router {
    Router::new().route("/", get(|| async { Html(FORM) })).route("/bonjour", post(hello))
}

#[tokio::test]
async fn fills_a_form_by_its_labels_submits_it_and_reads_the_next_page() {
    // The harness's own pictures never go to docs/screenshots.
    let shots = std::env::temp_dir().join("vigie-screenshots");
    let (url, _server) = serve(app()).await;
    let browser = Browser::start().await.with_base_url(&url);
    browser.goto("/").await;
    assert_eq!(browser.title().await, "Essai");
    let width = browser.client().execute("return window.innerWidth", vec![]).await.unwrap();
    assert_eq!(width, 412, "a phone-sized window");

    browser.fill("Votre prénom", "Marie <b>").await;
    assert_eq!(browser.value("Votre prénom").await, "Marie <b>");
    browser.fill("Commune", "Saint-Aubin").await;
    assert!(browser.is_checked("Recevoir les alertes par SMS").await);
    browser.uncheck("alertes par sms").await; // case-insensitive containment
    browser.screenshot_to(&shots.join("smoke-form.png")).await;
    browser.click_button("Envoyer").await;

    let text = browser.wait_for_text("Bonjour, Marie <b> !").await;
    assert_eq!(browser.path().await, "/bonjour");
    assert!(text.contains("Commune : Saint-Aubin"), "{text}");
    assert!(text.contains("SMS : non"), "{text}");
    assert!(text.contains("Langue : fr-FR"), "French first: {text}");
    let shot = browser.screenshot_to(&shots.join("smoke-thanks.png")).await;
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), 412, "as wide as the phone");
    browser.close().await;
}

#[tokio::test]
async fn submits_with_the_keyboard_and_finds_fields_by_css_too() {
    let (url, _server) = serve(app()).await;
    let browser = Browser::start_desktop().await.with_base_url(&url);
    browser.goto("/").await;
    let width = browser.client().execute("return window.innerWidth", vec![]).await.unwrap();
    assert_eq!(width, 1280, "a desktop-sized window");

    // Tab order from the name field: the town, the checkbox, the button.
    browser.fill("#prenom", "Karim").await;
    assert_eq!(browser.focused().await, r#"input "Votre prénom""#);
    assert_eq!(browser.press_tab().await, r#"select "Commune""#);
    assert_eq!(browser.press_tab().await, r#"input "Recevoir les alertes par SMS""#);
    assert_eq!(browser.press_tab().await, r#"button "Envoyer""#);

    browser.press_enter("Votre prénom").await;
    let text = browser.wait_for_text("Bonjour, Karim !").await;
    assert!(text.contains("SMS : oui"), "{text}");
    browser.close().await;
}

#[tokio::test]
async fn a_browser_that_is_only_dropped_leaves_no_process_behind() {
    let (url, _server) = serve(app()).await;
    let browser = Browser::start().await.with_base_url(&url);
    browser.goto("/").await;
    let pids = browser_pids();
    assert!(!pids.is_empty(), "chromedriver and Chromium run");
    drop(browser);
    // Gone, or a zombie waiting for init to reap it.
    let alive = |pid: &u32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            stat.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
        })
    };
    let left: Vec<u32> = pids.into_iter().filter(alive).collect();
    assert!(left.is_empty(), "still running: {left:?}");
}

/// The chromedriver and Chromium processes that are descendants of this test process.
fn browser_pids() -> Vec<u32> {
    let me = std::process::id();
    let parent_of = |pid: u32| -> Option<u32> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // pid (comm) state ppid ...: comm may hold spaces, so split after the last ')'.
        stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()
    };
    let name_of =
        |pid: u32| std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default().trim().to_owned();
    let pids: Vec<u32> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    pids.into_iter()
        .filter(|&pid| {
            let name = name_of(pid);
            if !name.starts_with("chrom") {
                return false;
            }
            let mut p = pid;
            while let Some(parent) = parent_of(p) {
                if parent == me {
                    return true;
                }
                if parent <= 1 {
                    break;
                }
                p = parent;
            }
            false
        })
        .collect()
}
