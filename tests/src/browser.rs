//! Browser tests in a real headless Chromium: Debian's `chromium` driven through its
//! `chromedriver` (WebDriver) with [`fantoccini`], against pages served locally by [`serve`].
//!
//! ```no_run
//! # async fn demo(router: axum::Router) {
//! use vigie_tests::browser::{Browser, serve};
//! let (url, _server) = serve(router).await;
//! let browser = Browser::start().await.with_base_url(&url);
//! browser.goto("/").await;
//! browser.fill("Adresse e-mail", "marie@example.org").await; // found by its <label>
//! browser.click_button("Recevoir le lien").await;
//! browser.wait_for_text("Un lien de connexion").await;
//! browser.screenshot("sign-in").await;
//! browser.close().await;
//! # }
//! ```
//!
//! - **Install**: `infra/install-chromium.sh` (run by `make test`) installs `chromium` and
//!   `chromium-driver` from Debian. Nothing is downloaded by the tests themselves.
//! - **One browser at a time**: [`Browser::start`] waits for a lock file in the temp directory,
//!   so browser tests run one after the other even across test binaries (or under nextest),
//!   which is kinder to a 2-core machine. The lock is released when the [`Browser`] goes.
//! - **Lifetime**: chromedriver runs in its own process group under `sh`, which kills the whole
//!   group (chromedriver, Chromium and its helpers) as soon as the pipe to its stdin closes:
//!   when the [`Browser`] is dropped, or when the test process exits in any way. [`Browser::close`]
//!   ends the WebDriver session first, so that Chromium quits cleanly.
//! - **Hermetic profile**: a fresh `--user-data-dir` and `HOME` under the temp directory, removed
//!   afterwards; the flags that keep Chromium off the network (this machine's network is closed).
//! - **A user's view**: fields are found by their `<label>` (or `aria-label`), buttons and links by
//!   their text, as a person would; a CSS selector is accepted where no label matches. Every
//!   helper waits (up to [`Options::timeout`]) for what it looks for, and on failure panics with
//!   the page's address and text, and the path of a screenshot of the moment.
//! - **Screenshots**: [`Browser::screenshot`] writes `docs/screenshots/<name>.png` when
//!   `VIGIE_SCREENSHOTS=1`, else into `$TMPDIR/vigie-screenshots/`, so `make test` leaves the
//!   tree clean.
//! - **Language**: French by default (`Accept-Language: fr-FR,fr`), as the service;
//!   [`Options::lang`] changes it.
//! - **Logs**: chromedriver's and Chromium's output go to `$TMPDIR/vigie-chromedriver-<port>.log`,
//!   kept when the test fails.

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, TcpListener as StdTcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::wd::{Capabilities, TimeoutConfiguration, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

/// Debian's Chromium and ChromeDriver (packages `chromium`, `chromium-driver`).
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Chromium's flags: headless, as root in a container, and off the network (without the
/// background-networking flags its connections to Google's hosts are refused, many at a time).
pub const CHROMIUM_ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    // Quieter and steadier: no default apps or extensions, no keyring, a small /dev/shm is fine,
    // no scroll bars in screenshots.
    "--disable-extensions",
    "--disable-default-apps",
    "--password-store=basic",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
];

/// How long chromedriver may take to listen.
const DRIVER_START_TIMEOUT: Duration = Duration::from_secs(20);

/// Runs chromedriver in its own process group (`setsid`) and kills the whole group (Chromium
/// and its helpers too) when the pipe to this script's stdin closes: TERM, then KILL after 2 s.
/// Background jobs of a non-interactive shell get /dev/null as stdin, hence fd 3. (dash's `kill`
/// takes `-SIG -PGID`, not `--`.)
const SUPERVISOR: &str = r#"exec 3<&0
setsid "$0" --port="$1" </dev/null &
p=$!
( read _ <&3
  kill -TERM -"$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null
  i=0
  while kill -0 -"$p" 2>/dev/null && [ "$i" -lt 20 ]; do sleep 0.1; i=$((i+1)); done
  kill -KILL -"$p" 2>/dev/null
) &
k=$!
wait "$p"
wait "$k""#;

