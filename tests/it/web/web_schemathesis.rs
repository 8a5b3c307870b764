//! schemathesis against `docs/openapi.yaml`: the web function served on a local port with the
//! demo data, a referent signed in (her session cookie and anti-CSRF token on every request),
//! and schemathesis generating requests from the document, valid and invalid. Every answer
//! must be no 5xx and exactly as documented: a documented status, content type and schema.
//!
//! schemathesis lives in its own pinned venv, `.venv-api` (`infra/requirements-api.txt`), which
//! `make test` installs. `VIGIE_SCHEMATHESIS_SEED` replays a run (its seed is in the output).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use vigie_tests::browser::serve;
use vigie_tests::web_client::WebClient;
use vigie_tests::{DEMO_SEED, Stack};

/// Test cases per operation and phase: enough to reach every field, quick on 2 cores.
const MAX_EXAMPLES: &str = "25";
/// The run's seed unless `VIGIE_SCHEMATHESIS_SEED` says otherwise: the same run every time.
const DEFAULT_SEED: &str = "20260101";
/// Every check but `positive_data_acceptance`: JSON Schema cannot say what a valid first name
/// or phone number is (the domain's rules), so a schema-valid `"first_name": ""` is rightly a
/// 422, which the document lists. Schema-invalid data must still be refused
/// (`negative_data_rejection`), requests without the session answer 401 (`ignored_auth`), and
/// so on.
const CHECKS: &str = "all";
const NOT_CHECKED: &str = "positive_data_acceptance";

/// How schemathesis signs in: the session cookie and the anti-CSRF token, from the environment.
const CONFIG: &str = r#"
[auth.openapi.session]
api_key = "${VIGIE_SESSION}"

[parameters]
"header.X-CSRF-Token" = "${VIGIE_CSRF}"
"#;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace").to_owned()
}

fn schemathesis() -> PathBuf {
    let bin = workspace().join(".venv-api/bin/schemathesis");
    assert!(
        bin.exists(),
        "{} is missing: `make test` installs it (or `make .venv-api/.installed`), from \
         infra/requirements-api.txt",
        bin.display()
    );
    bin
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_answers_every_generated_request_as_documented_and_never_fails() {
    let bin = schemathesis();
    // Many alerts from one member: lift the hourly limit (429 is checked in web_openapi.rs), so
    // that schemathesis sees the answers of alerts recorded.
    let mut stack = Stack::start_with(|c| c.alerts_per_hour = 10_000).await;
    stack.seed(DEMO_SEED).await;
    let state = stack.web_state(Duration::ZERO);
    let (url, _server) = serve(web::router(state)).await;

    // Marie, the referent of Les Tilleuls: every operation is hers to call.
    let mut marie = WebClient::new(&stack);
    marie.sign_in(&stack, "Marie").await;
    let cookie = marie.cookie("__Host-vigie_session").expect("a session cookie").to_owned();
    let me = marie.get("/api/me").await;
    let csrf = me.json()["csrf"].as_str().expect("the anti-CSRF token").to_owned();

    let seed = std::env::var("VIGIE_SCHEMATHESIS_SEED").unwrap_or_else(|_| DEFAULT_SEED.to_owned());
    let document = workspace().join("docs/openapi.yaml");
    let scratch = std::env::temp_dir().join(format!("vigie-schemathesis-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("a scratch directory");
    // The cookie as the document's security scheme, the token as its header parameter: so
    // schemathesis also sends requests without them (and expects them refused).
    let config = scratch.join("schemathesis.toml");
    std::fs::write(&config, CONFIG).expect("schemathesis.toml");
    let mut command = Command::new(&bin);
    command
        .current_dir(&scratch)
        .env("VIGIE_SESSION", &cookie)
        .env("VIGIE_CSRF", &csrf)
        .args(["--no-color", "--config-file"])
        .arg(&config)
        .arg("run")
        .arg(&document)
        .args(["--url", &url])
        .args(["--checks", CHECKS])
        .args(["--exclude-checks", NOT_CHECKED])
        // The session is the configured auth, not a parameter to vary.
        .args(["--generation-with-security-parameters", "false"])
        .args(["--phases", "examples,coverage,fuzzing,stateful"])
        .args(["--max-examples", MAX_EXAMPLES])
        .args(["--seed", &seed])
        .args(["--workers", "1"])
        .args(["--generation-database", "none"])
        .args(["--request-timeout", "20"]);
    let started = Instant::now();
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("schemathesis ran")
        .expect("schemathesis starts");
    let _ = std::fs::remove_dir_all(&scratch);
    let text =
        format!("{}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    println!("schemathesis: {:.1} s", started.elapsed().as_secs_f64());
    assert!(output.status.success(), "schemathesis found problems ({}):\n{text}", output.status);
    // Not a run of 401s: the session worked, the document's example alert was recorded.
    let tilleuls = vigie::domain::CommunityId::parse("les-tilleuls").expect("a community id");
    let feed =
        vigie::ports::Feed::community_alerts(stack.store(), &tilleuls, None, 1).await.expect("the feed");
    assert!(!feed.items.is_empty(), "schemathesis raised no alert: was it signed in?\n{text}");
}
