//! The web function. For now: a health check and a plain page saying how to raise an alert;
//! the residents' pages come next.

use lambda_http::http::{StatusCode, header};
use lambda_http::{Body, Error, Request, Response};

const HOME: &str = r#"<!doctype html>
<html lang="fr">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>vigie — alertes entre voisins</title></head>
<body>
<main>
<h1>vigie</h1>
<p>Les alertes entre voisins, par SMS et par e-mail.</p>
<p>Pour alerter votre communauté, envoyez votre message par SMS au numéro partagé :
vos voisins le reçoivent aussitôt, avec votre prénom.</p>
<p>Répondez STOP pour ne plus recevoir les alertes par SMS, START pour les recevoir à nouveau, AIDE pour l'aide.</p>
</main>
</body>
</html>
"#;

pub async fn handle(request: Request) -> Result<Response<Body>, Error> {
    let path = request.uri().path().trim_end_matches('/');
    // cargo-lambda serves functions under /lambda-url/<name>/; API Gateway at the root.
    let path = path.strip_prefix("/lambda-url/web").unwrap_or(path);
    let (status, content_type, body) = match path {
        "" | "/" => (StatusCode::OK, "text/html; charset=utf-8", HOME.to_owned()),
        "/health" => (StatusCode::OK, "application/json", r#"{"status":"ok"}"#.to_owned()),
        _ => (StatusCode::NOT_FOUND, "text/plain; charset=utf-8", "Page introuvable.\n".to_owned()),
    };
    Ok(Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .header("x-content-type-options", "nosniff")
        .header("content-security-policy", "default-src 'none'; style-src 'self'; frame-ancestors 'none'")
        .body(Body::from(body))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get(path: &str) -> Response<Body> {
        let request = lambda_http::http::Request::builder().uri(path).body(Body::Empty).unwrap();
        handle(request).await.unwrap()
    }

    #[tokio::test]
    async fn health_answers_ok() {
        let response = get("/health").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.body(), &Body::from(r#"{"status":"ok"}"#));
    }

    #[tokio::test]
    async fn home_is_french_html() {
        let response = get("/lambda-url/web/").await;
        assert_eq!(response.status(), StatusCode::OK);
        let Body::Text(html) = response.body() else { panic!("expected text") };
        assert!(html.contains(r#"lang="fr""#));
    }

    #[tokio::test]
    async fn unknown_path_is_404() {
        assert_eq!(get("/nope").await.status(), StatusCode::NOT_FOUND);
    }
}