/// Finds a control by its label, a button or a link by its text (exact, whitespace-normalised;
/// else case-insensitive containment; else as a CSS selector). Only what is displayed counts;
/// links to the same address count once.
/// Answers `{el, count, names}`: the element when exactly one matches, how many matched, and
/// the names on the page (for error messages).
const FIND_JS: &str = r#"
const [kind, wanted] = arguments;
const norm = s => (s || '').replace(/\s+/g, ' ').trim();
const low = s => norm(s).toLowerCase();
const shown = e => !!e && !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length);
const byIds = ids => (ids || '').split(/\s+/).map(id => document.getElementById(id))
  .filter(Boolean).map(x => x.textContent).join(' ');
const named = [];
if (kind === 'control') {
  for (const l of document.querySelectorAll('label')) {
    if (l.control) named.push([l.textContent, l.control, l]);
  }
  for (const e of document.querySelectorAll('input, textarea, select')) {
    if (e.hasAttribute('aria-labelledby')) named.push([byIds(e.getAttribute('aria-labelledby')), e, null]);
    if (e.hasAttribute('aria-label')) named.push([e.getAttribute('aria-label'), e, null]);
  }
} else {
  const sel = kind === 'button'
    ? 'button, input[type=submit], input[type=button], input[type=reset], [role=button]'
    : 'a[href], [role=link]';
  for (const e of document.querySelectorAll(sel)) {
    const n = e.getAttribute('aria-label')
      || (e.hasAttribute('aria-labelledby') ? byIds(e.getAttribute('aria-labelledby')) : '')
      || (e.tagName === 'INPUT' ? e.value : e.textContent);
    named.push([n, e, null]);
  }
}
const visible = named.filter(([, e, l]) => shown(e) || shown(l));
// Two links to the same place (a menu entry and a button, say) are one choice.
const distinct = hits => {
  const seen = new Set();
  return [...new Set(hits.map(([, e]) => e))].filter(e => {
    const key = kind === 'link' && e.href ? e.href : e;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
};
let hits = distinct(visible.filter(([n]) => norm(n) === norm(wanted)));
if (!hits.length) hits = distinct(visible.filter(([n]) => low(n).includes(low(wanted))));
if (!hits.length) {
  try { hits = [...document.querySelectorAll(wanted)].filter(shown); } catch (_) { hits = []; }
}
return { el: hits.length === 1 ? hits[0] : null, count: hits.length, names: visible.map(([n]) => norm(n)) };
"#;

/// The WebDriver key of an element reference in JSON.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The size of the browser window, in CSS pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Viewport {
    /// A small phone: 412 × 915.
    Phone,
    /// A laptop: 1280 × 800.
    Desktop,
}

impl Viewport {
    pub fn size(self) -> (u32, u32) {
        match self {
            Viewport::Phone => (412, 915),
            Viewport::Desktop => (1280, 800),
        }
    }
}

/// How to start a [`Browser`].
#[derive(Clone, Debug)]
pub struct Options {
    pub viewport: Viewport,
    /// `Accept-Language` and the UI language (`fr-FR` by default).
    pub lang: String,
    /// How long a helper waits for what it looks for.
    pub timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self { viewport: Viewport::Phone, lang: "fr-FR".to_owned(), timeout: Duration::from_secs(10) }
    }
}

/// What kind of element [`FIND_JS`] looks for.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Control,
    Button,
    Link,
}

impl Kind {
    fn js(self) -> &'static str {
        match self {
            Kind::Control => "control",
            Kind::Button => "button",
            Kind::Link => "link",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Kind::Control => "field labelled",
            Kind::Button => "button",
            Kind::Link => "link",
        }
    }
}

/// A headless Chromium driven through WebDriver. See the module docs.
pub struct Browser {
    client: Client,
    base_url: Option<String>,
    timeout: Duration,
    viewport: Viewport,
    driver: Driver,
}

/// The chromedriver process, its profile directory and the lock that serialises browsers.
struct Driver {
    port: u16,
    log: PathBuf,
    profile: PathBuf,
    child: Child,
    /// Closing it stops chromedriver and Chromium.
    stdin: Option<ChildStdin>,
    /// Held while this browser lives.
    _lock: File,
}

impl Drop for Driver {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
        // The log is kept for a failing test only.
        if !std::thread::panicking() {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

impl Browser {
    /// A phone-sized Chromium, in French.
    ///
    /// # Panics
    /// If chromedriver or Chromium cannot start (the message says how to install them).
    pub async fn start() -> Browser {
        Self::start_with(Options::default()).await
    }

    /// A desktop-sized Chromium, in French.
    pub async fn start_desktop() -> Browser {
        Self::start_with(Options { viewport: Viewport::Desktop, ..Options::default() }).await
    }

    pub async fn start_with(options: Options) -> Browser {
        for binary in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(binary).exists(),
                "{binary} is missing: run infra/install-chromium.sh (make test does)"
            );
        }
        let lock = lock_browsers().await;
        let driver = spawn_driver(lock).await;
        let (width, height) = options.viewport.size();
        let user_data = driver.profile.join("user-data");
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|a| (*a).to_owned()).collect();
        // Headless Chromium's windows are at least 500 px wide: a phone's width is emulated.
        let window_width = width.max(500);
        args.push(format!("--window-size={window_width},{height}"));
        args.push(format!("--user-data-dir={}", user_data.display()));
        args.push(format!("--lang={}", options.lang));
        let accept_languages = match options.lang.split_once('-') {
            Some((primary, _)) => format!("{},{primary}", options.lang),
            None => options.lang.clone(),
        };
        let mut capabilities = Capabilities::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert("pageLoadStrategy".into(), json!("normal"));
        let mut chrome = json!({
            "binary": CHROMIUM,
            "args": args,
            "prefs": { "intl.accept_languages": accept_languages },
        });
        if options.viewport == Viewport::Phone {
            // A phone: the viewport meta tag applies, touch events, device pixel ratio 1 (small PNGs).
            chrome["mobileEmulation"] = json!({
                "deviceMetrics": { "width": width, "height": height, "pixelRatio": 1.0, "mobile": true, "touch": true },
            });
        }
        capabilities.insert("goog:chromeOptions".into(), chrome);
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .unwrap_or_else(|e| {
                panic!("Chromium did not start through chromedriver (see {}): {e}", driver.log.display())
            });
        client
            .update_timeouts(TimeoutConfiguration::new(
                Some(Duration::from_secs(30)),
                Some(Duration::from_secs(30)),
                Some(Duration::ZERO),
            ))
            .await
            .expect("WebDriver timeouts");
        Browser { client, base_url: None, timeout: options.timeout, viewport: options.viewport, driver }
    }

    /// Relative paths given to [`Browser::goto`] are resolved against `url`
    /// (`http://127.0.0.1:<port>`, as [`serve`] answers).
    pub fn with_base_url(mut self, url: &str) -> Self {
        self.base_url = Some(url.trim_end_matches('/').to_owned());
        self
    }

    /// The WebDriver client, for what the helpers don't cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn viewport(&self) -> Viewport {
        self.viewport
    }

    /// The address of `path` (`/feed`) on the base URL; absolute URLs are kept as they are.
    pub fn url_for(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            return path.to_owned();
        }
        let base = self.base_url.as_deref().expect("Browser::with_base_url before goto(path)");
        if path.starts_with('/') { format!("{base}{path}") } else { format!("{base}/{path}") }
    }

    /// Opens `path` (relative to the base URL, or absolute) and waits until it has loaded.
    pub async fn goto(&self, path: &str) {
        let url = self.url_for(path);
        if let Err(e) = self.client.goto(&url).await {
            self.fail(&format!("cannot open {url}: {e}")).await;
        }
    }

    /// The current address.
    pub async fn url(&self) -> url::Url {
        self.client.current_url().await.expect("current URL")
    }

    /// The current path and query (`/feed?page=2`).
    pub async fn path(&self) -> String {
        let url = self.url().await;
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// Waits until the current path starts with `prefix`, and answers it.
    pub async fn wait_for_path(&self, prefix: &str) -> String {
        let deadline = Instant::now() + self.timeout;
        loop {
            if let Ok(url) = self.client.current_url().await
                && url.path().starts_with(prefix)
            {
                return self.path().await;
            }
            if Instant::now() > deadline {
                self.fail(&format!("the address never started with {prefix:?}")).await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn title(&self) -> String {
        self.client.title().await.expect("page title")
    }

    /// The text of the page as displayed (`innerText` of the body).
    pub async fn text(&self) -> String {
        let deadline = Instant::now() + self.timeout;
        loop {
            match self.try_text().await {
                Ok(text) => return text,
                Err(e) if Instant::now() > deadline => panic!("cannot read the page's text: {e}"),
                // The page may be changing under us.
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    async fn try_text(&self) -> Result<String, fantoccini::error::CmdError> {
        self.client.find(Locator::Css("body")).await?.text().await
    }

    /// The page's HTML as it is now (after scripts ran).
    pub async fn html(&self) -> String {
        self.client.source().await.expect("page source")
    }

    /// Waits until the page's text contains `needle`, and answers the text.
    pub async fn wait_for_text(&self, needle: &str) -> String {
        let deadline = Instant::now() + self.timeout;
        loop {
            if let Ok(text) = self.try_text().await
                && text.contains(needle)
            {
                return text;
            }
            if Instant::now() > deadline {
                self.fail(&format!("the page never showed {needle:?}")).await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The form control whose `<label>` (or `aria-label`) says `label`, or which the CSS
    /// selector `label` designates.
    pub async fn field(&self, label: &str) -> Element {
        self.find(Kind::Control, label).await
    }

    /// Types `value` into the field labelled `label`, replacing what was there. For a `<select>`,
    /// chooses the option whose text is `value`.
    pub async fn fill(&self, label: &str, value: &str) {
        let field = self.field(label).await;
        let tag = field.tag_name().await.unwrap_or_default();
        let done = if tag.eq_ignore_ascii_case("select") {
            field.select_by_label(value).await
        } else {
            match field.clear().await {
                Ok(()) => field.send_keys(value).await,
                Err(e) => Err(e),
            }
        };
        if let Err(e) = done {
            self.fail(&format!("cannot fill the field labelled {label:?}: {e}")).await;
        }
    }

    /// What the field labelled `label` holds now.
    pub async fn value(&self, label: &str) -> String {
        let field = self.field(label).await;
        field.prop("value").await.ok().flatten().unwrap_or_default()
    }

    /// Whether the checkbox or radio button labelled `label` is ticked.
    pub async fn is_checked(&self, label: &str) -> bool {
        self.field(label).await.is_selected().await.expect("checked state")
    }

    /// Ticks the checkbox (or chooses the radio button) labelled `label`.
    pub async fn check(&self, label: &str) {
        self.set_checked(label, true).await;
    }

    /// Unticks the checkbox labelled `label`.
    pub async fn uncheck(&self, label: &str) {
        self.set_checked(label, false).await;
    }

    pub async fn set_checked(&self, label: &str, checked: bool) {
        let field = self.field(label).await;
        if field.is_selected().await.expect("checked state") == checked {
            return;
        }
        if field.click().await.is_err() {
            // A visually replaced checkbox: a person clicks its label.
            let clicked = self
                .client
                .execute("const l = arguments[0].labels; if (l && l.length) { l[0].click(); return true; } return false;", vec![
                    serde_json::to_value(&field).expect("element as JSON"),
                ])
                .await;
            if !matches!(clicked, Ok(Value::Bool(true))) {
                self.fail(&format!("cannot click the checkbox labelled {label:?}")).await;
            }
        }
        if field.is_selected().await.expect("checked state") != checked {
            self.fail(&format!("the checkbox labelled {label:?} did not change")).await;
        }
    }

    /// Clicks the button whose text (or `aria-label`, or `value`) is `text`, and lets the page
    /// load if it navigates.
    pub async fn click_button(&self, text: &str) {
        let button = self.find(Kind::Button, text).await;
        if let Err(e) = button.click().await {
            self.fail(&format!("cannot click the button {text:?}: {e}")).await;
        }
    }

    /// Follows the link whose text (or `aria-label`) is `text`.
    pub async fn click_link(&self, text: &str) {
        let link = self.find(Kind::Link, text).await;
        if let Err(e) = link.click().await {
            self.fail(&format!("cannot click the link {text:?}: {e}")).await;
        }
    }

    /// Puts the keyboard focus in the field labelled `label` and presses Enter, as a person
    /// submitting a form from the keyboard.
    pub async fn press_enter(&self, label: &str) {
        let field = self.field(label).await;
        if let Err(e) = field.send_keys(&char::from(Key::Enter).to_string()).await {
            self.fail(&format!("cannot press Enter in the field labelled {label:?}: {e}")).await;
        }
    }

    /// Presses Tab on whatever has the focus, and answers a short description of what has it
    /// next (`button "Envoyer"`, `input "Votre prénom"`, `a "Accueil"`).
    pub async fn press_tab(&self) -> String {
        let active = self.client.active_element().await.expect("active element");
        active.send_keys(&char::from(Key::Tab).to_string()).await.expect("press Tab");
        self.focused().await
    }

    /// A short description of the element that has the keyboard focus.
    pub async fn focused(&self) -> String {
        let described = self
            .client
            .execute(
                r#"const e = document.activeElement; if (!e) return '';
                   const norm = s => (s || '').replace(/\s+/g, ' ').trim();
                   const name = e.getAttribute('aria-label')
                     || (e.labels && e.labels.length ? e.labels[0].textContent : '')
                     || (e.tagName === 'INPUT' ? e.value : e.textContent);
                   return e.tagName.toLowerCase() + ' "' + norm(name) + '"';"#,
                vec![],
            )
            .await
            .expect("focused element");
        described.as_str().unwrap_or_default().to_owned()
    }

    /// Saves a picture of the whole page at the browser's width as `<name>.png` in
    /// [`screenshot_dir`], and answers its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = match self.full_page_png().await {
            Ok(png) => png,
            Err(e) => panic!("cannot take a screenshot: {e}"),
        };
        save_png(&screenshot_dir(), name, &png)
    }

    /// Saves a picture of the whole page at `path` (a PNG), whatever `VIGIE_SCREENSHOTS` says.
    pub async fn screenshot_to(&self, path: &Path) -> PathBuf {
        let png = match self.full_page_png().await {
            Ok(png) => png,
            Err(e) => panic!("cannot take a screenshot: {e}"),
        };
        let dir = path.parent().unwrap_or(Path::new("."));
        let name = path.file_stem().and_then(|s| s.to_str()).expect("a file name");
        save_png(dir, name, &png)
    }

    /// Saves a picture of what the window shows (the viewport only).
    pub async fn screenshot_viewport(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("screenshot");
        save_png(&screenshot_dir(), name, &png)
    }

    /// The whole page, through the DevTools protocol (WebDriver screenshots stop at the window).
    async fn full_page_png(&self) -> Result<Vec<u8>, String> {
        let metrics = self
            .client
            .issue_cmd(Cdp::new("Page.getLayoutMetrics", json!({})))
            .await
            .map_err(|e| e.to_string())?;
        let size = &metrics["cssContentSize"];
        let (width, height) = (size["width"].as_f64().unwrap_or(0.0), size["height"].as_f64().unwrap_or(0.0));
        let (min_width, min_height) = self.viewport.size();
        let shot = self
            .client
            .issue_cmd(Cdp::new(
                "Page.captureScreenshot",
                json!({
                    "format": "png",
                    "captureBeyondViewport": true,
                    "clip": {
                        "x": 0, "y": 0, "scale": 1,
                        "width": width.max(f64::from(min_width)).ceil(),
                        "height": height.max(f64::from(min_height)).ceil(),
                    },
                }),
            ))
            .await
            .map_err(|e| e.to_string())?;
        let data = shot["data"].as_str().ok_or("no image in the answer")?;
        base64::engine::general_purpose::STANDARD.decode(data).map_err(|e| e.to_string())
    }

    /// Ends the WebDriver session (Chromium quits), then stops chromedriver.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
        // Dropping `self` stops chromedriver and removes the profile.
    }

    async fn find(&self, kind: Kind, name: &str) -> Element {
        let deadline = Instant::now() + self.timeout;
        loop {
            let seen = match self.client.execute(FIND_JS, vec![json!(kind.js()), json!(name)]).await {
                Ok(found) => {
                    if let Some(id) = found["el"][ELEMENT_KEY].as_str() {
                        return Element::from_element_id(self.client.clone(), id.to_owned().into());
                    }
                    let names: Vec<&str> =
                        found["names"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
                    let count = found["count"].as_u64().unwrap_or(0);
                    if count > 1 {
                        self.fail(&format!(
                            "{count} elements match the {} {name:?}; be more precise (here: {names:?})",
                            kind.what()
                        ))
                        .await;
                    }
                    format!("{names:?}")
                }
                // Navigation in progress: try again.
                Err(e) => format!("(page not ready: {e})"),
            };
            if Instant::now() > deadline {
                self.fail(&format!("no {} {name:?} on the page; there are {seen}", kind.what())).await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Panics with where the browser is and what it shows, after saving a screenshot.
    async fn fail(&self, what: &str) -> ! {
        let url =
            self.client.current_url().await.map(|u| u.to_string()).unwrap_or_else(|e| format!("? ({e})"));
        let text = self.try_text().await.unwrap_or_default();
        let text: String = text.chars().take(1500).collect();
        let shot = match self.client.screenshot().await {
            Ok(png) => {
                let name = format!("failure-{}", ulid::Ulid::new().to_string().to_lowercase());
                save_png(&std::env::temp_dir().join("vigie-screenshots"), &name, &png).display().to_string()
            }
            Err(e) => format!("none ({e})"),
        };
        panic!(
            "{what}\n  at: {url}\n  screenshot: {shot}\n  chromedriver log: {}\n  page text:\n{text}",
            self.driver.log.display()
        );
    }
}

/// Where screenshots go: `docs/screenshots/` when `VIGIE_SCREENSHOTS=1`, else
/// `$TMPDIR/vigie-screenshots/`.
pub fn screenshot_dir() -> PathBuf {
    if std::env::var("VIGIE_SCREENSHOTS").is_ok_and(|v| v == "1") {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots")
    } else {
        std::env::temp_dir().join("vigie-screenshots")
    }
}

fn save_png(dir: &Path, name: &str, png: &[u8]) -> PathBuf {
    assert!(png.starts_with(b"\x89PNG"), "a screenshot is a PNG");
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    let path = dir.join(format!("{name}.png"));
    std::fs::write(&path, png).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    path
}

/// One browser at a time on this machine: an exclusive lock on a file in the temp directory
/// (`flock`, so it also serialises the threads of one test process).
async fn lock_browsers() -> File {
    let path = std::env::temp_dir().join("vigie-browser.lock");
    tokio::task::spawn_blocking(move || {
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
        file.lock().unwrap_or_else(|e| panic!("cannot lock {}: {e}", path.display()));
        file
    })
    .await
    .expect("browser lock")
}

/// Starts chromedriver on a free port under the supervisor and waits until it listens.
async fn spawn_driver(lock: File) -> Driver {
    let port = StdTcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let log = std::env::temp_dir().join(format!("vigie-chromedriver-{port}.log"));
    let profile =
        std::env::temp_dir().join(format!("vigie-chromium-{}", ulid::Ulid::new().to_string().to_lowercase()));
    let home = profile.join("home");
    std::fs::create_dir_all(&home).expect("browser profile directory");
    let out = File::create(&log).expect("chromedriver log");
    let err = out.try_clone().expect("chromedriver log");
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(SUPERVISOR)
        .arg(CHROMEDRIVER)
        .arg(port.to_string())
        // Chromium writes its crash database and NSS store under $HOME: keep them in the profile.
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .stdin(Stdio::piped())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("sh starts");
    let stdin = child.stdin.take();
    let mut driver = Driver { port, log, profile, child, stdin, _lock: lock };
    let deadline = Instant::now() + DRIVER_START_TIMEOUT;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    loop {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return driver;
        }
        if let Ok(Some(status)) = driver.child.try_wait() {
            let log = std::fs::read_to_string(&driver.log).unwrap_or_default();
            panic!("chromedriver exited ({status}): {}", log.trim());
        }
        assert!(
            Instant::now() < deadline,
            "chromedriver is not listening on port {port} after {DRIVER_START_TIMEOUT:?} (see {})",
            driver.log.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A Chrome DevTools Protocol command, through chromedriver's `goog/cdp/execute`.
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: Value,
}

impl Cdp {
    fn new(cmd: &'static str, params: Value) -> Self {
        Self { cmd, params }
    }
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(&self, base_url: &url::Url, session_id: Option<&str>) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!("session/{}/goog/cdp/execute", session_id.unwrap_or_default()))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(json!({ "cmd": self.cmd, "params": self.params }).to_string()))
    }
}

/// A router served on `127.0.0.1` by a task of the current runtime; stops when dropped.
pub struct ServerHandle {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `router` on `127.0.0.1:<free port>`; answers its base URL (`http://127.0.0.1:<port>`)
/// and the handle that keeps it running.
pub async fn serve(router: axum::Router) -> (String, ServerHandle) {
    let (url, listener) = bind().await;
    (url, serve_on(listener, router))
}

/// A listener on `127.0.0.1:<free port>` and its base URL, for a router that must know its own
/// address before it is built (links in emails); then [`serve_on`].
pub async fn bind() -> (String, tokio::net::TcpListener) {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.expect("a local port");
    let port = listener.local_addr().expect("local address").port();
    (format!("http://127.0.0.1:{port}"), listener)
}

/// Serves `router` on `listener` (with the peer's address as `ConnectInfo<SocketAddr>`).
pub fn serve_on(listener: tokio::net::TcpListener, router: axum::Router) -> ServerHandle {
    let service = router.into_make_service_with_connect_info::<SocketAddr>();
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, service).await {
            eprintln!("test server stopped: {e}");
        }
    });
    ServerHandle { task }
}
